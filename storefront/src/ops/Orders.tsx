// Ops: the live list of orders by state, and the warehouse steps (pack, ship with carrier and tracking
// number, deliver) plus cancelling on the shopper's behalf, each allowed only in the states the API allows.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Order, OrderState } from '../api/types';
import { ErrorMessage, Loading, MoneyText, PageTitle } from '../components/ui';
import { formatDate, STATE_LABELS } from '../format';
import { orderAction, orderById, ordersByState, ordersIn } from './api';
import { LiveBar } from './LiveBar';
import { useLive } from './useLive';

/** How often the list is fetched again. */
export const REFRESH_MS = 5000;

/** Work queues, in the order the warehouse works them. */
export const QUEUES: { state: OrderState; title: string }[] = [
  { state: 'confirmed', title: 'To pack' },
  { state: 'packed', title: 'To ship' },
  { state: 'shipped', title: 'To deliver' },
  { state: 'awaiting_payment', title: 'Awaiting payment' },
  { state: 'placed', title: 'Placed' },
  { state: 'delivered', title: 'Delivered' },
  { state: 'cancelled', title: 'Cancelled' },
];

/** States in which the order API still accepts a cancellation (before shipment). */
const CANCELLABLE: OrderState[] = ['placed', 'awaiting_payment', 'confirmed', 'packed'];

/** Orders shown per state in the overview; a single state's page shows more and pages further. */
const OVERVIEW_LIMIT = 20;
const STATE_LIMIT = 50;

/** The newer of two copies of an order: the one with the longer history. */
function newer(a: Order, b: Order | undefined): Order {
  return b && b.history.length > a.history.length ? b : a;
}

export default function OpsOrders() {
  const [params, setParams] = useSearchParams();
  const only = QUEUES.find((q) => q.state === params.get('state'))?.state ?? null;
  const queues = only ? QUEUES.filter((q) => q.state === only) : QUEUES;
  const limit = only ? STATE_LIMIT : OVERVIEW_LIMIT;
  const pages = useLive((signal) => ordersByState(queues.map((q) => q.state), limit, signal), REFRESH_MS, [only]);
  // Answers of the actions taken here, shown until the list has caught up with them.
  const [changed, setChanged] = useState<Record<string, Order>>({});
  // Older orders of the one state shown, loaded on request (not refreshed).
  const [older, setOlder] = useState<{ items: Order[]; cursor: string | null } | null>(null);
  const [olderError, setOlderError] = useState<unknown>();
  const [lookup, setLookup] = useState<string | null>(null);
  useEffect(() => setOlder(null), [only]);

  const all = useMemo(() => {
    const first = queues.flatMap((q) => pages.data?.[q.state]?.items ?? []);
    const seen = new Set(first.map((o) => o.id));
    const rest = (older?.items ?? []).filter((o) => !seen.has(o.id));
    return [...first, ...rest].map((o) => newer(o, changed[o.id]));
  }, [pages.data, older, changed]); // eslint-disable-line react-hooks/exhaustive-deps

  const onChange = (order: Order) => {
    setChanged((c) => ({ ...c, [order.id]: order }));
    pages.refresh();
  };

  const showOlder = async (state: OrderState) => {
    const cursor = older ? older.cursor : (pages.data?.[state]?.nextCursor ?? null);
    if (!cursor) return;
    setOlderError(undefined);
    try {
      const page = await ordersIn(state, STATE_LIMIT, cursor);
      setOlder((o) => ({ items: [...(o?.items ?? []), ...page.items], cursor: page.nextCursor ?? null }));
    } catch (e) {
      setOlderError(e);
    }
  };

  const open = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const wanted = String(new FormData(event.currentTarget).get('id') ?? '').trim();
    const byNumber = all.find((o) => o.number.toLowerCase() === wanted.toLowerCase());
    setLookup(byNumber ? byNumber.id : wanted || null);
  };

  return (
    <>
      <PageTitle>Orders</PageTitle>
      <LiveBar live={pages} everyMs={REFRESH_MS} what="orders" />
      <div className="ops-toolbar">
        <label>
          Show{' '}
          <select
            value={only ?? ''}
            onChange={(e) => setParams(e.target.value ? { state: e.target.value } : {}, { replace: true })}
          >
            <option value="">Every state</option>
            {QUEUES.map((q) => (
              <option key={q.state} value={q.state}>
                {q.title}
              </option>
            ))}
          </select>
        </label>
        <form onSubmit={open} className="inline" role="search" aria-label="Open an order">
          <label>
            Order id or number <input name="id" placeholder="BZ-100042" size={30} />
          </label>
          <button type="submit">Open</button>
        </form>
      </div>
      {lookup && <OrderLookup id={lookup} onChange={onChange} onClose={() => setLookup(null)} />}
      <ErrorMessage error={pages.error} title="The list could not be refreshed." />
      {!pages.data && pages.loading && <Loading />}
      {pages.data &&
        queues.map((q) => {
          const items = all.filter((o) => o.state === q.state);
          const more = only ? (older ? older.cursor : pages.data?.[q.state]?.nextCursor) : pages.data?.[q.state]?.nextCursor;
          return (
            <section key={q.state} aria-labelledby={`queue-${q.state}`} className="queue">
              <h2 id={`queue-${q.state}`}>
                {q.title}{' '}
                <span className="count">
                  ({items.length}
                  {more ? '+' : ''})
                </span>
              </h2>
              {items.length === 0 ? (
                <p className="muted">None.</p>
              ) : (
                <ul className="ops-orders">
                  {items.map((o) => (
                    <OrderRow key={o.id} order={o} onChange={onChange} />
                  ))}
                </ul>
              )}
              {more &&
                (only ? (
                  <>
                    <ErrorMessage error={olderError} />
                    <button type="button" onClick={() => void showOlder(q.state)}>
                      Show older orders
                    </button>
                  </>
                ) : (
                  <p>
                    The {items.length} newest are shown.{' '}
                    <Link to={`?state=${q.state}`}>
                      Every order {q.title.toLowerCase()}
                    </Link>
                  </p>
                ))}
            </section>
          );
        })}
    </>
  );
}

