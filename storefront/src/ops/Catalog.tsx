// Ops: the catalog, read-only. Merchandising stays in Kubernetes (Product, Store, Fulfillment and Promotion
// resources projected into the catalog by the operator); this page shows what the shop sells.
import { Link } from 'react-router';
import { ErrorMessage, Loading, MoneyText, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { catalogProducts } from './api';

export default function OpsCatalog() {
  const products = useApi((signal) => catalogProducts(signal), []);
  return (
    <>
      <PageTitle>Catalog (read-only)</PageTitle>
      <p>
        Merchandising happens in Kubernetes: products, stores, fulfillments and promotions are resources in the
        shop's namespace (<code>kubectl get bazaar -A</code>), projected into the catalog by the operator. Change
        a product with <code>kubectl edit product &lt;name&gt; -n &lt;namespace&gt;</code>.
      </p>
      <ErrorMessage error={products.error} />
      {products.loading && !products.data && <Loading />}
      {products.data && (
        <table className="stock-table">
          <caption>Products and variants ({products.data.length} products)</caption>
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">SKU</th>
              <th scope="col">Options</th>
              <th scope="col">Prices</th>
            </tr>
          </thead>
          <tbody>
            {products.data.flatMap((p) =>
              p.variants.map((v, i) => (
                <tr key={v.sku}>
                  {i === 0 && (
                    <th scope="row" rowSpan={p.variants.length}>
                      <Link to={`/products/${p.slug}`}>{p.title}</Link>
                      <span className="line-sku">
                        {p.slug} · {p.category}
                      </span>
                    </th>
                  )}
                  <td>{v.sku}</td>
                  <td>
                    {Object.entries(v.options)
                      .map(([k, val]) => `${k}: ${val}`)
                      .join(', ')}
                  </td>
                  <td>
                    {v.prices.map((pr) => (
                      <span key={pr.effective.currency} className="price-cell">
                        <MoneyText money={pr.effective} />
                      </span>
                    ))}
                  </td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
    </>
  );
}
