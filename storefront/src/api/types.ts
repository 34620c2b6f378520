// Shapes of the public API's JSON, as its OpenAPI documents describe them (/api/<component>/openapi.json).

export interface Money {
  amount: string;
  currency: string;
}

export interface FieldError {
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  errors?: FieldError[];
}

// Catalog
export interface Image {
  url: string;
  alt?: string | null;
}
export interface ProductSummary {
  slug: string;
  title: string;
  brand?: string | null;
  category: string;
  featured: boolean;
  image?: Image | null;
  price?: Money | null;
  pricesFrom: Money[];
  /** The product's published reviews, from the review component's events; absent without any. */
  rating?: { average: number; count: number } | null;
}
export interface ProductPage {
  items: ProductSummary[];
  nextCursor?: string | null;
}
export interface EffectivePrice {
  list: Money;
  compareAt?: Money | null;
  effective: Money;
  /** `namespace/name` of the automatic promotions applied. */
  promotions: string[];
}
export interface Variant {
  sku: string;
  title?: string | null;
  options: Record<string, string>;
  prices: EffectivePrice[];
  weightGrams?: number | null;
}
export interface ProductDetail {
  slug: string;
  title: string;
  description: string;
  category: string;
  brand?: string | null;
  images: Image[];
  attributes: Record<string, string>;
  featured: boolean;
  options: Record<string, string[]>;
  variants: Variant[];
}
export interface CategoryNode {
  slug: string;
  path: string;
  name: string;
  productCount: number;
  children: CategoryNode[];
}
/** GET /api/catalog/facets: attribute and option values with the products picking each would show. */
export interface Facets {
  total: number;
  attributes: { name: string; values: { value: string; count: number }[] }[];
}
export interface PromotionView {
  id: string;
  title: string;
  kind: string;
  code?: string | null;
  skus: string[];
  categories: string[];
  endsAt?: string | null;
}
export interface OpeningHours {
  days: string[];
  opens: string;
  closes: string;
}
export interface StoreView {
  id: string;
  name: string;
  displayName: string;
  address: { lines: string[]; city: string; region?: string | null; postalCode?: string | null; country: string };
  location: { lat: number; lon: number };
  timeZone: string;
  openingHours: OpeningHours[];
  contact: { email?: string | null; phone?: string | null };
  pickup: boolean;
  shipFromStore: boolean;
  /** Only when searching near a point (lat/lon). */
  distanceKm?: number | null;
}
export interface CatalogShippingOption {
  code: string;
  name: string;
  price: Money;
  fulfillment: string;
  pickupStores?: string[];
}
export interface Availability {
  sku: string;
  available: number;
  inStock: boolean;
}

// Identity
export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  refreshExpiresIn: number;
  tokenType: string;
}
export type Role = 'customer' | 'merchandiser' | 'ops' | 'admin';
export interface Profile {
  id: string;
  email: string;
  name: string;
  roles: Role[];
  createdAt: string;
}
export interface Address {
  id: string;
  kind: 'shipping' | 'billing';
  isDefault: boolean;
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  region?: string | null;
  postalCode: string;
  country: string;
  phone?: string | null;
}

// Order
export type LineStatus = 'available' | 'unknown_sku' | 'not_for_sale' | 'no_price_in_currency';
export interface CartLine {
  sku: string;
  quantity: number;
  title: string;
  status: LineStatus;
  unitPrice?: Money | null;
  priceChanged: boolean;
  priceWhenAdded?: Money | null;
  subtotal: Money;
  discount: Money;
  total: Money;
}
export interface ShippingOption {
  code: string;
  name: string;
  price: Money;
  deliveryDaysMin: number;
  deliveryDaysMax: number;
  /** For in-store pickup (code `pickup`): the Stores (`namespace/name`) offering it to this destination. */
  pickupStores?: string[];
}
export interface Cart {
  id: string;
  cartToken?: string | null;
  currency: string;
  coupon?: { code: string; applied: boolean; reason?: string | null } | null;
  lines: CartLine[];
  promotions: { promotion: string; description: string; amount: Money; code?: string | null }[];
  shippingOptions: ShippingOption[];
  shipping?: ShippingOption | null;
  subtotal: Money;
  discount: Money;
  shippingTotal: Money;
  tax: Money;
  total: Money;
  readyForCheckout: boolean;
}
export type OrderState =
  | 'placed'
  | 'awaiting_payment'
  | 'confirmed'
  | 'packed'
  | 'shipped'
  | 'delivered'
  | 'cancelled';
