// What the ops console reads from the public API, one function per question, so that each page says what it
// shows and not how the API happens to offer it.
import { api } from '../api/client';
import type { Adjustment, Order, OrderPage, OrderState, SkuStock } from '../api/types';
import type {
  AuditPage,
  AuditRow,
  LowStock,
  LowStockPage,
  ModerationQueue,
  StaffProductPage,
  StaffReviewPage,
  StockLevelPage,
  StockLocation,
} from './types';

const q = encodeURIComponent;

// ---------------------------------------------------------------------------------------------------------
// Orders

/** Every shopper's orders in `state`, newest first (`GET /api/orders?all=true`, staff only). */
export function ordersIn(state: OrderState, limit: number, cursor: string | null, signal?: AbortSignal) {
  const params = new URLSearchParams({ all: 'true', state, limit: String(limit) });
  if (cursor) params.set('cursor', cursor);
  return api<OrderPage>(`/api/orders?${params}`, { signal });
}

/** The first page of each state's orders, asked at once. */
export async function ordersByState(
  states: OrderState[],
  limit: number,
  signal: AbortSignal,
): Promise<Partial<Record<OrderState, OrderPage>>> {
  const pages = await Promise.all(states.map((state) => ordersIn(state, limit, null, signal)));
  return Object.fromEntries(states.map((state, i) => [state, pages[i]]));
}

export const orderById = (id: string, signal: AbortSignal) => api<Order>(`/api/orders/${q(id)}`, { signal });

/** A warehouse step or a cancellation on the shopper's behalf; the order as it is afterwards. */
export function orderAction(id: string, step: 'pack' | 'ship' | 'deliver' | 'cancel', body?: unknown) {
  return api<Order>(`/api/orders/${q(id)}/${step}`, { method: 'POST', body });
}

// ---------------------------------------------------------------------------------------------------------
// Catalog and stock

/** A page of every product whatever its lifecycle, with the resource it came from (staff). */
export function staffProducts(lifecycle: string | null, cursor: string | null, signal?: AbortSignal) {
  const params = new URLSearchParams({ limit: '100' });
  if (lifecycle) params.set('lifecycle', lifecycle);
  if (cursor) params.set('cursor', cursor);
  return api<StaffProductPage>(`/api/catalog/staff/products?${params}`, { signal });
}

export interface StockFilters {
  /** Only SKUs starting with this (literally). */
  skuPrefix?: string;
  /** Only this location, `namespace/name`. */
  location?: string;
}

/** A page of stock per SKU and location, by SKU then location (ops). */
export function stockLevels(filters: StockFilters, cursor: string | null, signal?: AbortSignal) {
  const params = new URLSearchParams({ limit: '200' });
  if (filters.skuPrefix) params.set('skuPrefix', filters.skuPrefix);
  if (filters.location) params.set('location', filters.location);
  if (cursor) params.set('cursor', cursor);
  return api<StockLevelPage>(`/api/inventory/stock?${params}`, { signal });
}

