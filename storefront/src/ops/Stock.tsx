// Ops: stock per SKU and location, the low-stock list, and the audited changes (adjust by a number of
// units, set the counted units on hand, the low-stock threshold), each with a required reason.
import { useState, type FormEvent } from 'react';
import { ErrorMessage, Loading, Notice, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { formatDate } from '../format';
import { adjustStock, isLow, locations, setOnHand, setThreshold, stockChanges, stockRows, type StockRow } from './api';

export default function OpsStock() {
  const rows = useApi((signal) => stockRows(signal), []);
  const [open, setOpen] = useState<{ sku: string; location: string | null } | null>(null);
  const [filter, setFilter] = useState('');
  const wanted = filter.trim().toLowerCase();
  const shown = (rows.data ?? []).filter(
    (r) =>
      !wanted ||
      r.sku.toLowerCase().includes(wanted) ||
      (r.product?.title.toLowerCase().includes(wanted) ?? false) ||
      r.stock.locations.some((l) => l.location.toLowerCase().includes(wanted)),
  );
  const low = (rows.data ?? []).filter((r) => isLow(r.stock));
  const isOpen = (sku: string, location: string | null) => open?.sku === sku && open.location === location;
  const toggle = (sku: string, location: string | null) => setOpen(isOpen(sku, location) ? null : { sku, location });

  return (
    <>
      <PageTitle>Stock</PageTitle>
      <ErrorMessage error={rows.error} />
      {rows.loading && !rows.data && <Loading />}
      {rows.data && (
        <>
          <section aria-labelledby="low-stock" className="low-stock">
            <h2 id="low-stock">Low stock</h2>
            {low.length === 0 ? (
              <p className="muted">No SKU is at or below its low-stock threshold.</p>
            ) : (
              <ul>
                {low.map((r) => (
                  <li key={r.sku}>
                    <strong>{r.sku}</strong>
                    {r.product && <> ({r.product.title})</>}: {r.stock.available} available, threshold{' '}
                    {r.stock.lowStockThreshold}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <div className="ops-toolbar">
            <label>
              Filter by SKU, product or location{' '}
              <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
            </label>
            <button type="button" className="link-button" onClick={rows.reload} disabled={rows.loading}>
              Refresh stock
            </button>
          </div>
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
              {shown.map((r) =>
                r.stock.locations.length === 0 ? (
                  <tr key={r.sku} className={isLow(r.stock) ? 'low' : ''}>
                    <SkuHeader row={r} span={1} />
                    <td colSpan={4} className="muted">
                      Not stocked anywhere
                    </td>
                    <td>
                      <AdjustButton sku={r.sku} location={null} open={isOpen(r.sku, null)} onClick={() => toggle(r.sku, null)} />
                    </td>
                  </tr>
                ) : (
                  r.stock.locations.map((l, i) => (
                    <tr key={`${r.sku}-${l.location}`} className={isLow(r.stock) ? 'low' : ''}>
                      {i === 0 && <SkuHeader row={r} span={r.stock.locations.length} />}
                      <td>
                        {l.location}
                        {!l.canShip && <span className="line-sku">does not ship online orders</span>}
                      </td>
                      <td className="num">{l.onHand}</td>
                      <td className="num">{l.reserved}</td>
                      <td className="num">{l.available}</td>
                      <td>
                        <AdjustButton
                          sku={r.sku}
                          location={l.location}
                          open={isOpen(r.sku, l.location)}
                          onClick={() => toggle(r.sku, l.location)}
                        />
                      </td>
                    </tr>
                  ))
                ),
              )}
            </tbody>
          </table>
          {shown.length === 0 && <p className="muted">No SKU matches “{filter}”.</p>}
          {open && (
            <AdjustPanel
              key={`${open.sku}|${open.location}`}
              sku={open.sku}
              location={open.location}
              onDone={rows.reload}
            />
          )}
        </>
      )}
    </>
  );
}

function SkuHeader({ row, span }: { row: StockRow; span: number }) {
  return (
    <th scope="row" rowSpan={span}>
      {row.sku}
      {row.product && <span className="line-sku">{row.product.title}</span>}
      {row.stock.lowStockThreshold != null && <span className="line-sku">threshold {row.stock.lowStockThreshold}</span>}
      {isLow(row.stock) && <span className="badge-low">low</span>}
    </th>
  );
}

function AdjustButton({ sku, location, open, onClick }: { sku: string; location: string | null; open: boolean; onClick: () => void }) {
  return (
    <button type="button" className="link-button" aria-expanded={open} onClick={onClick}>
      {location ? 'Adjust' : 'Stock it'}
      <span className="visually-hidden">
        {' '}
        {sku}
        {location && ` at ${location}`}
      </span>
    </button>
  );
}

/** The changes of one SKU at one location (or, for a SKU stocked nowhere, at a location to choose). */
export function AdjustPanel({ sku, location, onDone }: { sku: string; location: string | null; onDone: () => void }) {
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string | null>(null);
  const trail = useApi((signal) => stockChanges(sku, signal), [sku, done]);
  const places = useApi((signal) => (location ? Promise.resolve([]) : locations(signal)), [location]);

  const submit = (change: (data: FormData) => Promise<unknown>, message: (data: FormData) => string) =>
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

  return (
    <section className="adjust" aria-labelledby="adjust-heading">
      <h2 id="adjust-heading">
        {location ? `Adjust ${sku} at ${location}` : `Stock ${sku}`}
      </h2>
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
            Reason for the adjustment <input name="reason" required minLength={3} maxLength={500} placeholder="damaged, found…" />
          </label>
          <button type="submit">Apply adjustment</button>
        </form>
      )}
      <form
        onSubmit={submit(
          (d) => setOnHand(sku, where(d), Number(d.get('onHand')), reason(d)),
          (d) => `Counted ${d.get('onHand')} of ${sku} on hand at ${where(d)}.`,
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
          Reason for the threshold <input name="reason" required minLength={3} maxLength={500} placeholder="reorder point" />
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
    </section>
  );
}
