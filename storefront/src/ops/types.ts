// Shapes of the staff side of the public API that only the ops console reads (the shop's shapes are in
// ../api/types.ts), as the components' OpenAPI documents describe them.
import type { Review } from '../api/types';

/** A review as staff see it (`GET /api/reviews/moderation`). */
export interface StaffReview extends Review {
  /** How many shoppers reported it. */
  reportCount?: number | null;
}
export interface StaffReviewPage {
  items: StaffReview[];
  nextCursor?: string | null;
}
/** `pending` (held), `reported` (at least one report, any status) or `hidden` (by staff). */
export type ModerationQueue = 'pending' | 'reported' | 'hidden';

/** One recorded staff action (`GET /api/<component>/audit`, platform::audit::AuditRecord). */
export interface AuditRecord {
  id: string;
  occurredAt: string;
  /** The staff member's user id. */
  actor: string;
  actorRoles: string[];
  /** `<resource>.<verb>`, e.g. `order.ship`. */
  action: string;
  resourceType: string;
  resourceId: string;
  /** `succeeded`, `refused` (4xx, nothing changed) or `failed` (5xx, nothing changed). */
  outcome: 'succeeded' | 'refused' | 'failed';
  /** Why it was refused or failed. */
  detail?: string | null;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
}
export interface AuditPage {
  items: AuditRecord[];
  /** Pass as `before` for the next (older) page. */
  nextBefore?: string | null;
}
/** An audit row with the component whose trail it came from. */
export interface AuditRow extends AuditRecord {
  component: string;
}

/** A stock location (`GET /api/inventory/locations`). */
export interface StockLocation {
  name: string;
  canShip: boolean;
  priority: number;
  /** `ops` (the API) or `catalog` (Store resources). */
  source: string;
}

/** The Kubernetes resource a catalog item was reconciled from. */
export interface SourceResource {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** `metadata.generation` the catalog holds; absent for items the operator did not load. */
  generation?: number | null;
}
/** A product as staff see it (`GET /api/catalog/staff/products`): any lifecycle, with its source. */
export interface StaffProduct {
  slug: string;
  title: string;
  category: string;
  /** `Draft`, `Active` or `Archived`; only Active products are public. */
  lifecycle: string;
  featured: boolean;
  skus: string[];
  source: SourceResource;
  createdAt: string;
  projectedAt: string;
}
export interface StaffProductPage {
  items: StaffProduct[];
  nextCursor?: string | null;
}

/** Stock of one SKU at one location (`GET /api/inventory/stock`, by SKU then location). */
export interface StockLevel {
  sku: string;
  location: string;
  onHand: number;
  reserved: number;
  available: number;
  canShip: boolean;
}
export interface StockLevelPage {
  items: StockLevel[];
  nextCursor?: string | null;
}
/** A SKU at or below its low-stock threshold over all locations (`GET /api/inventory/low-stock`). */
export interface LowStock {
  sku: string;
  available: number;
  threshold: number;
}
export interface LowStockPage {
  items: LowStock[];
  nextCursor?: string | null;
}
