import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, Navigate, useNavigate } from 'react-router';
import { api, ApiError, newIdempotencyKey } from '../api/client';
import type { Address, Order, ShippingAddress } from '../api/types';
import { COUNTRIES } from '../components/Countries';
import { hoursText, usePickupStores } from '../components/pickupStores';
import { ErrorMessage, Loading, MoneyText, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { isZero } from '../format';
import { useCart } from '../state/cart';
import { useSession } from '../state/session';

export const TEST_CARDS: [string, string][] = [
  ['tok_visa', 'Visa ending 4242 (approved)'],
  ['tok_declined', 'Card that is declined'],
  ['tok_insufficient_funds', 'Card with insufficient funds'],
  ['tok_timeout_once', 'Card whose bank times out once, then approves'],
];

const EMPTY: ShippingAddress = { name: '', line1: '', line2: '', city: '', region: '', postalCode: '', country: 'US' };

/**
 * One Idempotency-Key per checkout attempt: made when the shopper first presses "Place order", reused for
 * every resend of that same attempt (a double click, a retry after a lost answer), and replaced only when the
 * shopper changes what they are ordering. The server then makes at most one order per attempt.
 */
export class CheckoutAttempt {
  private key: string | null = null;
  private inFlight: Promise<Order> | null = null;

  keyForSubmit(): string {
    this.key ??= newIdempotencyKey();
    return this.key;
  }

  /** The shopper changed the form: the next press is a new attempt. */
  changed(): void {
    if (!this.inFlight) this.key = null;
  }

  /** Sends once; a second press while the first is on its way waits for the same answer. */
  submit(send: (key: string) => Promise<Order>): Promise<Order> {
    if (this.inFlight) return this.inFlight;
    const key = this.keyForSubmit();
    this.inFlight = send(key)
      .catch((error: unknown) => {
        // A refusal (4xx other than 409/429) made no order: the shopper may fix the form and try anew.
        // No answer, 5xx or 503: the order may exist, so the same key goes out again on the next press.
        if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 409) {
          this.key = null;
        }
        throw error;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}

export default function Checkout() {
  const { user, loading: sessionLoading } = useSession();
  const cart = useCart();
  const navigate = useNavigate();
  const attempt = useRef(new CheckoutAttempt());
  const addresses = useApi(
    (signal) => (user ? api<Address[]>('/api/users/me/addresses', { signal }) : Promise.resolve([])),
    [user?.id],
  );
  const saved = (addresses.data ?? []).filter((a) => a.kind === 'shipping');
  const [choice, setChoice] = useState<string>('new');
  const [address, setAddress] = useState<ShippingAddress>(EMPTY);
  const [save, setSave] = useState(true);
  const [token, setToken] = useState('tok_visa');
  const [error, setError] = useState<unknown>();
  const [placing, setPlacing] = useState(false);
  // In-store pickup: one of the stores the quote offers it at, for this destination.
  const pickupIds = cart.cart?.shippingOptions.find((o) => o.code === 'pickup')?.pickupStores ?? [];
  const pickingUp = cart.shippingMethod === 'pickup';
  const pickupStores = usePickupStores(pickupIds.length > 0);
  const [pickupChoice, setPickupChoice] = useState('');
  const pickupStore = pickupIds.includes(pickupChoice) ? pickupChoice : (pickupIds[0] ?? '');

  // The default saved address is chosen at first.
  useEffect(() => {
    const first = saved.find((a) => a.isDefault) ?? saved[0];
    if (first && choice === 'new' && address === EMPTY) setChoice(first.id);
  }, [addresses.data]); // eslint-disable-line react-hooks/exhaustive-deps

  const chosen: ShippingAddress = (() => {
    const a = saved.find((s) => s.id === choice);
    return a
      ? { name: a.name, line1: a.line1, line2: a.line2, city: a.city, region: a.region, postalCode: a.postalCode, country: a.country }
      : address;
  })();

  // Shipping options and tax follow the destination.
  useEffect(() => {
    if (chosen.country && (chosen.country !== cart.destination.country || (chosen.region ?? '') !== cart.destination.region)) {
      cart.setDestination({ country: chosen.country, region: chosen.region ?? '' });
    }
  }, [chosen.country, chosen.region]); // eslint-disable-line react-hooks/exhaustive-deps

  if (sessionLoading) return <Loading />;
  if (!user) return <Navigate to="/signin?next=/checkout" replace />;
  if (cart.loading && !cart.cart) return <Loading />;
  const c = cart.cart;
  if (!c || c.lines.length === 0) {
    return (
      <>
        <PageTitle>Checkout</PageTitle>
        <p>
          Your cart is empty. <Link to="/products">Browse the shop</Link>.
        </p>
      </>
    );
  }

  const changed = () => {
    attempt.current.changed();
    setError(undefined);
  };
  const field = (name: keyof ShippingAddress) => ({
    name,
    value: (address[name] as string | undefined) ?? '',
    onChange: (e: { target: { value: string } }) => {
      setAddress((a) => ({ ...a, [name]: e.target.value }));
      changed();
    },
  });

  const place = async (event: FormEvent) => {
    event.preventDefault();
    setPlacing(true);
    setError(undefined);
    const shippingAddress: ShippingAddress = {
      ...chosen,
      line2: chosen.line2 || null,
      region: chosen.region || null,
    };
    try {
      const order = await attempt.current.submit((key) =>
        api<Order>('/api/checkout', {
          method: 'POST',
          headers: { 'idempotency-key': key },
          body: {
            shippingAddress,
            shippingMethod: cart.shippingMethod,
            ...(pickingUp ? { pickupStore } : {}),
            paymentToken: token,
          },
        }),
      );
      if (choice === 'new' && save) {
        void api('/api/users/me/addresses', { method: 'POST', body: { kind: 'shipping', ...shippingAddress } }).catch(
          () => {},
        );
      }
      cart.clearLocal();
      void cart.refresh().catch(() => null);
      navigate(`/orders/${order.id}?placed=1`);
    } catch (e) {
      setError(e);
      setPlacing(false);
    }
  };

  const fieldError = (name: string) =>
    error instanceof ApiError ? error.fieldMessage(`shippingAddress.${name}`) ?? error.fieldMessage(name) : undefined;

  return (
    <>
      <PageTitle>Checkout</PageTitle>
      <form className="checkout" onSubmit={place} noValidate={false}>
        <fieldset>
          <legend>Shipping address</legend>
          {saved.map((a) => (
            <label key={a.id} className="radio">
              <input
                type="radio"
                name="address"
                checked={choice === a.id}
                onChange={() => {
                  setChoice(a.id);
                  changed();
                }}
              />
              {a.name}, {a.line1}, {a.city} {a.postalCode}, {a.country}
            </label>
          ))}
          {saved.length > 0 && (
            <label className="radio">
              <input
                type="radio"
                name="address"
                checked={choice === 'new'}
                onChange={() => {
                  setChoice('new');
                  changed();
                }}
              />
              A new address
            </label>
          )}
          {choice === 'new' && (
            <div className="address-fields">
              <label>
                Full name
                <input required autoComplete="name" {...field('name')} />
              </label>
              <label>
                Street address
                <input required autoComplete="address-line1" {...field('line1')} />
              </label>
              <label>
                Apartment, suite (optional)
                <input autoComplete="address-line2" {...field('line2')} />
              </label>
              <label>
                City
                <input required autoComplete="address-level2" {...field('city')} />
              </label>
              <label>
                State or region
                <input autoComplete="address-level1" {...field('region')} />
              </label>
              <label>
                Postal code
                <input required autoComplete="postal-code" {...field('postalCode')} />
              </label>
              <label>
                Country
                <select autoComplete="country" {...field('country')}>
                  {COUNTRIES.map(([code, name]) => (
                    <option key={code} value={code}>
                      {name}
                    </option>
                  ))}
                </select>
              </label>
              <label className="checkbox">
                <input type="checkbox" checked={save} onChange={(e) => setSave(e.target.checked)} />
                Save this address to my account
              </label>
              {['name', 'line1', 'city', 'postalCode', 'country'].map((f) =>
                fieldError(f) ? (
                  <p key={f} className="field-error">
                    {fieldError(f)}
                  </p>
                ) : null,
              )}
            </div>
          )}
        </fieldset>

        <fieldset>
          <legend>Delivery</legend>
          {c.shippingOptions.length === 0 && <p>We cannot deliver to this address.</p>}
          {c.shippingOptions.map((o) => (
            <label key={o.code} className="radio">
              <input
                type="radio"
                name="shippingMethod"
                value={o.code}
                checked={cart.shippingMethod === o.code}
                onChange={() => {
                  cart.setShippingMethod(o.code);
                  changed();
                }}
              />
              {o.name} — {isZero(o.price) ? 'free' : <MoneyText money={o.price} />}
            </label>
          ))}
        </fieldset>

        {pickingUp && (
          <fieldset>
            <legend>Pickup store</legend>
            {pickupIds.length === 0 && <p>No store offers pickup for this address.</p>}
            <ErrorMessage error={pickupStores.error} title="Store details could not be loaded:" />
            {pickupIds.map((id) => {
              const store = pickupStores.data?.get(id);
              return (
                <label key={id} className="radio pickup-store">
                  <input
                    type="radio"
                    name="pickupStore"
                    value={id}
                    checked={pickupStore === id}
                    onChange={() => {
                      setPickupChoice(id);
                      changed();
                    }}
                  />
                  <span>
                    <strong>{store?.displayName ?? id}</strong>
                    {store && (
                      <span className="line-note">
                        {store.address.lines.join(', ')}, {store.address.city} · {hoursText(store)} ({store.timeZone})
                      </span>
                    )}
                  </span>
                </label>
              );
            })}
            {fieldError('pickupStore') && <p className="field-error">{fieldError('pickupStore')}</p>}
            <p className="hint">
              <Link to="/stores">All stores and their opening hours</Link>
            </p>
          </fieldset>
        )}

        <fieldset>
          <legend>Payment (test cards)</legend>
          {TEST_CARDS.map(([value, label]) => (
            <label key={value} className="radio">
              <input
                type="radio"
                name="paymentToken"
                value={value}
                checked={token === value}
                onChange={() => {
                  setToken(value);
                  changed();
                }}
              />
              {label}
            </label>
          ))}
        </fieldset>

        <section className="summary" aria-labelledby="order-summary">
          <h2 id="order-summary">Order summary</h2>
          <ul className="summary-lines">
            {c.lines.map((l) => (
              <li key={l.sku}>
                {l.quantity} × {l.title} — <MoneyText money={l.total} />
              </li>
            ))}
          </ul>
          <dl className="totals">
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
              <dt>Tax</dt>
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
          <ErrorMessage error={error} title="The order was not placed:" />
          <button type="submit" className="button primary" aria-busy={placing}>
            {placing ? 'Placing order…' : 'Place order'}
          </button>
        </section>
      </form>
    </>
  );
}
