import { Link } from 'react-router';
import type { ProductSummary } from '../api/types';
import { categoryName, formatMoney } from '../format';
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
      <span className="card-price">{price ? `from ${formatMoney(price)}` : `Not sold in ${currency}`}</span>
      {product.featured && <span className="tag">Featured</span>}
    </li>
  );
}