/** Every SKU at or below its low-stock threshold (all pages; the list is short by nature). */
export async function lowStock(signal: AbortSignal): Promise<LowStock[]> {
  const all: LowStock[] = [];
  let cursor: string | null | undefined;
  do {
    const page: LowStockPage = await api<LowStockPage>(
      `/api/inventory/low-stock?limit=200${cursor ? `&cursor=${q(cursor)}` : ''}`,
      { signal },
    );
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** One SKU's stock at every location, with its low-stock threshold. */
export const skuStock = (sku: string, signal: AbortSignal) => api<SkuStock>(`/api/inventory/stock/${q(sku)}`, { signal });

/** Product titles by SKU, from the staff catalog (every lifecycle); empty if it cannot be read. */
export async function titlesBySku(signal: AbortSignal): Promise<Record<string, string>> {
  const titles: Record<string, string> = {};
  let cursor: string | null | undefined;
  try {
    do {
      const page = await staffProducts(null, cursor ?? null, signal);
      for (const p of page.items) for (const sku of p.skus) titles[sku] = p.title;
      cursor = page.nextCursor;
    } while (cursor);
  } catch {
    // Titles only help reading the stock list; the stock stands without them.
  }
  return titles;
}

/** The latest audited stock and threshold changes of a SKU, newest first. */
export const stockChanges = (sku: string, signal: AbortSignal) =>
  api<Adjustment[]>(`/api/inventory/adjustments?sku=${q(sku)}&limit=10`, { signal });

export const locations = (signal: AbortSignal) => api<StockLocation[]>('/api/inventory/locations', { signal });

/** `namespace/name` of a location as the two path segments the inventory API wants. */
function locationPath(location: string): string {
  const [namespace, name] = location.split('/');
  return `${q(namespace)}/${q(name ?? '')}`;
}

export function adjustStock(sku: string, location: string, delta: number, reason: string) {
  return api(`/api/inventory/stock/${q(sku)}/${locationPath(location)}/adjustments`, {
    method: 'POST',
    body: { delta, reason },
  });
}

export function setOnHand(sku: string, location: string, onHand: number, reason: string) {
  return api(`/api/inventory/stock/${q(sku)}/${locationPath(location)}`, { method: 'PUT', body: { onHand, reason } });
}

export function setThreshold(sku: string, threshold: number | null, reason: string) {
  return api(`/api/inventory/thresholds/${q(sku)}`, { method: 'PUT', body: { threshold, reason } });
}

// ---------------------------------------------------------------------------------------------------------
// Reviews

export function moderationQueue(queue: ModerationQueue, cursor: string | null, signal?: AbortSignal) {
  return api<StaffReviewPage>(`/api/reviews/moderation?queue=${queue}&limit=20${cursor ? `&cursor=${q(cursor)}` : ''}`, {
    signal,
  });
}

export const hideReview = (id: string, reason: string) =>
  api(`/api/reviews/${q(id)}/hide`, { method: 'POST', body: { reason } });

export const publishReview = (id: string) => api(`/api/reviews/${q(id)}/publish`, { method: 'POST' });

// ---------------------------------------------------------------------------------------------------------
// Audit trail

/** The components that keep an audit trail of staff actions (`GET /api/<component>/audit`). */
export const AUDITED_COMPONENTS = ['order', 'inventory', 'identity', 'payment', 'review'] as const;

export interface AuditFilters {
  /** A user id (the API's `actor`). */
  actor?: string;
  action?: string;
  outcome?: string;
  resourceId?: string;
  /** RFC 3339. */
  since?: string;
  until?: string;
}

/** Next-page cursors per component; a component missing from the map has nothing older. */
export type AuditCursors = Record<string, string>;

/**
 * One page of every component's trail with the same filters, merged newest first. With `cursors` (from the
 * previous page) only the components with older rows are asked again. The components are asked at once;
 * one that fails fails the page, so that a missing trail is never taken for an empty one.
 */
export async function auditPage(
  components: readonly string[],
  filters: AuditFilters,
  cursors: AuditCursors | null,
  signal?: AbortSignal,
): Promise<{ rows: AuditRow[]; cursors: AuditCursors }> {
  const asked = cursors ? components.filter((c) => cursors[c]) : components;
  const pages = await Promise.all(
    asked.map(async (component) => {
      const params = new URLSearchParams({ limit: '50' });
      for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
      if (cursors?.[component]) params.set('before', cursors[component]);
      const page = await api<AuditPage>(`/api/${component}/audit?${params}`, { signal });
      return { component, page };
    }),
  );
  const next: AuditCursors = {};
  for (const { component, page } of pages) if (page.nextBefore) next[component] = page.nextBefore;
  const rows = pages
    .flatMap(({ component, page }) => page.items.map((item) => ({ ...item, component })))
    .sort((a, b) => Date.parse(b.occurredAt) - Date.parse(a.occurredAt) || b.id.localeCompare(a.id));
  return { rows, cursors: next };
}

/** The user id of an account, by its e-mail address (admins only). */
export const userByEmail = (email: string, signal?: AbortSignal) =>
  api<{ id: string; email: string }>(`/api/users?email=${q(email)}`, { signal });
