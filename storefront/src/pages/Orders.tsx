import { useEffect, useState } from 'react';
import { Link, Navigate, useParams, useSearchParams } from 'react-router';
import { api } from '../api/client';
import { streamEvents } from '../api/sse';
import type { Order, OrderPage, OrderState, StoreView } from '../api/types';
import { hoursText, usePickupStores } from '../components/pickupStores';
import { ErrorMessage, Loading, MoneyText, Notice, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { describeCancelReason, formatDate, isZero, STATE_LABELS } from '../format';
import { useSession } from '../state/session';

const FINAL: OrderState[] = ['delivered', 'cancelled'];
const STEPS: OrderState[] = ['placed', 'awaiting_payment', 'confirmed', 'packed', 'shipped', 'delivered'];

export function OrderList() {
  const { user, loading } = useSession();
  const [params] = useSearchParams();
  const cursor = params.get('cursor');
  const page = useApi(
    (signal) =>
      user ? api<OrderPage>(`/api/orders?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { signal }) : Promise.resolve(undefined),
    [user?.id, cursor],
  );
  if (loading) return <Loading />;
  if (!user) return <Navigate to="/signin?next=/orders" replace />;
  return (
    <>
      <PageTitle>Your orders</PageTitle>
      <ErrorMessage error={page.error} />
      {page.loading && !page.data && <Loading />}
      {page.data && page.data.items.length === 0 && (
        <p>
          No orders yet. <Link to="/products">Start shopping</Link>.
        </p>
      )}
      {page.data && page.data.items.length > 0 && (
        <ul className="order-list">
          {page.data.items.map((o) => (
            <li key={o.id}>
              <Link to={`/orders/${o.id}`}>Order {o.number}</Link>
              <span>{formatDate(o.placedAt)}</span>
              <span className={`state state-${o.state}`}>{STATE_LABELS[o.state]}</span>
              <span>
                <MoneyText money={o.total} />
              </span>
            </li>
          ))}
        </ul>
      )}
      <nav className="pager" aria-label="Pages">
        {cursor && <Link to="/orders">Newest orders</Link>}
        {page.data?.nextCursor && <Link to={`/orders?cursor=${encodeURIComponent(page.data.nextCursor)}`}>Older orders</Link>}
      </nav>
    </>
  );
}

/** Follows an order's status live (server-sent events) and reloads it after each change. */
export function useLiveOrder(id: string, enabled: boolean) {
  const order = useApi((signal) => (enabled ? api<Order>(`/api/orders/${id}`, { signal }) : Promise.resolve(undefined)), [id, enabled]);
  const [live, setLive] = useState<'connecting' | 'live' | 'ended' | 'lost'>('connecting');
  const state = order.data?.state;
  const done = state ? FINAL.includes(state) : false;
  const { reload } = order;

  useEffect(() => {
    if (!enabled || done) return;
    const controller = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      setLive('connecting');
      streamEvents(
        `/api/orders/${id}/events`,
        (event) => {
          if (event.event === 'status') {
            setLive('live');
            reload();
          }
        },
        controller.signal,
      )
        .then(() => {
          if (!controller.signal.aborted) {
            setLive('ended');
            reload();
          }
        })
        .catch(() => {
          if (controller.signal.aborted) return;
          // The stream dropped (a deploy, a proxy timeout): reconnect after a pause.
          setLive('lost');
          retry = setTimeout(connect, 3000);
        });
    };
    connect();
    return () => {
      controller.abort();
      if (retry) clearTimeout(retry);
    };
  }, [id, enabled, done, reload]);

  return { order, live };
}

export function OrderDetail() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const { user, loading } = useSession();
  const { order, live } = useLiveOrder(id, !!user);
  const pickupStores = usePickupStores(!!order.data?.pickupStore);
  if (loading) return <Loading />;
  if (!user) return <Navigate to={`/signin?next=/orders/${id}`} replace />;
  if (order.error && !order.data) {
    return (
      <>
        <PageTitle>Order not found</PageTitle>
        <ErrorMessage error={order.error} />
        <Link to="/orders">Your orders</Link>
      </>
    );
  }
  const o = order.data;
  if (!o) return <Loading />;
  const reached = new Set(o.history.map((h) => h.to));
  return (
    <>
      <PageTitle>{params.get('placed') ? `Thank you! Order ${o.number}` : `Order ${o.number}`}</PageTitle>
      <p className="order-status" role="status" aria-live="polite" data-testid="order-state">
        Status: <strong className={`state state-${o.state}`}>{STATE_LABELS[o.state]}</strong>
        {!FINAL.includes(o.state) && (
          <span className="live"> · {live === 'live' ? 'updating live' : live === 'lost' ? 'reconnecting…' : 'connecting…'}</span>
        )}
      </p>
      {o.state === 'cancelled' && (
        <div className="alert alert-error" role="alert" data-testid="cancel-reason">
          {o.paymentFailure?.message ?? describeCancelReason(o.cancelReason)}
        </div>
      )}
      {(o.state === 'placed' || o.state === 'awaiting_payment') && (
        <Notice>We are reserving your items and authorizing the payment. This page updates by itself.</Notice>
      )}
      {o.trackingNumber && (
        <p className="tracking" data-testid="tracking">
          Shipped with {o.carrier}: tracking number <strong>{o.trackingNumber}</strong>
        </p>
      )}
      {o.state !== 'cancelled' && (
        <ol className="steps" aria-label="Progress">
          {STEPS.map((s) => (
            <li key={s} className={reached.has(s) ? 'done' : ''} aria-current={o.state === s ? 'step' : undefined}>
              {STATE_LABELS[s]}
            </li>
          ))}
        </ol>
      )}
      <div className="order-columns">
        <section aria-labelledby="items">
          <h2 id="items">Items</h2>
          <ul className="summary-lines">
            {o.lines.map((l) => (
              <li key={l.sku}>
                {l.quantity} × {l.title} ({l.sku}) — <MoneyText money={l.total} />
              </li>
            ))}
          </ul>
          <dl className="totals">
            <div>
              <dt>Subtotal</dt>
              <dd>
                <MoneyText money={o.subtotal} />
              </dd>
            </div>
            {!isZero(o.discount) && (
              <div>
                <dt>Discount</dt>
                <dd>
                  −<MoneyText money={o.discount} />
                </dd>
              </div>
            )}
            <div>
              <dt>Shipping ({o.shippingMethod})</dt>
              <dd>
                <MoneyText money={o.shipping} />
              </dd>
            </div>
            <div>
              <dt>Tax</dt>
              <dd>
                <MoneyText money={o.tax} />
              </dd>
            </div>
            <div className="total">
              <dt>Total</dt>
              <dd>
                <MoneyText money={o.total} />
              </dd>
            </div>
          </dl>
        </section>
        <section aria-labelledby="ship-to">
          {o.pickupStore && <PickupAt id={o.pickupStore} store={pickupStores.data?.get(o.pickupStore)} />}
          <h2 id="ship-to">{o.pickupStore ? 'Your address' : 'Shipping to'}</h2>
          <address>
            {o.shippingAddress.name}
            <br />
            {o.shippingAddress.line1}
            {o.shippingAddress.line2 && (
              <>
                <br />
                {o.shippingAddress.line2}
              </>
            )}
            <br />
            {o.shippingAddress.city} {o.shippingAddress.region ?? ''} {o.shippingAddress.postalCode}
            <br />
            {o.shippingAddress.country}
          </address>
          <h2>History</h2>
          <ol className="history">
            {o.history.map((h, i) => (
              <li key={i}>
                {formatDate(h.at)}: {STATE_LABELS[h.to as OrderState] ?? h.to}
              </li>
            ))}
          </ol>
        </section>
      </div>
      <p>
        <Link to="/orders">All your orders</Link> · <Link to="/products">Keep shopping</Link>
      </p>
    </>
  );
}

function PickupAt({ id, store }: { id: string; store: StoreView | undefined }) {
  return (
    <div data-testid="pickup-store">
      <h2>Pick up at</h2>
      <p>
        <strong>{store?.displayName ?? id}</strong>
        {store && (
          <>
            <br />
            {store.address.lines.join(', ')}, {store.address.city}
            <br />
            {hoursText(store)} ({store.timeZone})
          </>
        )}
      </p>
    </div>
  );
}
