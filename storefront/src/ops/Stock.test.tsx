import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi, ok, usd } from '../test-utils';
import { renderOps, signedInAs } from './test-staff';

const bottle = {
  slug: 'steel-bottle',
  title: 'Steel Bottle',
  description: '',
  category: 'kitchen',
  images: [],
  attributes: {},
  featured: false,
  options: {},
  variants: [
    { sku: 'SB-750', options: {}, prices: [{ list: usd('29.00'), effective: usd('29.00'), promotions: [] }] },
    { sku: 'SB-500', options: {}, prices: [{ list: usd('25.00'), effective: usd('25.00'), promotions: [] }] },
  ],
};
const level = (location: string, onHand: number, reserved = 0) => ({
  location,
  onHand,
  reserved,
  available: onHand - reserved,
  canShip: true,
});

function api() {
  return fakeApi({
    ...signedInAs(['ops']),
    'GET /api/catalog/products': () => ok({ items: [{ slug: 'steel-bottle', title: 'Steel Bottle', category: 'kitchen', featured: false, pricesFrom: [] }] }),
    'GET /api/catalog/products/steel-bottle': () => ok(bottle),
    'GET /api/inventory/stock/SB-750': () =>
      ok({ sku: 'SB-750', available: 3, lowStockThreshold: 5, locations: [level('shop/sf', 2), level('shop/ny', 1)] }),
    'GET /api/inventory/stock/SB-500': () => ok({ sku: 'SB-500', available: 40, lowStockThreshold: 5, locations: [level('shop/sf', 42, 2)] }),
    'GET /api/inventory/adjustments': () =>
      ok([{ id: 'a1', sku: 'SB-750', kind: 'adjust', location: 'shop/sf', before: 4, after: 2, reason: 'dented', actor: 'u', occurredAt: '2026-12-01T06:00:00Z' }]),
    'POST /api/inventory/stock/SB-750/shop/sf/adjustments': () => ok(level('shop/sf', 7)),
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('the ops stock page', () => {
  it('shows stock per SKU and location, and lists only the SKUs at or below their threshold as low', async () => {
    api();
    renderOps('/ops/stock');
    const table = await screen.findByRole('table', { name: 'Stock per SKU and location' });
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 3);
    expect(within(table).getByRole('rowheader', { name: /SB-750/ })).toHaveTextContent('low');
    const low = screen.getByRole('region', { name: 'Low stock' });
    expect(low).toHaveTextContent('SB-750 (Steel Bottle): 3 available, threshold 5');
    expect(low).not.toHaveTextContent('SB-500');

    await userEvent.type(screen.getByLabelText('Filter by SKU, product or location'), 'ny');
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 2);
  });

  it('will not adjust without a reason, then sends the change and its reason and shows the trail', async () => {
    const calls = api();
    renderOps('/ops/stock');
    await userEvent.click(await screen.findByRole('button', { name: 'Adjust SB-750 at shop/sf' }));
    const panel = screen.getByRole('region', { name: 'Adjust SB-750 at shop/sf' });
    expect(await within(panel).findByText(/adjust at shop\/sf: 4 → 2 · “dented”/)).toBeInTheDocument();

    await userEvent.type(within(panel).getByLabelText('Change (units, e.g. 5 or -2)'), '5');
    await userEvent.click(within(panel).getByRole('button', { name: 'Apply adjustment' }));
    expect(within(panel).getByLabelText('Reason for the adjustment')).toBeInvalid();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    await userEvent.type(within(panel).getByLabelText('Reason for the adjustment'), 'delivery from supplier');
    await userEvent.click(within(panel).getByRole('button', { name: 'Apply adjustment' }));
    expect(await within(panel).findByRole('status')).toHaveTextContent('Adjusted SB-750 at shop/sf.');
    const post = calls.find((c) => c.method === 'POST')!;
    expect(JSON.parse(String(post.init.body))).toEqual({ delta: 5, reason: 'delivery from supplier' });
  });
});
