// Admin: the audit trail of staff actions, read-only. Every component that owns staff actions keeps its own
// trail (`GET /api/<component>/audit`, admins only); this page asks them all with the same filters (who,
// what, outcome, resource, time range) and merges the answers newest first. Nothing here can change a row:
// the API has no route that would.
import { useEffect, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { ErrorMessage, Loading, PageTitle } from '../components/ui';
import { formatDate } from '../format';
import { useSession } from '../state/session';
import { AUDITED_COMPONENTS, auditPage, userByEmail, type AuditCursors, type AuditFilters } from './api';
import { RequireRole } from './OpsLayout';
import type { AuditRow } from './types';

/** Actions the components record, offered as suggestions for the action filter. */
const KNOWN_ACTIONS = [
  'order.pack',
  'order.ship',
  'order.deliver',
  'order.cancel',
  'stock.set',
  'stock.adjust',
  'location.put',
  'role.grant',
  'role.revoke',
  'signing_key.rotate',
  'review.hide',
  'review.publish',
];

const FILTER_KEYS = ['component', 'who', 'action', 'outcome', 'resourceId', 'since', 'until'] as const;
type FilterForm = Partial<Record<(typeof FILTER_KEYS)[number], string>>;

export default function OpsAudit() {
  return (
    <RequireRole roles={['admin']} what="The audit trail">
      <AuditTrail />
    </RequireRole>
  );
}

/** A `datetime-local` value (the browser's time zone) as RFC 3339, or undefined. */
function instant(local: string | undefined): string | undefined {
  if (!local) return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function AuditTrail() {
  const [params, setParams] = useSearchParams();
  const form: FilterForm = Object.fromEntries(FILTER_KEYS.map((k) => [k, params.get(k) ?? undefined]));
  const key = params.toString();
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [cursors, setCursors] = useState<AuditCursors>({});
  const [filters, setFilters] = useState<AuditFilters | null>(null);
  // E-mail addresses known for user ids (the trails record ids): the one the "who" filter was resolved from.
  const [names, setNames] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const components = form.component ? [form.component] : AUDITED_COMPONENTS;

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    setRows([]);
    (async () => {
      // "Who" may be an e-mail address, which the identity API turns into the user id the trails record.
      let actor = form.who?.trim() || undefined;
      if (actor?.includes('@')) {
        const found = await userByEmail(actor, controller.signal);
        actor = found.id;
        setNames((n) => ({ ...n, [found.id]: found.email }));
      }
      const wanted: AuditFilters = {
        actor,
        action: form.action?.trim() || undefined,
        outcome: form.outcome || undefined,
        resourceId: form.resourceId?.trim() || undefined,
        since: instant(form.since),
        until: instant(form.until),
      };
      const page = await auditPage(components, wanted, null, controller.signal);
      if (controller.signal.aborted) return;
      setFilters(wanted);
      setRows(page.rows);
      setCursors(page.cursors);
    })()
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  const older = async () => {
    if (!filters) return;
    setLoading(true);
    try {
      const page = await auditPage(components, filters, cursors);
      setRows((r) => [...r, ...page.rows].sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt) || b.id.localeCompare(a.id)));
      setCursors(page.cursors);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const k of FILTER_KEYS) {
      const value = String(data.get(k) ?? '').trim();
      if (value) next.set(k, value);
    }
    setParams(next);
  };

  return (
    <>
      <PageTitle>Audit trail</PageTitle>
      <p className="muted">
        Staff actions recorded by each component in the same transaction as the change, refusals included.
        Read-only: no one can change or delete a row.
      </p>
      <form key={key} onSubmit={apply} className="audit-filters" aria-label="Filter the audit trail">
        <label>
          Component{' '}
          <select name="component" defaultValue={form.component ?? ''}>
            <option value="">All</option>
            {AUDITED_COMPONENTS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Who (e-mail or user id) <input name="who" defaultValue={form.who} size={28} />
        </label>
        <label>
          Action <input name="action" list="audit-actions" defaultValue={form.action} placeholder="order.ship" size={16} />
        </label>
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
        <label>
          Outcome{' '}
          <select name="outcome" defaultValue={form.outcome ?? ''}>
            <option value="">Any</option>
            <option value="succeeded">Succeeded</option>
            <option value="refused">Refused</option>
            <option value="failed">Failed</option>
          </select>
        </label>
        <label>
          Resource id <input name="resourceId" defaultValue={form.resourceId} size={24} />
        </label>
        <label>
          From <input name="since" type="datetime-local" defaultValue={form.since} />
        </label>
        <label>
          Until <input name="until" type="datetime-local" defaultValue={form.until} />
        </label>
        <button type="submit">Apply filters</button>
      </form>
      <ErrorMessage error={error} />
      {loading && rows.length === 0 && <Loading />}
      {!loading && !error && rows.length === 0 && <p className="muted">No recorded action matches.</p>}
      {rows.length > 0 && (
        // Focusable: on a narrow screen the table scrolls sideways, which keyboards must be able to do.
        <table className="stock-table audit-table" tabIndex={0}>
          <caption>Recorded staff actions, newest first ({rows.length} shown)</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Resource</th>
              <th scope="col">Outcome</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <AuditRowView key={`${row.component}-${row.id}`} row={row} names={names} />
            ))}
          </tbody>
        </table>
      )}
      {Object.keys(cursors).length > 0 && (
        <button type="button" onClick={() => void older()} disabled={loading}>
          Show older actions
        </button>
      )}
    </>
  );
}

