// Ops: stock per SKU and location (filtered by SKU prefix and location, paged), the low-stock list, and the
// audited changes (adjust by a number of units, set the counted units on hand, the low-stock threshold),
// each with a required reason.
import { useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorMessage, Loading, Notice, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { formatDate } from '../format';
import {
  adjustStock,
  locations,
  lowStock,
  setOnHand,
  setThreshold,
  skuStock,
  stockChanges,
  stockLevels,
  titlesBySku,
  type StockFilters,
} from './api';
import type { StockLevel } from './types';

interface Target {
  sku: string;
  /** Null for a SKU to stock at a location of one's choice. */
  location: string | null;
}

export default function OpsStock() {
  const [params, setParams] = useSearchParams();
  const filters: StockFilters = { skuPrefix: params.get('sku') ?? undefined, location: params.get('location') ?? undefined };
  const key = params.toString();
  const [rows, setRows] = useState<StockLevel[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const low = useApi((signal) => lowStock(signal), [tick]);
  const titles = useApi((signal) => titlesBySku(signal), []);
  const places = useApi((signal) => locations(signal), []);
  const [open, setOpen] = useState<Target | null>(null);

  const load = async (after: string | null, signal?: AbortSignal) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await stockLevels(filters, after, signal);
      if (signal?.aborted) return;
      setRows((list) => (after ? [...list, ...page.items] : page.items));
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      if (!signal?.aborted) setError(e);
    } finally {
      if (!signal?.aborted) setLoading(false);
    }
  };
  useEffect(() => {
    const controller = new AbortController();
    void load(null, controller.signal);
    return () => controller.abort();
  }, [key, tick]); // eslint-disable-line react-hooks/exhaustive-deps

  const changed = () => setTick((t) => t + 1);
  const lowSkus = new Set((low.data ?? []).map((l) => l.sku));
  const title = (sku: string) => titles.data?.[sku];
  const isOpen = (t: Target) => open?.sku === t.sku && open.location === t.location;
  const toggle = (t: Target) => setOpen(isOpen(t) ? null : t);

  const filter = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    const sku = String(data.get('sku') ?? '').trim();
    const location = String(data.get('location') ?? '');
    if (sku) next.set('sku', sku);
    if (location) next.set('location', location);
    setParams(next, { replace: true });
  };
  const stockNew = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const sku = String(new FormData(event.currentTarget).get('sku') ?? '').trim();
    if (sku) setOpen({ sku, location: null });
  };

  // Rows of one SKU are next to each other (the API sorts by SKU, then location).
  const groups: StockLevel[][] = [];
  for (const row of rows) {
    const last = groups.at(-1);
    if (last && last[0].sku === row.sku) last.push(row);
    else groups.push([row]);
  }

  return (
    <>
      <PageTitle>Stock</PageTitle>
      <section aria-labelledby="low-stock" className="low-stock">
        <h2 id="low-stock">Low stock</h2>
        <ErrorMessage error={low.error} />
        {low.loading && !low.data && <Loading />}
        {low.data && low.data.length === 0 && <p className="muted">No SKU is at or below its low-stock threshold.</p>}
        {low.data && low.data.length > 0 && (
          <ul>
            {low.data.map((l) => (
              <li key={l.sku}>
                <strong>{l.sku}</strong>
                {title(l.sku) && <> ({title(l.sku)})</>}: {l.available} available, threshold {l.threshold}{' '}
                <button type="button" className="link-button" onClick={() => setOpen({ sku: l.sku, location: null })}>
                  Restock<span className="visually-hidden"> {l.sku}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>

      <div className="ops-toolbar">
        <form key={key} onSubmit={filter} className="inline" aria-label="Filter the stock">
          <label>
            SKU starts with <input name="sku" defaultValue={filters.skuPrefix} size={12} />
          </label>
          <label>
            Location{' '}
            <select name="location" defaultValue={filters.location ?? ''}>
              <option value="">Every location</option>
              {(places.data ?? []).map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Filter</button>
        </form>
        <form onSubmit={stockNew} className="inline" aria-label="Count a SKU at a location">
          <label>
            Any SKU <input name="sku" required size={12} placeholder="HL-400" />
          </label>
          <button type="submit" className="secondary">
            Count or set threshold
          </button>
        </form>
      </div>

      {open && <AdjustPanel key={`${open.sku}|${open.location}`} target={open} onDone={changed} onClose={() => setOpen(null)} />}

      <ErrorMessage error={error} />
      {loading && rows.length === 0 && <Loading />}
      {!loading && !error && rows.length === 0 && <p className="muted">No stock matches.</p>}
      {rows.length > 0 && (
        <table className="stock-table" tabIndex={0}>
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
            {groups.map((group) =>
              group.map((l, i) => (
                <tr key={`${l.sku}-${l.location}`} className={lowSkus.has(l.sku) ? 'low' : ''}>
                  {i === 0 && (
                    <th scope="row" rowSpan={group.length}>
                      {l.sku}
                      {title(l.sku) && <span className="line-sku">{title(l.sku)}</span>}
                      {lowSkus.has(l.sku) && <span className="badge-low">low</span>}
                    </th>
                  )}
                  <td>
                    {l.location}
                    {!l.canShip && <span className="line-sku">does not ship online orders</span>}
                  </td>
                  <td className="num">{l.onHand}</td>
                  <td className="num">{l.reserved}</td>
                  <td className="num">{l.available}</td>
                  <td>
                    <button
                      type="button"
                      className="link-button"
                      aria-expanded={isOpen({ sku: l.sku, location: l.location })}
                      onClick={() => toggle({ sku: l.sku, location: l.location })}
                    >
                      Adjust<span className="visually-hidden"> {l.sku} at {l.location}</span>
                    </button>
                  </td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)} disabled={loading}>
          Show more stock
        </button>
      )}
    </>
  );
}

/** The changes of one SKU at one location (or, with no location, at a location to choose). */
export function AdjustPanel({ target, onDone, onClose }: { target: Target; onDone: () => void; onClose: () => void }) {
  const { sku, location } = target;
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string | null>(null);
  const trail = useApi((signal) => stockChanges(sku, signal), [sku, done]);
  const stock = useApi((signal) => skuStock(sku, signal), [sku, done]);
  const places = useApi((signal) => (location ? Promise.resolve([]) : locations(signal)), [location]);

  const submit =
    (change: (data: FormData) => Promise<unknown>, message: (data: FormData) => string) =>
    async (event: FormEvent<HTMLFormElement>) => {
      event.preventDefault();
      const form = event.currentTarget;
      const data = new FormData(form);
      setError(undefined);
      setDone(null);
      try {
        await change(data);
        setDone(message(data));
        form.reset();
        onDone();
      } catch (e) {
        setError(e);
      }
    };
  const reason = (data: FormData) => String(data.get('reason') ?? '').trim();
  const where = (data: FormData) => location ?? String(data.get('location'));
  const threshold = stock.data?.lowStockThreshold;

  return (
    <section className="adjust" aria-labelledby="adjust-heading">
      <h2 id="adjust-heading">{location ? `Adjust ${sku} at ${location}` : `Stock of ${sku}`}</h2>
      {stock.data && (
        <p className="muted">
          {stock.data.available} available over all locations; low-stock threshold{' '}
          {threshold == null ? 'not set' : threshold}.
        </p>
      )}
      {done && <Notice tone="success">{done}</Notice>}
      <ErrorMessage error={error} />
      {location && (
        <form
          onSubmit={submit(
            (d) => adjustStock(sku, location, Number(d.get('delta')), reason(d)),
            () => `Adjusted ${sku} at ${location}.`,
          )}
          className="inline"
          aria-label="Adjust by a number of units"
        >
          <label>
            Change (units, e.g. 5 or -2) <input name="delta" type="number" required step={1} />
          </label>
          <label>
            Reason for the adjustment{' '}
            <input name="reason" required minLength={3} maxLength={500} placeholder="damaged, found…" />
          </label>
          <button type="submit">Apply adjustment</button>
        </form>
      )}
      <form
        onSubmit={submit(
          (d) => setOnHand(sku, where(d), Number(d.get('onHand')), reason(d)),
          (d) => `Counted ${String(d.get('onHand'))} of ${sku} on hand at ${where(d)}.`,
        )}
        className="inline"
        aria-label="Set the counted units on hand"
      >
        {!location && (
          <label>
            Location{' '}
            <select name="location" required>
              {(places.data ?? []).map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          Counted on hand <input name="onHand" type="number" required min={0} step={1} />
        </label>
        <label>
          Reason for the count <input name="reason" required minLength={3} maxLength={500} placeholder="cycle count" />
        </label>
        <button type="submit">Set on hand</button>
      </form>
      <form
        onSubmit={submit(
          (d) => {
            const value = String(d.get('threshold') ?? '').trim();
            return setThreshold(sku, value === '' ? null : Number(value), reason(d));
          },
          () => `Low-stock threshold of ${sku} saved.`,
        )}
        className="inline"
        aria-label="Low-stock threshold"
      >
        <label>
          Low-stock threshold (empty clears) <input name="threshold" type="number" min={0} step={1} />
        </label>
        <label>
          Reason for the threshold{' '}
          <input name="reason" required minLength={3} maxLength={500} placeholder="reorder point" />
        </label>
        <button type="submit">Save threshold</button>
      </form>
      <h3>Recent changes of {sku}</h3>
      <ErrorMessage error={trail.error} />
      {trail.data && trail.data.length === 0 && <p className="muted">None yet.</p>}
      <ul className="trail">
        {(trail.data ?? []).map((a) => (
          <li key={a.id}>
            {formatDate(a.occurredAt)} · {a.kind === 'threshold' ? 'threshold' : `${a.kind} at ${a.location ?? '?'}`}:{' '}
            {a.before ?? 'none'} → {a.after ?? 'none'} · “{a.reason}”
          </li>
        ))}
      </ul>
      <button type="button" className="link-button" onClick={onClose}>
        Close
      </button>
    </section>
  );
}
