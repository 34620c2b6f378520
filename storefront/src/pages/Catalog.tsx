import { type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../api/client';
import type { CategoryNode, Facets, ProductPage } from '../api/types';
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
  ['rating', 'Customer rating'],
];
const MIN_RATINGS: [string, string][] = [
  ['', 'Any rating'],
  ['4', '4 stars and up'],
  ['3', '3 stars and up'],
  ['2', '2 stars and up'],
];
const FILTERS = ['q', 'category', 'sort', 'minPrice', 'maxPrice', 'minRating', 'featured', 'attributes'] as const;
export const PAGE_SIZE = 12;

function flatten(nodes: CategoryNode[], depth = 0): { path: string; label: string }[] {
  return nodes.flatMap((n) => [
    { path: n.path, label: `${'— '.repeat(depth)}${n.name} (${n.productCount})` },
    ...flatten(n.children, depth + 1),
  ]);
}

/** `color:black|blue;size:42` as `{ color: ['black', 'blue'], size: ['42'] }` (the catalog's `attributes`). */
export function parseAttributes(text: string | null): Record<string, string[]> {
  const picked: Record<string, string[]> = {};
  for (const group of (text ?? '').split(';')) {
    const at = group.indexOf(':');
    if (at <= 0) continue;
    const values = group.slice(at + 1).split('|').filter(Boolean);
    if (values.length > 0) picked[group.slice(0, at)] = values;
  }
  return picked;
}

/** The inverse of parseAttributes, from `name:value` pairs (checked boxes), names and values in order. */
export function formatAttributes(pairs: string[]): string {
  const picked = new Map<string, string[]>();
  for (const pair of pairs) {
    const at = pair.indexOf(':');
    if (at <= 0) continue;
    const name = pair.slice(0, at);
    picked.set(name, [...(picked.get(name) ?? []), pair.slice(at + 1)]);
  }
  return [...picked].map(([name, values]) => `${name}:${values.join('|')}`).join(';');
}

/** The facets' query: the listing's filters without sort and paging. */
export function facetQuery(params: URLSearchParams, currency: string): string {
  const query = new URLSearchParams();
  for (const key of FILTERS) {
    const value = params.get(key);
    if (value && key !== 'sort') query.set(key, value);
  }
  query.set('currency', currency);
  return query.toString();
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
  const facetsQuery = facetQuery(params, currency);
  const facets = useApi((signal) => api<Facets>(`/api/catalog/facets?${facetsQuery}`, { signal }), [facetsQuery]);
  const picked = parseAttributes(params.get('attributes'));

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    const attributes = formatAttributes(form.getAll('attr').map(String));
    if (attributes) form.set('attributes', attributes);
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
            {/* Mounted again once the categories arrive: a default value only selects an option that exists. */}
            <select name="category" defaultValue={params.get('category') ?? ''} key={categories.data ? 'loaded' : 'loading'}>
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
          <label>
            Rating
            <select name="minRating" defaultValue={params.get('minRating') ?? ''}>
              {MIN_RATINGS.map(([value, label]) => (
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
          {/* Closed unless something is picked: values arriving later then move nothing on the page. */}
          <details className="facets" open={Object.keys(picked).length > 0}>
            <summary>Colour, size and more</summary>
            <ErrorMessage error={facets.error} title="Filters could not be loaded:" />
            {facets.loading && !facets.data && <Loading label="Loading filters…" />}
            {(facets.data?.attributes ?? []).map((facet) => (
              <fieldset key={facet.name} className="facet">
                <legend>{facet.name.charAt(0).toUpperCase() + facet.name.slice(1)}</legend>
                {facet.values.map((v) => {
                  const checked = picked[facet.name]?.includes(v.value) ?? false;
                  return (
                    <label key={v.value} className="checkbox">
                      <input
                        type="checkbox"
                        name="attr"
                        value={`${facet.name}:${v.value}`}
                        defaultChecked={checked}
                        disabled={v.count === 0 && !checked}
                      />
                      {v.value} <span className="muted">({v.count})</span>
                    </label>
                  );
                })}
              </fieldset>
            ))}
          </details>
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
