import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi, ok } from '../test-utils';
import { renderOps, signedInAs } from './test-staff';

const level = (sku: string, location: string, onHand: number, reserved = 0) => ({
  sku,
  location,
  onHand,
  reserved,
  available: onHand - reserved,
  canShip: true,
});
const LEVELS = [level('SB-500', 'shop/sf', 42, 2), level('SB-750', 'shop/ny', 1), level('SB-750', 'shop/sf', 2)];

function api() {
  return fakeApi({
    ...signedInAs(['ops']),
    'GET /api/inventory/stock': (url) => {
      const prefix = url.searchParams.get('skuPrefix') ?? '';
      const location = url.searchParams.get('location');
      return ok({ items: LEVELS.filter((l) => l.sku.startsWith(prefix) && (!location || l.location === location)) });
    },
    'GET /api/inventory/low-stock': () => ok({ items: [{ sku: 'SB-750', available: 3, threshold: 5 }] }),
    'GET /api/inventory/locations': () =>
      ok([
        { name: 'shop/ny', canShip: true, priority: 2, source: 'catalog' },
        { name: 'shop/sf', canShip: true, priority: 1, source: 'catalog' },
      ]),
    'GET /api/catalog/staff/products': () =>
      ok({ items: [{ slug: 'steel-bottle', title: 'Steel Bottle', category: 'kitchen', lifecycle: 'Active', featured: false, skus: ['SB-750', 'SB-500'], source: { apiVersion: 'v', kind: 'Product', namespace: 'shop', name: 'steel-bottle' }, createdAt: '', projectedAt: '' }] }),
    'GET /api/inventory/stock/SB-750': () =>
      ok({ sku: 'SB-750', available: 3, lowStockThreshold: 5, locations: [level('SB-750', 'shop/ny', 1), level('SB-750', 'shop/sf', 2)] }),
    'GET /api/inventory/adjustments': () =>
      ok([{ id: 'a1', sku: 'SB-750', kind: 'adjust', location: 'shop/sf', before: 4, after: 2, reason: 'dented', actor: 'u', occurredAt: '2026-12-01T06:00:00Z' }]),
    'POST /api/inventory/stock/SB-750/shop/sf/adjustments': () => ok(level('SB-750', 'shop/sf', 7)),
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('the ops stock page', () => {
  it('shows stock per SKU and location with product titles, the low-stock list, and filters on the server', async () => {
    const calls = api();
    renderOps('/ops/stock');
    const table = await screen.findByRole('table', { name: 'Stock per SKU and location' });
    expect(within(table).getAllByRole('row')).toHaveLength(1 + 3);
    const bottle = within(table).getByRole('rowheader', { name: /SB-750/ });
    expect(bottle).toHaveTextContent('low');
    expect(bottle).toHaveAttribute('rowspan', '2');
    expect(await within(bottle).findByText('Steel Bottle')).toBeInTheDocument();
    const low = screen.getByRole('region', { name: 'Low stock' });
    expect(low).toHaveTextContent('SB-750 (Steel Bottle): 3 available, threshold 5');
    expect(low).not.toHaveTextContent('SB-500');

    await userEvent.selectOptions(await screen.findByRole('combobox', { name: 'Location' }), 'shop/ny');
    await userEvent.click(screen.getByRole('button', { name: 'Filter' }));
    await screen.findByRole('table', { name: 'Stock per SKU and location' });
    expect(await within(screen.getByRole('table')).findAllByRole('row')).toHaveLength(1 + 1);
    expect(calls.at(-1)?.url.searchParams.get('location')).toBe('shop/ny');
  });

  it('will not adjust without a reason, then sends the change and its reason and shows the trail', async () => {
    const calls = api();
    renderOps('/ops/stock');
    await userEvent.click(await screen.findByRole('button', { name: 'Adjust SB-750 at shop/sf' }));
    const panel = screen.getByRole('region', { name: 'Adjust SB-750 at shop/sf' });
    expect(await within(panel).findByText(/adjust at shop\/sf: 4 → 2 · “dented”/)).toBeInTheDocument();
    expect(await within(panel).findByText(/3 available over all locations; low-stock threshold 5/)).toBeInTheDocument();

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
