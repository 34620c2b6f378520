import type { Money, OrderState } from './api/types';

const formatters = new Map<string, Intl.NumberFormat>();

/** "$129.00", "€119.00": amounts are exact decimal strings; shown with the currency's own symbol. */
export function formatMoney(money: Money | null | undefined): string {
  if (!money) return '';
  let format = formatters.get(money.currency);
  if (!format) {
    format = new Intl.NumberFormat('en-US', { style: 'currency', currency: money.currency });
    formatters.set(money.currency, format);
  }
  return format.format(Number(money.amount));
}

export function isZero(money: Money | null | undefined): boolean {
  return !money || Number(money.amount) === 0;
}

export const STATE_LABELS: Record<OrderState, string> = {
  placed: 'Placed',
  awaiting_payment: 'Awaiting payment',
  confirmed: 'Confirmed',
  packed: 'Packed',
  shipped: 'Shipped',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
};

const CANCEL_REASONS: Record<string, string> = {
  payment_failed: 'The payment was not authorized (the card was declined or could not be charged). Nothing was charged.',
  out_of_stock: 'Some items were out of stock, so the order could not be fulfilled. Nothing was charged.',
  reservation_expired: 'The items were held too long without payment. Nothing was charged.',
  requested_by_customer: 'You cancelled this order. Anything authorized was released.',
  requested_by_staff: 'The shop cancelled this order. Anything charged is refunded.',
};

export function describeCancelReason(reason: string | null | undefined): string {
  if (!reason) return 'The order was cancelled.';
  return CANCEL_REASONS[reason] ?? `The order was cancelled (${reason.replace(/_/g, ' ')}).`;
}

export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' });
}

/** "footwear/running" -> "Running" */
export function categoryName(path: string): string {
  const last = path.split('/').pop() ?? path;
  return last.charAt(0).toUpperCase() + last.slice(1).replace(/-/g, ' ');
}
