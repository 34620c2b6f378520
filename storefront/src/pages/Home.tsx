import { Link } from 'react-router';
import { api } from '../api/client';
import type { CategoryNode, ProductPage, PromotionView } from '../api/types';
import { ProductCard } from '../components/ProductCard';
import { ErrorMessage, Loading, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { useCurrency } from '../state/currency';

export default function Home() {
  const { currency } = useCurrency();
  const featured = useApi(
    (signal) => api<ProductPage>(`/api/catalog/products?featured=true&limit=8&currency=${currency}`, { signal }),
    [currency],
  );
  const categories = useApi((signal) => api<CategoryNode[]>('/api/catalog/categories', { signal }), []);
  const promotions = useApi(
    (signal) => api<{ items: PromotionView[] }>('/api/catalog/promotions', { signal }),
    [],
  );

  return (
    <>
      <section className="hero">
        <PageTitle>Gear for the trail, shipped or ready for pickup</PageTitle>
        <p>
          Browse the shop, pick a size and colour, and follow your order live from payment to your door.
        </p>
        <Link className="button" to="/products">
          Shop all products
        </Link>
      </section>

      <section aria-labelledby="featured">
        <h2 id="featured">Featured</h2>
        {featured.loading && !featured.data && <Loading />}
        <ErrorMessage error={featured.error} />
        {featured.data && (
          <ul className="grid">
            {featured.data.items.map((p, i) => (
              <ProductCard key={p.slug} product={p} currency={currency} eager={i < 2} />
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="categories">
        <h2 id="categories">Categories</h2>
        <ErrorMessage error={categories.error} />
        {categories.data && (
          <ul className="category-list">
            {categories.data.map((c) => (
              <li key={c.path}>
                <Link to={`/products?category=${encodeURIComponent(c.path)}`}>
                  {c.name} <span className="count">({c.productCount})</span>
                </Link>
                {c.children.length > 0 && (
                  <ul>
                    {c.children.map((child) => (
                      <li key={child.path}>
                        <Link to={`/products?category=${encodeURIComponent(child.path)}`}>
                          {child.name} <span className="count">({child.productCount})</span>
                        </Link>
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      {promotions.data && promotions.data.items.length > 0 && (
        <section aria-labelledby="promos">
          <h2 id="promos">Running now</h2>
          <ul className="promo-list">
            {promotions.data.items.map((p) => (
              <li key={p.id} className="promo">
                {p.title}
              </li>
            ))}
          </ul>
        </section>
      )}

    </>
  );
}
