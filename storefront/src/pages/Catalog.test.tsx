import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeApi, ok, renderAt, usd } from '../test-utils';
import Catalog, { catalogQuery, formatAttributes, parseAttributes } from './Catalog';

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
      'GET /api/catalog/facets': () => ok({ total: 1, attributes: [] }),
    });
    renderAt('/products?q=trail', '/products', <Catalog />);
    expect(await screen.findByRole('heading', { name: 'Results for “trail”' })).toBeInTheDocument();
    expect(await screen.findByRole('link', { name: 'Trail Runner' })).toHaveAttribute('href', '/products/trail-runner');
    expect(screen.getByText('from $129.00')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Next page' })).toHaveAttribute('href', '/products?q=trail&cursor=page2');
    await userEvent.click(screen.getByRole('link', { name: 'Next page' }));
    expect(await screen.findByRole('link', { name: 'First page' })).toHaveAttribute('href', '/products?q=trail');
  });

  it('reads and writes the catalog’s attribute filter', () => {
    expect(parseAttributes('color:black|blue;size:42')).toEqual({ color: ['black', 'blue'], size: ['42'] });
    expect(parseAttributes(null)).toEqual({});
    expect(formatAttributes(['color:black', 'size:42', 'color:blue'])).toBe('color:black|blue;size:42');
  });

  it('offers attribute values with their counts; the picked ones go into the URL and the query', async () => {
    const calls = fakeApi({
      'GET /api/catalog/products': () => ok({ items: [] }),
      'GET /api/catalog/categories': () => ok([{ slug: 'footwear', path: 'footwear', name: 'Footwear', productCount: 3, children: [] }]),
      'GET /api/catalog/facets': () =>
        ok({
          total: 3,
          attributes: [
            { name: 'color', values: [{ value: 'black', count: 2 }, { value: 'blue', count: 1 }, { value: 'red', count: 0 }] },
            { name: 'size', values: [{ value: '42', count: 2 }] },
          ],
        }),
    });
    renderAt('/products?category=footwear', '/products', <Catalog />);
    await screen.findByRole('option', { name: 'Footwear (3)' });
    const color = await screen.findByRole('group', { name: 'Color' });
    expect(color).toHaveTextContent('black (2)');
    expect(screen.getByRole('checkbox', { name: /^red/ })).toBeDisabled();
    await userEvent.click(screen.getByRole('checkbox', { name: /^black/ }));
    await userEvent.click(screen.getByRole('checkbox', { name: /^blue/ }));
    await userEvent.click(screen.getByRole('checkbox', { name: /^42/ }));
    await userEvent.click(screen.getByRole('button', { name: 'Apply' }));

    await waitFor(() => {
      const listing = calls.filter((c) => c.url.pathname === '/api/catalog/products').at(-1)!;
      expect(listing.url.searchParams.get('attributes')).toBe('color:black|blue;size:42');
      expect(listing.url.searchParams.get('category')).toBe('footwear');
    });
    const facets = calls.filter((c) => c.url.pathname === '/api/catalog/facets').at(-1)!;
    expect(facets.url.searchParams.get('attributes')).toBe('color:black|blue;size:42');
    expect(await screen.findByRole('checkbox', { name: /^black/ })).toBeChecked();
  });

  it('sorts by customer rating and keeps only well-rated products; cards show their stars', async () => {
    const calls = fakeApi({
      'GET /api/catalog/products': () =>
        ok({
          items: [
            { slug: 'trail-runner', title: 'Trail Runner', category: 'footwear', featured: false, pricesFrom: [usd('129.00')], rating: { average: 4.5, count: 2 } },
            { slug: 'steel-bottle', title: 'Steel Bottle', category: 'kitchen', featured: false, pricesFrom: [usd('29.00')] },
          ],
        }),
      'GET /api/catalog/categories': () => ok([]),
      'GET /api/catalog/facets': () => ok({ total: 2, attributes: [] }),
    });
    renderAt('/products', '/products', <Catalog />);
    expect(await screen.findByRole('img', { name: '4.5 out of 5' })).toBeInTheDocument();
    expect(screen.getByRole('img', { name: '4.5 out of 5' }).parentElement).toHaveTextContent('(2 reviews)');
    await userEvent.selectOptions(screen.getByLabelText('Sort by'), 'rating');
    await userEvent.selectOptions(screen.getByLabelText('Rating'), '4');
    await userEvent.click(screen.getByRole('button', { name: 'Apply' }));
    await waitFor(() => {
      const listing = calls.filter((c) => c.url.pathname === '/api/catalog/products').at(-1)!;
      expect(listing.url.searchParams.get('sort')).toBe('rating');
      expect(listing.url.searchParams.get('minRating')).toBe('4');
    });
    const facets = calls.filter((c) => c.url.pathname === '/api/catalog/facets').at(-1)!;
    expect(facets.url.searchParams.get('minRating')).toBe('4');
  });
});