function OrderLookup({ id, onChange, onClose }: { id: string; onChange: (o: Order) => void; onClose: () => void }) {
  const order = useLive((signal) => orderById(id, signal), REFRESH_MS, [id]);
  return (
    <section aria-label="Opened order" className="queue">
      <ErrorMessage error={order.error} />
      {order.loading && !order.data && <Loading />}
      {order.data && (
        <ul className="ops-orders">
          <OrderRow
            order={order.data}
            onChange={(o) => {
              order.refresh();
              onChange(o);
            }}
          />
        </ul>
      )}
      <button type="button" className="link-button" onClick={onClose}>
        Close
      </button>
    </section>
  );
}

export function OrderRow({ order, onChange }: { order: Order; onChange: (order: Order) => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const act = async (step: 'pack' | 'ship' | 'deliver' | 'cancel', body?: unknown) => {
    setBusy(true);
    setError(undefined);
    try {
      onChange(await orderAction(order.id, step, body));
      setConfirmCancel(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const ship = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    void act('ship', {
      carrier: String(form.get('carrier')).trim(),
      trackingNumber: String(form.get('trackingNumber')).trim(),
    });
  };
  const items = order.lines.reduce((n, l) => n + l.quantity, 0);
  return (
    <li className="ops-order" data-testid={`ops-order-${order.number}`}>
      <div className="ops-order-head">
        <strong>{order.number}</strong> <span className={`state state-${order.state}`}>{STATE_LABELS[order.state]}</span>{' '}
        <MoneyText money={order.total} /> · {items} {items === 1 ? 'item' : 'items'} ·{' '}
        {order.pickupStore
          ? `pickup at ${order.pickupStore}`
          : `${order.shippingMethod} to ${order.shippingAddress.city}, ${order.shippingAddress.country}`}{' '}
        · placed {formatDate(order.placedAt)}
        {order.trackingNumber && (
          <>
            {' '}
            · {order.carrier} {order.trackingNumber}
          </>
        )}
        {order.cancelReason && <> · {order.cancelReason.replace(/_/g, ' ')}</>}
        {order.paymentFailure && <> ({order.paymentFailure.message})</>}
      </div>
      <details>
        <summary>
          Lines and history<span className="visually-hidden"> of {order.number}</span>
        </summary>
        <ul className="ops-lines">
          {order.lines.map((l) => (
            <li key={l.sku}>
              {l.quantity} × {l.title} <span className="muted">({l.sku})</span>
            </li>
          ))}
        </ul>
        <ol className="ops-history">
          {order.history.map((h) => (
            <li key={`${h.at}-${h.to}`}>
              {formatDate(h.at)}: {h.from ? `${h.from} → ` : ''}
              {h.to} <span className="muted">({h.cause})</span>
            </li>
          ))}
        </ol>
      </details>
      <div className="ops-actions">
        {order.state === 'confirmed' && (
          <button type="button" disabled={busy} onClick={() => void act('pack')}>
            Mark {order.number} packed
          </button>
        )}
        {order.state === 'packed' && (
          <form onSubmit={ship} className="inline" aria-label={`Ship ${order.number}`}>
            <label>
              Carrier <input name="carrier" required defaultValue="UPS" size={8} />
            </label>
            <label>
              Tracking number <input name="trackingNumber" required size={20} />
            </label>
            <button type="submit" disabled={busy}>
              Ship {order.number}
            </button>
          </form>
        )}
        {order.state === 'shipped' && (
          <button type="button" disabled={busy} onClick={() => void act('deliver')}>
            Mark {order.number} delivered
          </button>
        )}
        {CANCELLABLE.includes(order.state) &&
          (confirmCancel ? (
            <span className="confirm" role="group" aria-label={`Cancel ${order.number}?`}>
              Cancel {order.number} for the shopper? Stock is released and any payment voided or refunded.{' '}
              <button type="button" className="danger" disabled={busy} onClick={() => void act('cancel')}>
                Yes, cancel {order.number}
              </button>{' '}
              <button type="button" disabled={busy} onClick={() => setConfirmCancel(false)}>
                Keep it
              </button>
            </span>
          ) : (
            <button type="button" className="secondary" disabled={busy} onClick={() => setConfirmCancel(true)}>
              Cancel {order.number}…
            </button>
          ))}
      </div>
      <ErrorMessage error={error} />
    </li>
  );
}
