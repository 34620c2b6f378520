import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeApi, ok, problem, renderAt, usd } from '../test-utils';
import CartPage from './CartPage';

const cart = {
  id: 'c1',
  currency: 'USD',
  lines: [
    { sku: 'SB-750', quantity: 3, title: 'Steel Bottle', status: 'available', unitPrice: usd('29.00'), priceChanged: false, subtotal: usd('87.00'), discount: usd('29.00'), total: usd('58.00') },
  ],
  promotions: [{ promotion: 'shop/bottle-three-for-two', description: 'Buy two bottles, get a third free', amount: usd('29.00') }],
  shippingOptions: [{ code: 'standard', name: 'Standard', price: usd('4.99'), deliveryDaysMin: 3, deliveryDaysMax: 5 }],
  subtotal: usd('87.00'),
  discount: usd('29.00'),
  shippingTotal: usd('4.99'),
  tax: usd('4.21'),
  total: usd('67.20'),
  readyForCheckout: true,
};

afterEach(() => vi.unstubAllGlobals());

describe('the cart page', () => {
  it('prices a guest cart found by its token, with promotions, shipping and tax for the destination', async () => {
    localStorage.setItem('bazaar.cartToken', 'guest-token');
    const calls = fakeApi({ 'GET /api/cart': () => ok(cart) });
    renderAt('/cart', '/cart', <CartPage />);
    expect(await screen.findByRole('button', { name: 'Remove Steel Bottle' })).toBeInTheDocument();
    expect(screen.getByText(/Buy two bottles, get a third free/)).toBeInTheDocument();
    expect(screen.getByTestId('cart-totals')).toHaveTextContent('Estimated tax$4.21');
    expect(screen.getByTestId('cart-totals')).toHaveTextContent('Total$67.20');
    const get = calls.find((c) => c.url.pathname === '/api/cart')!;
    expect((get.init.headers as Record<string, string>)['x-cart-token']).toBe('guest-token');
    expect(get.url.searchParams.get('country')).toBe('US');
    expect(screen.getByRole('link', { name: 'Sign in to check out' })).toHaveAttribute('href', '/signin?next=/checkout');
  });

  it('refuses an expired coupon with the catalog’s reason', async () => {
    localStorage.setItem('bazaar.cartToken', 'guest-token');
    fakeApi({
      'GET /api/cart': () => ok(cart),
      'PUT /api/cart/coupon': () =>
        problem(422, {
          type: 'https://bazaar.dev/problems/validation',
          title: 'Unprocessable Entity',
          detail: 'The request has invalid fields; see `errors`.',
          errors: [{ field: 'code', message: 'SUMMER20 cannot be used: This code has expired.' }],
        }),
    });
    renderAt('/cart', '/cart', <CartPage />);
    await userEvent.type(await screen.findByLabelText('Coupon code'), 'SUMMER20');
    await userEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Coupon not applied: SUMMER20 cannot be used: This code has expired.',
    );
  });

  it('changes a guest cart’s currency in place when the shopper switches, and shows a refusal', async () => {
    localStorage.setItem('bazaar.cartToken', 'guest-token');
    localStorage.setItem('bazaar.currency', 'EUR');
    const eur = (amount: string) => ({ amount, currency: 'EUR' });
    let currency = 'USD';
    const changes: { token: string; body: unknown }[] = [];
    fakeApi({
      'GET /api/cart': () => ok(currency === 'USD' ? cart : { ...cart, currency: 'EUR', total: eur('61.90') }),
      'PATCH /api/cart': (_url, init) => {
        changes.push({ token: (init.headers as Record<string, string>)['x-cart-token'], body: JSON.parse(String(init.body)) });
        if (changes.length === 1) return problem(503, { type: 'x', title: 'Service Unavailable', detail: 'The catalog is busy.' });
        currency = 'EUR';
        return ok({ ...cart, currency: 'EUR' });
      },
    });
    const view = renderAt('/cart', '/cart', <CartPage />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Your cart could not be moved to EUR: The shop is busy right now.');
    expect(screen.getByRole('button', { name: 'Remove Steel Bottle' })).toBeInTheDocument();
    expect(changes).toEqual([{ token: 'guest-token', body: { currency: 'EUR' } }]);

    // Coming back (or switching again) asks again; the same cart, now in euros.
    view.unmount();
    renderAt('/cart', '/cart', <CartPage />);
    await waitFor(() => expect(screen.getByTestId('cart-totals')).toHaveTextContent('Total€61.90'));
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
    expect(changes).toHaveLength(2);
    expect(localStorage.getItem('bazaar.cartToken')).toBe('guest-token');
  });

  it('invites an empty cart to shop', async () => {
    fakeApi({});
    renderAt('/cart', '/cart', <CartPage />);
    expect(await screen.findByText('Your cart is empty.')).toBeInTheDocument();
  });
});
