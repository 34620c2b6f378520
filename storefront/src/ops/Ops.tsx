// The ops console (/ops): orders to pack, ship and deliver; stock per SKU and location with audited
// adjustments; low stock; the catalog read-only. Staff only (roles ops or admin); everything goes through the
// same public API as the shop, so the server decides what each role may do.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, Navigate, NavLink, Outlet } from 'react-router';
import { api } from '../api/client';
import type { Adjustment, Order, OrderState, Payment, ProductDetail, ProductPage, SkuStock } from '../api/types';
import { ErrorMessage, Loading, MoneyText, Notice, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { formatDate, STATE_LABELS } from '../format';
import { useSession } from '../state/session';

export function OpsLayout() {
  const { user, loading, hasRole } = useSession();
  if (loading) return <Loading />;
  if (!user) return <Navigate to="/signin?next=/ops" replace />;
  if (!hasRole('ops')) {
    return (
      <>
        <PageTitle>Ops console</PageTitle>
        <div className="alert alert-error" role="alert">
          The ops console is for staff with the ops or admin role; {user.email} has neither.
        </div>
      </>
    );
  }
  return (
    <div className="ops">
      <nav aria-label="Ops" className="ops-nav">
        <NavLink to="/ops" end>
          Orders
        </NavLink>
        <NavLink to="/ops/stock">Stock</NavLink>
        <NavLink to="/ops/catalog">Catalog</NavLink>
      </nav>
      <Outlet />
    </div>
  );
}

/** Work queues, in the order the warehouse works them. */
const QUEUES: { state: OrderState; title: string }[] = [
  { state: 'confirmed', title: 'To pack' },
  { state: 'packed', title: 'To ship' },
  { state: 'shipped', title: 'To deliver' },
  { state: 'awaiting_payment', title: 'Awaiting payment' },
  { state: 'delivered', title: 'Delivered' },
  { state: 'cancelled', title: 'Cancelled' },
];

/**
 * Recent orders, found through the payments list (GET /api/payments, ops only): the API has no staff
 * listing of orders, and every order that got as far as payment has a payment. Refreshed every 5 s.
 */
async function recentOrders(signal: AbortSignal): Promise<Order[]> {
  const payments = await api<{ items: Payment[] }>('/api/payments?limit=100', { signal });
  const ids = [...new Set(payments.items.map((p) => p.orderId))].slice(0, 40);
  const orders = await Promise.all(ids.map((id) => api<Order>(`/api/orders/${id}`, { signal }).catch(() => null)));
  return orders.filter((o): o is Order => o !== null);
}

export function OpsOrders() {
  const [tick, setTick] = useState(0);
  const orders = useApi((signal) => recentOrders(signal), [tick]);
  const [lookup, setLookup] = useState<string | null>(null);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 5000);
    return () => clearInterval(timer);
  }, []);
  const refresh = () => setTick((t) => t + 1);

  const open = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const id = String(new FormData(event.currentTarget).get('id') ?? '').trim();
    setLookup(id || null);
  };

  return (
    <>
      <PageTitle>Orders</PageTitle>
      <form onSubmit={open} className="inline" aria-label="Open an order">
        <label>
          Order id <input name="id" placeholder="01a2…" size={38} />
        </label>
        <button type="submit">Open</button>
      </form>
      {lookup && <OrderLookup id={lookup} onChange={refresh} />}
      <ErrorMessage error={orders.error} />
      {!orders.data && orders.loading && <Loading />}
      {orders.data &&
        QUEUES.map((q) => {
          const items = orders.data!.filter((o) => o.state === q.state);
          return (
            <section key={q.state} aria-labelledby={`queue-${q.state}`} className="queue">
              <h2 id={`queue-${q.state}`}>
                {q.title} <span className="count">({items.length})</span>
              </h2>
              {items.length === 0 ? (
                <p className="muted">None.</p>
              ) : (
                <ul className="ops-orders">
                  {items.map((o) => (
                    <OpsOrderRow key={o.id} order={o} onChange={refresh} />
                  ))}
                </ul>
              )}
            </section>
          );
        })}
    </>
  );
}