export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string | null;
  city: string;
  region?: string | null;
  postalCode: string;
  country: string;
}
export interface Order {
  id: string;
  number: string;
  state: OrderState;
  cancelReason?: string | null;
  currency: string;
  lines: { sku: string; title: string; quantity: number; unitPrice: Money; total: Money }[];
  subtotal: Money;
  discount: Money;
  shipping: Money;
  tax: Money;
  total: Money;
  shippingAddress: ShippingAddress;
  shippingMethod: string;
  carrier?: string | null;
  trackingNumber?: string | null;
  /** For in-store pickup (shippingMethod `pickup`): the Store (`namespace/name`) to collect from. */
  pickupStore?: string | null;
  /** Why the payment failed, in the shopper's words (a cancelled order with cancelReason payment_failed). */
  paymentFailure?: { reason: string; message: string } | null;
  placedAt: string;
  history: { from?: string | null; to: string; cause: string; at: string }[];
}
export interface OrderPage {
  items: Order[];
  nextCursor?: string | null;
}

// Inventory (ops)
export interface LocationStock {
  location: string;
  onHand: number;
  reserved: number;
  available: number;
  canShip: boolean;
}
export interface SkuStock {
  sku: string;
  available: number;
  lowStockThreshold?: number | null;
  locations: LocationStock[];
}
export interface Adjustment {
  id: string;
  sku: string;
  kind: string;
  location?: string | null;
  before?: number | null;
  after?: number | null;
  reason: string;
  actor: string;
  occurredAt: string;
}

// Payment (ops)
export interface Payment {
  id: string;
  orderId: string;
  orderNumber: string;
  amount: Money;
  status: string;
  failureReason?: string | null;
  createdAt: string;
}

// Review (reviews and wishlists). Text fields are plain text: React escapes them, never render as HTML.
export interface Review {
  id: string;
  productSlug: string;
  sku?: string | null;
  rating: number;
  title: string;
  body: string;
  authorName: string;
  verifiedPurchase: boolean;
  helpfulCount: number;
  /** `published`, `pending` (held for moderation) or `hidden` (by staff). */
  status: string;
  createdAt: string;
  updatedAt: string;
  /** For the author: why staff hid it. */
  hiddenReason?: string | null;
}
export interface ReviewPage {
  items: Review[];
  nextCursor?: string | null;
}
export interface RatingSummary {
  productSlug: string;
  count: number;
  average?: number | null;
  /** Reviews by stars, "1" to "5". */
  histogram: Record<string, number>;
}
export interface Helpfulness {
  reviewId: string;
  helpfulCount: number;
  voted: boolean;
}
export interface WishlistItem {
  sku: string;
  productSlug: string;
  productTitle: string;
  /** `active`, `archived`, `removed` or `draft`. */
  productStatus: string;
  variantRemoved: boolean;
  available: boolean;
  savedPrice?: Money | null;
  currentPrice?: Money | null;
  priceDropped: boolean;
  /** Inventory last announced the SKU out of stock. */
  outOfStock?: boolean;
  /** Out of stock while saved (or when saved), in stock again now. */
  backInStock?: boolean;
  addedAt: string;
}
export interface WishlistView {
  items: WishlistItem[];
  shareToken?: string | null;
}
export interface ShareLink {
  token: string;
  path: string;
}
