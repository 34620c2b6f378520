import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { api } from '../api/client';
import type { Availability, ProductDetail, PromotionView, RatingSummary, Variant } from '../api/types';
import { ErrorMessage, Loading, Notice, PageTitle, Price, ProductImage } from '../components/ui';
import { ratingText, Stars } from '../components/Stars';
import { useApi } from '../components/useApi';
import { WishlistButton } from '../components/WishlistButton';
import { categoryName } from '../format';
import { useCart } from '../state/cart';
import { useCurrency } from '../state/currency';

// Reviews are below the fold: their code loads with the page's data, not in the first bundle.
const Reviews = lazy(() => import('../components/Reviews'));

/** The variant matching every chosen option, if any. */
export function findVariant(variants: Variant[], chosen: Record<string, string>): Variant | undefined {
  return variants.find((v) => Object.entries(chosen).every(([name, value]) => v.options[name] === value));
}

export default function Product() {
  const { slug = '' } = useParams();
  const { currency } = useCurrency();
  const [params, setParams] = useSearchParams();
  // The chosen variant shows at once; the URL follows (replace), so a shared link opens the same variant.
  const [sku, setSku] = useState(params.get('sku'));
  const product = useApi(
    (signal) => api<ProductDetail>(`/api/catalog/products/${encodeURIComponent(slug)}?currency=${currency}`, { signal }),
    [slug, currency],
  );
  const promotions = useApi((signal) => api<{ items: PromotionView[] }>('/api/catalog/promotions', { signal }), []);

  if (product.loading && !product.data) return <Loading />;
  if (product.error || !product.data) {
    return (
      <>
        <PageTitle>Product not available</PageTitle>
        <ErrorMessage error={product.error} />
        <p>
          <Link to="/products">Back to all products</Link>
        </p>
      </>
    );
  }
  return (
    <ProductView
      product={product.data}
      currency={currency}
      promotions={promotions.data?.items ?? []}
      sku={sku}
      onSku={(next) => {
        setSku(next);
        setParams({ sku: next }, { replace: true });
      }}
    />
  );
}

function ProductView({
  product,
  currency,
  promotions,
  sku,
  onSku,
}: {
  product: ProductDetail;
  currency: string;
  promotions: PromotionView[];
  sku: string | null;
  onSku: (sku: string) => void;
}) {
  const optionNames = Object.keys(product.options);
  const variant = product.variants.find((v) => v.sku === sku) ?? product.variants[0];
  const [quantity, setQuantity] = useState(1);
  const [added, setAdded] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const { addLine } = useCart();
  const summary = useApi(
    (signal) =>
      api<RatingSummary>(`/api/reviews/products/${encodeURIComponent(product.slug)}/summary`, { signal, auth: false }),
    [product.slug],
  );

  const availability = useApi(
    (signal) =>
      variant
        ? api<Availability>(`/api/inventory/availability/${encodeURIComponent(variant.sku)}`, { signal, auth: false })
        : Promise.resolve(undefined),
    [variant?.sku],
  );
  useEffect(() => setAdded(null), [variant?.sku]);

  const price = variant?.prices.find((p) => p.effective.currency === currency);
  const badges = useMemo(
    () =>
      promotions.filter(
        (p) =>
          (variant && p.skus.includes(variant.sku)) ||
          p.categories.some((c) => product.category === c || product.category.startsWith(`${c}/`)) ||
          (price?.promotions ?? []).includes(p.id),
      ),
    [promotions, variant, product.category, price],
  );

  const choose = (name: string, value: string) => {
    const chosen = { ...(variant?.options ?? {}), [name]: value };
    const next = findVariant(product.variants, chosen) ?? findVariant(product.variants, { [name]: value });
    if (next) onSku(next.sku);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!variant) return;
    setBusy(true);
    setError(undefined);
    setAdded(null);
    try {
      await addLine(variant.sku, quantity);
      setAdded(`${quantity} × ${product.title} added to your cart.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const stock = availability.data;
  const soldOut = stock ? !stock.inStock : false;

  return (
    <article className="product">
      <div className="product-images">
        <ProductImage image={product.images[0]} title={product.title} eager />
      </div>
      <div className="product-info">
        <p className="breadcrumb">
          <Link to={`/products?category=${encodeURIComponent(product.category)}`}>{categoryName(product.category)}</Link>
        </p>
        <PageTitle>{product.title}</PageTitle>
        {product.brand && <p className="brand">{product.brand}</p>}
        {/* The line keeps its height while the rating loads, so the price below does not move. */}
        <p className="rating-line">
          {summary.data ? (
            <>
              {summary.data.average != null && <Stars rating={summary.data.average} label="" />}{' '}
              <a href="#reviews">{ratingText(summary.data)}</a>
            </>
          ) : (
            '\u00a0'
          )}
        </p>
        <p className="product-price" data-testid="price">
          <Price price={price} />
        </p>
        {badges.length > 0 && (
          <ul className="badges" aria-label="Promotions">
            {badges.map((b) => (
              <li key={b.id} className="tag tag-promo">
                {b.title}
              </li>
            ))}
          </ul>
        )}
        <form onSubmit={submit} className="buy">
          {optionNames.map((name) => (
            <fieldset key={name} className="option">
              <legend>{name.charAt(0).toUpperCase() + name.slice(1)}</legend>
              {product.options[name].map((value) => {
                const exists = product.variants.some((v) => v.options[name] === value);
                return (
                  <label key={value} className="option-value">
                    <input
                      type="radio"
                      name={name}
                      value={value}
                      checked={variant?.options[name] === value}
                      disabled={!exists}
                      onChange={() => choose(name, value)}
                    />
                    <span>{value}</span>
                  </label>
                );
              })}
            </fieldset>
          ))}
          <p className="availability" aria-live="polite" data-testid="availability">
            {variant && <>SKU {variant.sku} · </>}
            {!stock
              ? 'Checking stock…'
              : stock.inStock
                ? stock.available <= 5
                  ? `Only ${stock.available} left`
                  : 'In stock'
                : 'Out of stock'}
          </p>
          <label className="quantity">
            Quantity
            <input
              type="number"
              min={1}
              max={100}
              value={quantity}
              onChange={(e) => setQuantity(Math.max(1, Math.min(100, Number(e.target.value) || 1)))}
            />
          </label>
          <button type="submit" disabled={busy || !variant || !price || soldOut}>
            {soldOut ? 'Out of stock' : busy ? 'Adding…' : 'Add to cart'}
          </button>
        </form>
        {added && (
          <Notice tone="success">
            {added} <Link to="/cart">View cart</Link>
          </Notice>
        )}
        <ErrorMessage error={error} />
        {variant && <WishlistButton sku={variant.sku} title={product.title} />}
        <p className="description">{product.description}</p>
        {Object.keys(product.attributes).length > 0 && (
          <dl className="attributes">
            {Object.entries(product.attributes).map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        )}
      </div>
      <div className="product-reviews">
        <Suspense fallback={<Loading label="Loading reviews…" />}>
          <Reviews slug={product.slug} variants={product.variants} summary={summary.data} onChanged={summary.reload} />
        </Suspense>
      </div>
    </article>
  );
}
