import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi, ok, renderAt, usd } from '../test-utils';
import Product from './Product';

const trailRunner = {
  slug: 'trail-runner',
  title: 'Trail Runner',
  description: 'Light.',
  category: 'footwear/running',
  brand: 'Northwind',
  images: [],
  attributes: { drop: '8mm' },
  featured: true,
  options: { color: ['black', 'blue'], size: ['42', '43'] },
  variants: [
    { sku: 'TR-42-BLK', options: { color: 'black', size: '42' }, prices: [{ list: usd('129.00'), compareAt: usd('149.00'), effective: usd('129.00'), promotions: [] }] },
    { sku: 'TR-42-BLU', options: { color: 'blue', size: '42' }, prices: [{ list: usd('129.00'), effective: usd('99.00'), promotions: ['shop/blue-sale'] }] },
  ],
};

const noReviews = {
  'GET /api/reviews/products/trail-runner/summary': () =>
    ok({ productSlug: 'trail-runner', count: 0, average: null, histogram: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 } }),
  'GET /api/reviews/products/trail-runner': () => ok({ items: [] }),
};

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('the product page', () => {
  it('shows the price with its compare-at price, and the chosen variant’s price, promotion and stock', async () => {
    fakeApi({
      'GET /api/catalog/products/trail-runner': () => ok(trailRunner),
      'GET /api/catalog/promotions': () => ok({ items: [{ id: 'shop/blue-sale', title: 'Blue week: 99', kind: 'percentage', skus: [], categories: [] }] }),
      'GET /api/inventory/availability/TR-42-BLK': () => ok({ sku: 'TR-42-BLK', available: 40, inStock: true }),
      'GET /api/inventory/availability/TR-42-BLU': () => ok({ sku: 'TR-42-BLU', available: 0, inStock: false }),
      ...noReviews,
    });
    renderAt('/products/trail-runner', '/products/:slug', <Product />);

    expect(await screen.findByRole('heading', { name: 'Trail Runner' })).toBeInTheDocument();
    expect(screen.getByTestId('price')).toHaveTextContent('$129.00');
    expect(screen.getByLabelText('was $149.00')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('availability')).toHaveTextContent('In stock'));
    expect(screen.queryByText('Blue week: 99')).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('radio', { name: 'blue' }));
    expect(screen.getByTestId('price')).toHaveTextContent('$99.00');
    expect(screen.getByText('Blue week: 99')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('availability')).toHaveTextContent('Out of stock'));
    expect(screen.getByRole('button', { name: 'Out of stock' })).toBeDisabled();
  });

  it('says why when the product does not exist, instead of a blank page', async () => {
    fakeApi({
      'GET /api/catalog/products/nope': () =>
        new Response(JSON.stringify({ type: 'x/not-found', title: 'Not Found', status: 404, detail: 'No active product has this slug.' }), { status: 404 }),
      'GET /api/catalog/promotions': () => ok({ items: [] }),
    });
    renderAt('/products/nope', '/products/:slug', <Product />);
    expect(await screen.findByRole('alert')).toHaveTextContent('No active product has this slug.');
  });

  it('shows the rating next to the title, and saves the chosen variant to a signed-in shopper’s wishlist', async () => {
    setSession({ accessToken: 't', refreshToken: 'r', expiresIn: 900, refreshExpiresIn: 86400, tokenType: 'Bearer' });
    const saved: string[] = [];
    fakeApi({
      'GET /api/users/me': () => ok({ id: 'u1', email: 'sam@example.com', name: 'Sam', roles: ['customer'], createdAt: '2026-11-01T00:00:00Z' }),
      'GET /api/cart': () => new Response(JSON.stringify({ type: 'x', title: 'Not Found', status: 404 }), { status: 404 }),
      'GET /api/catalog/products/trail-runner': () => ok(trailRunner),
      'GET /api/catalog/promotions': () => ok({ items: [] }),
      'GET /api/inventory/availability/TR-42-BLK': () => ok({ sku: 'TR-42-BLK', available: 40, inStock: true }),
      'GET /api/inventory/availability/TR-42-BLU': () => ok({ sku: 'TR-42-BLU', available: 0, inStock: false }),
      'GET /api/reviews/products/trail-runner/summary': () =>
        ok({ productSlug: 'trail-runner', count: 2, average: 4.5, histogram: { '1': 0, '2': 0, '3': 0, '4': 1, '5': 1 } }),
      'GET /api/reviews/products/trail-runner': () => ok({ items: [] }),
      'GET /api/reviews/products/trail-runner/mine': () =>
        new Response(JSON.stringify({ type: 'x', title: 'Not Found', status: 404 }), { status: 404 }),
      'GET /api/wishlist': () => ok({ items: [] }),
      'PUT /api/wishlist/items/TR-42-BLU': (url) => {
        saved.push(url.pathname);
        return ok({ items: [{ sku: 'TR-42-BLU' }] });
      },
    });
    renderAt('/products/trail-runner', '/products/:slug', <Product />);
    expect(await screen.findByRole('link', { name: '4.5 out of 5 (2 reviews)' })).toHaveAttribute('href', '#reviews');
    await userEvent.click(screen.getByRole('radio', { name: 'blue' }));
    // A sold-out variant can still be saved (to buy when it is back).
    await waitFor(() => expect(screen.getByRole('button', { name: '♡ Save to wishlist' })).toBeEnabled());
    await userEvent.click(screen.getByRole('button', { name: '♡ Save to wishlist' }));
    expect(await screen.findByText(/Trail Runner \(TR-42-BLU\) is saved to your wishlist/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: '♥ Saved to wishlist' })).toBeInTheDocument();
    expect(saved).toEqual(['/api/wishlist/items/TR-42-BLU']);
    expect(await screen.findByRole('heading', { name: 'Reviews' })).toBeInTheDocument();
  });

  it('invites a guest to sign in to save to a wishlist', async () => {
    fakeApi({
      'GET /api/catalog/products/trail-runner': () => ok(trailRunner),
      'GET /api/catalog/promotions': () => ok({ items: [] }),
      'GET /api/inventory/availability/TR-42-BLK': () => ok({ sku: 'TR-42-BLK', available: 40, inStock: true }),
      ...noReviews,
    });
    renderAt('/products/trail-runner', '/products/:slug', <Product />);
    expect(await screen.findByRole('link', { name: 'Sign in to save this to a wishlist' })).toHaveAttribute(
      'href',
      '/signin?next=%2Fproducts%2Ftrail-runner',
    );
    expect(await screen.findByRole('link', { name: 'No reviews yet' })).toBeInTheDocument();
  });
});
