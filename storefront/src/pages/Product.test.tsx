import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

afterEach(() => vi.unstubAllGlobals());

describe('the product page', () => {
  it('shows the price with its compare-at price, and the chosen variant’s price, promotion and stock', async () => {
    fakeApi({
      'GET /api/catalog/products/trail-runner': () => ok(trailRunner),
      'GET /api/catalog/promotions': () => ok({ items: [{ id: 'shop/blue-sale', title: 'Blue week: 99', kind: 'percentage', skus: [], categories: [] }] }),
      'GET /api/inventory/availability/TR-42-BLK': () => ok({ sku: 'TR-42-BLK', available: 40, inStock: true }),
      'GET /api/inventory/availability/TR-42-BLU': () => ok({ sku: 'TR-42-BLU', available: 0, inStock: false }),
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
});
