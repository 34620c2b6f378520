import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeApi, ok, renderAt, usd } from '../test-utils';
import Catalog, { catalogQuery } from './Catalog';

afterEach(() => vi.unstubAllGlobals());

describe('the catalog', () => {
  it('asks the API exactly what the URL says, in the chosen currency', () => {
    const query = new URLSearchParams(catalogQuery(new URLSearchParams('q=trail&sort=price_asc&cursor=abc&utm=x'), 'EUR'));
    expect(Object.fromEntries(query)).toEqual({ q: 'trail', sort: 'price_asc', cursor: 'abc', currency: 'EUR', limit: '12' });
  });

  it('lists a page of results and links the next page by cursor, keeping the query', async () => {
    fakeApi({
      'GET /api/catalog/products': (url) =>
        ok({
          items: [{ slug: 'trail-runner', title: 'Trail Runner', category: 'footwear/running', featured: true, price: usd('129.00'), pricesFrom: [usd('129.00')] }],
          nextCursor: url.searchParams.get('cursor') ? null : 'page2',
        }),
      'GET /api/catalog/categories': () => ok([]),
    });
    renderAt('/products?q=trail', '/products', <Catalog />);
    expect(await screen.findByRole('heading', { name: 'Results for “trail”' })).toBeInTheDocument();
    expect(await screen.findByRole('link', { name: 'Trail Runner' })).toHaveAttribute('href', '/products/trail-runner');
    expect(screen.getByText('from $129.00')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Next page' })).toHaveAttribute('href', '/products?q=trail&cursor=page2');
    await userEvent.click(screen.getByRole('link', { name: 'Next page' }));
    expect(await screen.findByRole('link', { name: 'First page' })).toHaveAttribute('href', '/products?q=trail');
  });
});
