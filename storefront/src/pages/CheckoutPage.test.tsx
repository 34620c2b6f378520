import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi, ok, problem, renderAt, usd } from '../test-utils';
import Checkout from './Checkout';

const store = (id: string, displayName: string, street: string) => ({
  id,
  name: id.split('/')[1],
  displayName,
  address: { lines: [street], city: 'San Francisco', region: 'CA', country: 'US' },
  location: { lat: 37.78, lon: -122.4 },
  timeZone: 'America/Los_Angeles',
  openingHours: [{ days: ['Mon', 'Tue'], opens: '09:00', closes: '18:00' }],
  contact: {},
  pickup: true,
  shipFromStore: false,
  distanceKm: 1,
});

const cart = {
  id: 'c1',
  currency: 'USD',
  lines: [{ sku: 'MT-S-SND', quantity: 1, title: 'Merino Tee', status: 'available', unitPrice: usd('59.00'), priceChanged: false, subtotal: usd('59.00'), discount: usd('0.00'), total: usd('59.00') }],
  promotions: [],
  shippingOptions: [
    { code: 'standard', name: 'Standard', price: usd('4.99'), deliveryDaysMin: 3, deliveryDaysMax: 5 },
    { code: 'pickup', name: 'In-store pickup', price: usd('0.00'), deliveryDaysMin: 0, deliveryDaysMax: 1, pickupStores: ['shop/downtown', 'shop/mission'] },
  ],
  subtotal: usd('59.00'),
  discount: usd('0.00'),
  shippingTotal: usd('0.00'),
  tax: usd('4.28'),
  total: usd('63.28'),
  readyForCheckout: true,
};

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('checkout with in-store pickup', () => {
  it('offers the stores the quote names, with their hours, and sends the chosen one; a refusal names the field', async () => {
    setSession({ accessToken: 't', refreshToken: 'r', expiresIn: 900, refreshExpiresIn: 86400, tokenType: 'Bearer' });
    const bodies: Record<string, unknown>[] = [];
    fakeApi({
      'GET /api/users/me': () => ok({ id: 'u1', email: 'sam@example.com', name: 'Sam', roles: ['customer'], createdAt: '2026-11-01T00:00:00Z' }),
      'GET /api/users/me/addresses': () => ok([]),
      'GET /api/cart': () => ok(cart),
      'GET /api/catalog/stores': () =>
        ok({ items: [store('shop/downtown', 'Northwind Downtown', '1 Market St'), store('shop/mission', 'Northwind Mission', '500 Valencia St')] }),
      'POST /api/checkout': (_url, init) => {
        bodies.push(JSON.parse(String(init.body)) as Record<string, unknown>);
        return problem(422, {
          type: 'x',
          title: 'Unprocessable Entity',
          errors: [{ field: 'pickupStore', message: 'shop/mission does not offer pickup to this address' }],
        });
      },
    });
    renderAt('/checkout', '/checkout', <Checkout />);
    await userEvent.click(await screen.findByRole('radio', { name: /In-store pickup/ }));
    const stores = within(await screen.findByRole('group', { name: 'Pickup store' }));
    expect(await stores.findByRole('radio', { name: /Northwind Downtown/ })).toBeChecked();
    expect(stores.getByRole('radio', { name: /Northwind Mission/ })).toHaveAccessibleName(/500 Valencia St.*Mon, Tue 09:00–18:00/);
    await userEvent.click(stores.getByRole('radio', { name: /Northwind Mission/ }));

    await userEvent.type(screen.getByLabelText('Full name'), 'Sam Shopper');
    await userEvent.type(screen.getByLabelText('Street address'), '1 Main St');
    await userEvent.type(screen.getByLabelText('City'), 'San Francisco');
    await userEvent.type(screen.getByLabelText('Postal code'), '94105');
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));

    expect(await screen.findByText('shop/mission does not offer pickup to this address', { selector: '.field-error' })).toBeInTheDocument();
    expect(bodies[0]).toMatchObject({ shippingMethod: 'pickup', pickupStore: 'shop/mission', paymentToken: 'tok_visa' });
  });

  it('sends no pickup store for a delivery', async () => {
    setSession({ accessToken: 't', refreshToken: 'r', expiresIn: 900, refreshExpiresIn: 86400, tokenType: 'Bearer' });
    const bodies: Record<string, unknown>[] = [];
    fakeApi({
      'GET /api/users/me': () => ok({ id: 'u1', email: 'sam@example.com', name: 'Sam', roles: ['customer'], createdAt: '2026-11-01T00:00:00Z' }),
      'GET /api/users/me/addresses': () =>
        ok([{ id: 'a1', kind: 'shipping', isDefault: true, name: 'Sam', line1: '1 Main St', city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' }]),
      'GET /api/cart': () => ok(cart),
      'GET /api/catalog/stores': () => ok({ items: [] }),
      'POST /api/checkout': (_url, init) => {
        bodies.push(JSON.parse(String(init.body)) as Record<string, unknown>);
        return problem(503, { type: 'x', title: 'Service Unavailable' });
      },
    });
    renderAt('/checkout', '/checkout', <Checkout />);
    await userEvent.click(await screen.findByRole('radio', { name: /Standard/ }));
    await userEvent.click(screen.getByRole('button', { name: 'Place order' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The order was not placed');
    expect(bodies[0]).toMatchObject({ shippingMethod: 'standard' });
    expect(bodies[0]).not.toHaveProperty('pickupStore');
    expect(screen.queryByRole('group', { name: 'Pickup store' })).not.toBeInTheDocument();
  });
});
