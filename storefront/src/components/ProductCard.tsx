import { Link } from 'react-router';
import type { ProductSummary } from '../api/types';
import { categoryName, formatMoney } from '../format';
import { Stars } from './Stars';
import { ProductImage } from './ui';

export function ProductCard({ product, currency, eager }: { product: ProductSummary; currency: string; eager?: boolean }) {
  const price = product.price ?? product.pricesFrom.find((p) => p.currency === currency);
  return (
    <li className="card">
      <Link to={`/products/${product.slug}`} className="card-link">
        <ProductImage image={product.image} title={product.title} eager={eager} decorative />
        <span className="card-title">{product.title}</span>
      </Link>
      <span className="card-meta">
        {product.brand ? `${product.brand} · ` : ''}
        {categoryName(product.category)}
      </span>
      {product.rating && product.rating.count > 0 && (
        <span className="card-rating">
          <Stars rating={product.rating.average} label={`${product.rating.average.toFixed(1)} out of 5`} />{' '}
          <span className="muted">
            ({product.rating.count}
            <span className="visually-hidden"> {product.rating.count === 1 ? 'review' : 'reviews'}</span>)
          </span>
        </span>
      )}
      <span className="card-price">{price ? `from ${formatMoney(price)}` : `Not sold in ${currency}`}</span>
      {product.featured && <span className="tag">Featured</span>}
    </li>
  );
}