function AuditRowView({ row, names }: { row: AuditRow; names: Record<string, string> }) {
  const { user } = useSession();
  const who =
    row.actor === user?.id ? `you (${user.email})` : names[row.actor] ? names[row.actor] : null;
  return (
    <tr data-testid={`audit-${row.action}`} className={`outcome-${row.outcome}`}>
      <td>
        <time dateTime={row.occurredAt}>{formatDate(row.occurredAt)}</time>
      </td>
      <td>
        {who ?? <code className="resource-id">{row.actor}</code>}
        {row.actorRoles.length > 0 && <span className="line-sku">{row.actorRoles.join(', ')}</span>}
      </td>
      <td>
        <code>{row.action}</code>
        <span className="line-sku">{row.component}</span>
      </td>
      <td>
        {row.resourceType} <code className="resource-id">{row.resourceId}</code>
      </td>
      <td>
        <span className={`outcome outcome-${row.outcome}`}>{row.outcome}</span>
        {row.detail && <span className="line-sku">{row.detail}</span>}
      </td>
      <td>
        <ChangeView before={row.before} after={row.after} />
        {row.requestId && <span className="line-sku">request {row.requestId}</span>}
      </td>
    </tr>
  );
}

/** A value as a person reads it: text as is, nothing as "none", structures as compact JSON. */
export function readable(value: unknown): string {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Before and after side by side, field by field: "state: confirmed → packed", unchanged fields plain. */
export function ChangeView({ before, after }: { before: unknown; after: unknown }) {
  if (before == null && after == null) return <span className="muted">—</span>;
  if ((before == null || isRecord(before)) && (after == null || isRecord(after))) {
    const b = (before ?? {}) as Record<string, unknown>;
    const a = (after ?? {}) as Record<string, unknown>;
    // Fields empty on both sides (a pack's carrier) say nothing.
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => b[k] != null || a[k] != null);
    return (
      <dl className="change">
        {keys.map((k) => {
          const from = readable(b[k]);
          const to = readable(a[k]);
          return (
            <div key={k}>
              <dt>{k}:</dt>
              <dd>{from === to ? from : `${k in b ? from : 'none'} → ${k in a ? to : 'none'}`}</dd>
            </div>
          );
        })}
      </dl>
    );
  }
  return (
    <span>
      {readable(before)} → {readable(after)}
    </span>
  );
}
