// Ops: the catalog, read-only, with where each item came from. Merchandising stays in Kubernetes: products
// are Product resources reconciled into the catalog by the operator, so each row names its resource and the
// kubectl command that shows it. Drafts and archived products are listed too (staff see every lifecycle).
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ErrorMessage, Loading, PageTitle } from '../components/ui';
import { formatDate } from '../format';
import { staffProducts } from './api';
import type { StaffProduct } from './types';

const LIFECYCLES = ['Active', 'Draft', 'Archived'];

export default function OpsCatalog() {
  const [params, setParams] = useSearchParams();
  const lifecycle = LIFECYCLES.find((l) => l === params.get('lifecycle')) ?? null;
  const [items, setItems] = useState<StaffProduct[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);

  const load = async (after: string | null, signal?: AbortSignal) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await staffProducts(lifecycle, after, signal);
      if (signal?.aborted) return;
      setItems((list) => (after ? [...list, ...page.items] : page.items));
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      if (!signal?.aborted) setError(e);
    } finally {
      if (!signal?.aborted) setLoading(false);
    }
  };

  useEffect(() => {
    const controller = new AbortController();
    setItems([]);
    void load(null, controller.signal);
    return () => controller.abort();
  }, [lifecycle]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <>
      <PageTitle>Catalog (read-only)</PageTitle>
      <p>
        Merchandising happens in Kubernetes: products, stores, fulfillments and promotions are resources in the
        shop's namespace, reconciled into the catalog by the operator. Each product below names the resource it
        came from; change it there, e.g. <code>kubectl edit product &lt;name&gt; -n &lt;namespace&gt;</code>.
      </p>
      <div className="ops-toolbar">
        <label>
          Lifecycle{' '}
          <select
            value={lifecycle ?? ''}
            onChange={(e) => setParams(e.target.value ? { lifecycle: e.target.value } : {}, { replace: true })}
          >
            <option value="">Any</option>
            {LIFECYCLES.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorMessage error={error} />
      {loading && items.length === 0 && <Loading />}
      {!loading && !error && items.length === 0 && <p className="muted">No product.</p>}
      {items.length > 0 && (
        <table className="stock-table catalog-table" tabIndex={0}>
          <caption>Products and where they came from ({items.length} shown)</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">Lifecycle</th>
              <th scope="col">SKUs</th>
              <th scope="col">Source resource</th>
              <th scope="col">Last projected</th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr key={`${p.source.namespace}/${p.source.name}`} data-testid={`product-${p.slug}`}>
                <th scope="row">
                  {p.lifecycle === 'Active' ? <Link to={`/products/${p.slug}`}>{p.title}</Link> : p.title}
                  <span className="line-sku">
                    {p.slug} · {p.category}
                    {p.featured && ' · featured'}
                  </span>
                </th>
                <td>{p.lifecycle}</td>
                <td>{p.skus.join(', ')}</td>
                <td>
                  {p.source.kind} <code>{`${p.source.namespace}/${p.source.name}`}</code>
                  {p.source.generation != null && <span className="line-sku">generation {p.source.generation}</span>}
                  <span className="line-sku">
                    <code>{`kubectl get product ${p.source.name} -n ${p.source.namespace}`}</code>
                  </span>
                </td>
                <td>{formatDate(p.projectedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)} disabled={loading}>
          Show more products
        </button>
      )}
    </>
  );
}
