import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { COUNTRIES } from '../components/Countries';
import { api } from '../api/client';
import { ErrorMessage, Loading, MoneyText, Notice, PageTitle } from '../components/ui';
import { isZero } from '../format';
import { useCart } from '../state/cart';
import { useCurrency } from '../state/currency';
import { useSession } from '../state/session';

const LINE_PROBLEMS: Record<string, string> = {
  unknown_sku: 'This item no longer exists.',
  not_for_sale: 'This item is no longer for sale.',
  no_price_in_currency: 'This item has no price in the cart’s currency.',
};

export default function CartPage() {
  const cart = useCart();
  const { user } = useSession();
  const { currency } = useCurrency();
  const [error, setError] = useState<unknown>();
  const [couponError, setCouponError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);

  const run = async (action: () => Promise<void>, onError = setError) => {
    setBusy(true);
    onError(undefined);
    setSaved(null);
    try {
      await action();
    } catch (e) {
      onError(e);
    } finally {
      setBusy(false);
    }
  };

  if (cart.loading && !cart.cart) return <Loading />;
  const c = cart.cart;
  if (!c || c.lines.length === 0) {
    return (
      <>
        <PageTitle>Your cart</PageTitle>
        {saved && (
          <Notice tone="success">
            {saved} <Link to="/wishlist">View wishlist</Link>
          </Notice>
        )}
        <p>Your cart is empty.</p>
        <Link className="button" to="/products">
          Start shopping
        </Link>
      </>
    );
  }

  const applyCoupon = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const code = String(new FormData(event.currentTarget).get('code') ?? '').trim();
    if (!code) return;
    void run(() => cart.applyCoupon(code), setCouponError);
  };

  return (
    <>
      <PageTitle>Your cart</PageTitle>
      {c.currency !== currency && (
        <p className="alert alert-info" role="status">
          This cart is priced in {c.currency}.
        </p>
      )}
      <ErrorMessage error={cart.currencyError} title={`Your cart could not be moved to ${currency}:`} />
      <ErrorMessage error={error} />
      {saved && (
        <Notice tone="success">
          {saved} <Link to="/wishlist">View wishlist</Link>
        </Notice>
      )}
      <div className="cart">
        <table className="cart-lines">
          <caption className="visually-hidden">Items in your cart</caption>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Quantity</th>
              <th scope="col" className="num">
                Total
              </th>
            </tr>
          </thead>
          <tbody>
            {c.lines.map((line) => (
              <tr key={line.sku}>
                <td>
                  <span className="line-title">{line.title}</span>
                  <span className="line-sku">SKU {line.sku}</span>
                  {line.unitPrice && (
                    <span className="line-unit">
                      <MoneyText money={line.unitPrice} /> each
                    </span>
                  )}
                  {line.priceChanged && line.priceWhenAdded && (
                    <span className="line-note">
                      Price changed since you added it (was <MoneyText money={line.priceWhenAdded} />).
                    </span>
                  )}
                  {line.status !== 'available' && <span className="line-problem">{LINE_PROBLEMS[line.status]}</span>}
                  {!isZero(line.discount) && (
                    <span className="line-note">
                      You save <MoneyText money={line.discount} />
                    </span>
                  )}
                </td>
                <td>
                  <div className="qty">
                    <button
                      type="button"
                      aria-label={`One fewer ${line.title}`}
                      disabled={busy || line.quantity <= 1}
                      onClick={() => void run(() => cart.setQuantity(line.sku, line.quantity - 1))}
                    >
                      −
                    </button>
                    <span aria-label={`Quantity of ${line.title}`}>{line.quantity}</span>
                    <button
                      type="button"
                      aria-label={`One more ${line.title}`}
                      disabled={busy}
                      onClick={() => void run(() => cart.setQuantity(line.sku, line.quantity + 1))}
                    >
                      +
                    </button>
                  </div>
                  <button
                    type="button"
                    className="link-button"
                    disabled={busy}
                    onClick={() => void run(() => cart.removeLine(line.sku))}
                  >
                    Remove<span className="visually-hidden"> {line.title}</span>
                  </button>
                  {user && line.status !== 'unknown_sku' && (
                    <button
                      type="button"
                      className="link-button"
                      disabled={busy}
                      onClick={() =>
                        void run(async () => {
                          // Saved to the wishlist first, then taken out of the cart (by the review component).
                          await api(`/api/wishlist/items/${encodeURIComponent(line.sku)}/from-cart`, { method: 'POST' });
                          await cart.refresh();
                          setSaved(`${line.title} moved to your wishlist.`);
                        })
                      }
                    >
                      Save for later<span className="visually-hidden">: {line.title}</span>
                    </button>
                  )}
                </td>
                <td className="num">
                  <MoneyText money={line.total} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>

        <aside className="summary" aria-labelledby="summary-heading">
          <h2 id="summary-heading">Summary</h2>
          <form onSubmit={applyCoupon} className="coupon">
            <label htmlFor="coupon-code">Coupon code</label>
            <div className="inline">
              <input id="coupon-code" name="code" autoComplete="off" defaultValue={c.coupon?.code ?? ''} />
              <button type="submit" disabled={busy}>
                Apply
              </button>
            </div>
          </form>
          <ErrorMessage error={couponError} title="Coupon not applied:" />
          {c.coupon && (
            <p className={c.coupon.applied ? 'coupon-ok' : 'coupon-refused'} role="status">
              {c.coupon.applied
                ? `Coupon ${c.coupon.code} applied.`
                : `Coupon ${c.coupon.code} does not apply: ${c.coupon.reason ?? 'not for this cart'}`}{' '}
              <button type="button" className="link-button" onClick={() => void run(() => cart.removeCoupon())}>
                Remove coupon
              </button>
            </p>
          )}

          <fieldset className="destination">
            <legend>Estimate shipping and tax</legend>
            <label>
              Country
              <select
                value={cart.destination.country}
                onChange={(e) => cart.setDestination({ country: e.target.value, region: '' })}
              >
                {COUNTRIES.map(([code, name]) => (
                  <option key={code} value={code}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
            <label>
              State or region
              <input
                value={cart.destination.region}
                maxLength={3}
                size={4}
                onChange={(e) =>
                  cart.setDestination({ country: cart.destination.country, region: e.target.value.toUpperCase() })
                }
              />
            </label>
          </fieldset>
          {c.shippingOptions.length > 0 ? (
            <fieldset className="shipping">
              <legend>Shipping</legend>
              {c.shippingOptions.map((o) => (
                <label key={o.code} className="radio">
                  <input
                    type="radio"
                    name="shipping"
                    value={o.code}
                    checked={cart.shippingMethod === o.code}
                    onChange={() => cart.setShippingMethod(o.code)}
                  />
                  {o.name} — {isZero(o.price) ? 'free' : <MoneyText money={o.price} />}
                </label>
              ))}
            </fieldset>
          ) : (
            <p>No shipping to this destination.</p>
          )}

          {c.promotions.length > 0 && (
            <ul className="applied-promos" aria-label="Promotions applied">
              {c.promotions.map((p) => (
                <li key={p.promotion}>
                  {p.description}
                  {!isZero(p.amount) && (
                    <>
                      {' '}
                      (−<MoneyText money={p.amount} />)
                    </>
                  )}
                </li>
              ))}
            </ul>
          )}
          <dl className="totals" data-testid="cart-totals">
            <div>
              <dt>Subtotal</dt>
              <dd>
                <MoneyText money={c.subtotal} />
              </dd>
            </div>
            {!isZero(c.discount) && (
              <div>
                <dt>Discount</dt>
                <dd>
                  −<MoneyText money={c.discount} />
                </dd>
              </div>
            )}
            <div>
              <dt>Shipping</dt>
              <dd>
                <MoneyText money={c.shippingTotal} />
              </dd>
            </div>
            <div>
              <dt>Estimated tax</dt>
              <dd>
                <MoneyText money={c.tax} />
              </dd>
            </div>
            <div className="total">
              <dt>Total</dt>
              <dd>
                <MoneyText money={c.total} />
              </dd>
            </div>
          </dl>
          {user ? (
            <Link className={`button${c.readyForCheckout ? '' : ' disabled'}`} to="/checkout" aria-disabled={!c.readyForCheckout}>
              Check out
            </Link>
          ) : (
            <>
              <p>Sign in to check out; your cart comes with you.</p>
              <Link className="button" to="/signin?next=/checkout">
                Sign in to check out
              </Link>{' '}
              <Link to="/signup?next=/checkout">Create an account</Link>
            </>
          )}
        </aside>
      </div>
    </>
  );
}
