import { type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/client';
import type { CategoryNode, ProductPage } from '../api/types';
import { ProductCard } from '../components/ProductCard';
import { ErrorMessage, Loading, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { useCurrency } from '../state/currency';

const SORTS: [string, string][] = [
  ['relevance', 'Relevance'],
  ['newest', 'Newest'],
  ['title', 'Name'],
  ['price_asc', 'Price: low to high'],
  ['price_desc', 'Price: high to low'],
];
const FILTERS = ['q', 'category', 'sort', 'minPrice', 'maxPrice', 'featured'] as const;
export const PAGE_SIZE = 12;

function flatten(nodes: CategoryNode[], depth = 0): { path: string; label: string }[] {
  return nodes.flatMap((n) => [
    { path: n.path, label: `${'— '.repeat(depth)}${n.name} (${n.productCount})` },
    ...flatten(n.children, depth + 1),
  ]);
}

/** The catalog's query: what the URL says, plus the chosen currency (prices and price filters need it). */
export function catalogQuery(params: URLSearchParams, currency: string): string {
  const query = new URLSearchParams();
  for (const key of [...FILTERS, 'cursor']) {
    const value = params.get(key);
    if (value) query.set(key, value);
  }
  query.set('currency', currency);
  query.set('limit', String(PAGE_SIZE));
  return query.toString();
}

export default function Catalog() {
  const [params, setParams] = useSearchParams();
  const { currency } = useCurrency();
  const query = catalogQuery(params, currency);
  const page = useApi((signal) => api<ProductPage>(`/api/catalog/products?${query}`, { signal }), [query]);
  const categories = useApi((signal) => api<CategoryNode[]>('/api/catalog/categories', { signal }), []);

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const key of FILTERS) {
      const value = String(form.get(key) ?? '').trim();
      if (value && !(key === 'sort' && value === 'relevance')) next.set(key, value);
    }
    setParams(next); // a new query starts at the first page
  };

  const nextPage = new URLSearchParams(params);
  if (page.data?.nextCursor) nextPage.set('cursor', page.data.nextCursor);
  const firstPage = new URLSearchParams(params);
  firstPage.delete('cursor');
  const q = params.get('q');

  return (
    <>
      <PageTitle>{q ? `Results for “${q}”` : 'All products'}</PageTitle>
      <div className="catalog">
        <form className="filters" onSubmit={apply} aria-label="Filter products" key={params.toString()}>
          <label>
            Search
            <input name="q" type="search" defaultValue={params.get('q') ?? ''} />
          </label>
          <label>
            Category
            <select name="category" defaultValue={params.get('category') ?? ''}>
              <option value="">All categories</option>
              {flatten(categories.data ?? []).map((c) => (
                <option key={c.path} value={c.path}>
                  {c.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Sort by
            <select name="sort" defaultValue={params.get('sort') ?? 'relevance'}>
              {SORTS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <fieldset className="price-range">
            <legend>Price ({currency})</legend>
            <label>
              From
              <input name="minPrice" inputMode="decimal" defaultValue={params.get('minPrice') ?? ''} size={6} />
            </label>
            <label>
              To
              <input name="maxPrice" inputMode="decimal" defaultValue={params.get('maxPrice') ?? ''} size={6} />
            </label>
          </fieldset>
          <label className="checkbox">
            <input type="checkbox" name="featured" value="true" defaultChecked={params.get('featured') === 'true'} />
            Featured only
          </label>
          <button type="submit">Apply</button>
          {[...params.keys()].length > 0 && <Link to="/products">Clear filters</Link>}
        </form>

        <section className="results" aria-labelledby="results-heading" aria-busy={page.loading}>
          <h2 id="results-heading" className="visually-hidden">
            Products
          </h2>
          <ErrorMessage error={page.error} />
          {page.loading && !page.data && <Loading />}
          {page.data && page.data.items.length === 0 && (
            <p role="status">No products match. Try other words or fewer filters.</p>
          )}
          {page.data && (
            <ul className="grid" data-testid="product-grid">
              {page.data.items.map((p, i) => (
                <ProductCard key={p.slug} product={p} currency={currency} eager={i < 2} />
              ))}
            </ul>
          )}
          <nav className="pager" aria-label="Pages">
            {params.get('cursor') && <Link to={`/products?${firstPage}`}>First page</Link>}
            {page.data?.nextCursor && (
              <Link to={`/products?${nextPage}`} rel="next">
                Next page
              </Link>
            )}
          </nav>
        </section>
      </div>
    </>
  );
}