function OrderLookup({ id, onChange }: { id: string; onChange: () => void }) {
  const order = useApi((signal) => api<Order>(`/api/orders/${encodeURIComponent(id)}`, { signal }), [id]);
  if (order.loading && !order.data) return <Loading />;
  if (order.error) return <ErrorMessage error={order.error} />;
  return order.data ? (
    <ul className="ops-orders">
      <OpsOrderRow order={order.data} onChange={() => { order.reload(); onChange(); }} />
    </ul>
  ) : null;
}

function OpsOrderRow({ order, onChange }: { order: Order; onChange: () => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const act = async (path: string, body?: unknown) => {
    setBusy(true);
    setError(undefined);
    try {
      await api<Order>(`/api/orders/${order.id}/${path}`, { method: 'POST', body });
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const ship = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    void act('ship', { carrier: String(form.get('carrier')), trackingNumber: String(form.get('trackingNumber')) });
  };
  return (
    <li className="ops-order" data-testid={`ops-order-${order.number}`}>
      <div className="ops-order-head">
        <strong>{order.number}</strong> <span className={`state state-${order.state}`}>{STATE_LABELS[order.state]}</span>{' '}
        <MoneyText money={order.total} /> · {order.lines.reduce((n, l) => n + l.quantity, 0)} items ·{' '}
        {order.shippingMethod} to {order.shippingAddress.city}, {order.shippingAddress.country} · {formatDate(order.placedAt)}
        {order.trackingNumber && (
          <>
            {' '}
            · {order.carrier} {order.trackingNumber}
          </>
        )}
      </div>
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
      </div>
      <ErrorMessage error={error} />
    </li>
  );
}

/** Every SKU the catalog sells, with its product: the inventory API has no list of SKUs. */
async function catalogSkus(signal: AbortSignal): Promise<{ sku: string; product: ProductDetail }[]> {
  const products: ProductDetail[] = [];
  let cursor: string | null | undefined;
  do {
    const page: ProductPage = await api<ProductPage>(
      `/api/catalog/products?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      { signal },
    );
    products.push(
      ...(await Promise.all(page.items.map((p) => api<ProductDetail>(`/api/catalog/products/${p.slug}`, { signal })))),
    );
    cursor = page.nextCursor;
  } while (cursor);
  return products.flatMap((product) => product.variants.map((v) => ({ sku: v.sku, product })));
}

async function stockOf(signal: AbortSignal) {
  const skus = await catalogSkus(signal);
  const stock = await Promise.all(
    skus.map((s) => api<SkuStock>(`/api/inventory/stock/${encodeURIComponent(s.sku)}`, { signal })),
  );
  return skus.map((s, i) => ({ ...s, stock: stock[i] }));
}

export function isLow(stock: SkuStock): boolean {
  return stock.lowStockThreshold != null && stock.available <= stock.lowStockThreshold;
}

export function OpsStock() {
  const rows = useApi((signal) => stockOf(signal), []);
  const [open, setOpen] = useState<string | null>(null);
  const low = (rows.data ?? []).filter((r) => isLow(r.stock));
  return (
    <>
      <PageTitle>Stock</PageTitle>
      <ErrorMessage error={rows.error} />
      {rows.loading && !rows.data && <Loading />}
      {rows.data && (
        <>
          <section aria-labelledby="low-stock">
            <h2 id="low-stock">Low stock</h2>
            {low.length === 0 ? (
              <p className="muted">No SKU is at or below its low-stock threshold.</p>
            ) : (
              <ul>
                {low.map((r) => (
                  <li key={r.sku}>
                    <strong>{r.sku}</strong> ({r.product.title}): {r.stock.available} available, threshold{' '}
                    {r.stock.lowStockThreshold}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <table className="stock-table">
            <caption>Stock per SKU and location</caption>
            <thead>
              <tr>
                <th scope="col">SKU</th>
                <th scope="col">Location</th>
                <th scope="col" className="num">On hand</th>
                <th scope="col" className="num">Reserved</th>
                <th scope="col" className="num">Available</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.data.map((r) =>
                r.stock.locations.map((l, i) => (
                  <tr key={`${r.sku}-${l.location}`} className={isLow(r.stock) ? 'low' : ''}>
                    {i === 0 && (
                      <th scope="row" rowSpan={r.stock.locations.length}>
                        {r.sku}
                        <span className="line-sku">{r.product.title}</span>
                        {r.stock.lowStockThreshold != null && (
                          <span className="line-sku">threshold {r.stock.lowStockThreshold}</span>
                        )}
                      </th>
                    )}
                    <td>{l.location}</td>
                    <td className="num">{l.onHand}</td>
                    <td className="num">{l.reserved}</td>
                    <td className="num">{l.available}</td>
                    <td>
                      <button
                        type="button"
                        className="link-button"
                        aria-expanded={open === `${r.sku}|${l.location}`}
                        onClick={() => setOpen(open === `${r.sku}|${l.location}` ? null : `${r.sku}|${l.location}`)}
                      >
                        Adjust<span className="visually-hidden"> {r.sku} at {l.location}</span>
                      </button>
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
          {open && <AdjustPanel key={open} target={open} onDone={rows.reload} />}
        </>
      )}
    </>
  );
}

function AdjustPanel({ target, onDone }: { target: string; onDone: () => void }) {
  const [sku, location] = target.split('|');
  const [namespace, name] = location.split('/');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string | null>(null);
  const trail = useApi(
    (signal) => api<Adjustment[]>(`/api/inventory/adjustments?sku=${encodeURIComponent(sku)}&limit=10`, { signal }),
    [sku, done],
  );

  const adjust = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setError(undefined);
    setDone(null);
    try {
      await api(
        `/api/inventory/stock/${encodeURIComponent(sku)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/adjustments`,
        { method: 'POST', body: { delta: Number(data.get('delta')), reason: String(data.get('reason')).trim() } },
      );
      setDone(`Adjusted ${sku} at ${location}.`);
      form.reset();
      onDone();
    } catch (e) {
      setError(e);
    }
  };

  const threshold = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const value = String(data.get('threshold')).trim();
    setError(undefined);
    setDone(null);
    try {
      await api(`/api/inventory/thresholds/${encodeURIComponent(sku)}`, {
        method: 'PUT',
        body: { threshold: value === '' ? null : Number(value), reason: String(data.get('reason')).trim() },
      });
      setDone(`Low-stock threshold of ${sku} saved.`);
      onDone();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section className="adjust" aria-labelledby="adjust-heading">
      <h2 id="adjust-heading">
        Adjust {sku} at {location}
      </h2>
      {done && <Notice tone="success">{done}</Notice>}
      <ErrorMessage error={error} />
      <form onSubmit={adjust} className="inline">
        <label>
          Change (units, e.g. 5 or -2) <input name="delta" type="number" required step={1} />
        </label>
        <label>
          Reason <input name="reason" required minLength={3} placeholder="cycle count, damaged…" />
        </label>
        <button type="submit">Apply adjustment</button>
      </form>
      <form onSubmit={threshold} className="inline">
        <label>
          Low-stock threshold (empty clears) <input name="threshold" type="number" min={0} />
        </label>
        <label>
          Reason <input name="reason" required minLength={3} />
        </label>
        <button type="submit">Save threshold</button>
      </form>
      <h3>Recent changes (audit trail)</h3>
      <ErrorMessage error={trail.error} />
      <ul className="trail">
        {(trail.data ?? []).map((a) => (
          <li key={a.id}>
            {formatDate(a.occurredAt)} · {a.kind} {a.location ?? ''} {a.before ?? ''}→{a.after ?? ''} · “{a.reason}”
          </li>
        ))}
      </ul>
    </section>
  );
}

export function OpsCatalog() {
  const skus = useApi((signal) => catalogSkus(signal), []);
  const products = [...new Map((skus.data ?? []).map((s) => [s.product.slug, s.product])).values()];
  return (
    <>
      <PageTitle>Catalog (read-only)</PageTitle>
      <p>
        Merchandising happens in Kubernetes: products, stores, fulfillments and promotions are resources in the
        shop's namespace (<code>kubectl get bazaar -A</code>), projected into the catalog by the operator. The
        catalog API does not say which resource each product came from, so edit them with{' '}
        <code>kubectl edit product &lt;name&gt;</code>.
      </p>
      <ErrorMessage error={skus.error} />
      {skus.loading && !skus.data && <Loading />}
      <table className="stock-table">
        <caption>Products and variants</caption>
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col">SKU</th>
            <th scope="col">Options</th>
            <th scope="col">Prices</th>
          </tr>
        </thead>
        <tbody>
          {products.flatMap((p) =>
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
                <td>{Object.entries(v.options).map(([k, val]) => `${k}: ${val}`).join(', ')}</td>
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
    </>
  );
}
