import { fireEvent, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi, ok, problem } from '../test-utils';
import { STAFF_ID, renderOps, signedInAs } from './test-staff';
import type { AuditRecord } from './types';

const row = (id: string, at: string, action: string, extra: Partial<AuditRecord> = {}): AuditRecord => ({
  id,
  occurredAt: at,
  actor: STAFF_ID,
  actorRoles: ['admin'],
  action,
  resourceType: action.split('.')[0],
  resourceId: `${action}-target`,
  outcome: 'succeeded',
  ...extra,
});

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('the audit trail', () => {
  it('merges every component’s trail newest first, with before and after readable, and the refusals', async () => {
    fakeApi({
      ...signedInAs(['admin'], 'admin@bazaar.local'),
      'GET /api/order/audit': () =>
        ok({
          items: [
            row('a3', '2026-12-01T06:03:00Z', 'order.ship', {
              before: { state: 'packed' },
              after: { state: 'shipped', carrier: 'UPS', trackingNumber: '1Z9' },
            }),
            row('a1', '2026-12-01T06:01:00Z', 'order.pack', { outcome: 'refused', detail: 'The order is not confirmed.' }),
          ],
        }),
      'GET /api/inventory/audit': () =>
        ok({ items: [row('a2', '2026-12-01T06:02:00.5Z', 'stock.adjust', { actor: 'someone-else', before: { onHand: 4 }, after: { onHand: 2 } })] }),
      'GET /api/identity/audit': () => ok({ items: [] }),
      'GET /api/payment/audit': () => ok({ items: [] }),
      'GET /api/review/audit': () => ok({ items: [] }),
    });
    renderOps('/ops/audit');
    const table = await screen.findByRole('table', { name: /Recorded staff actions/ });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[2].textContent)).toEqual([
      'order.shiporder',
      'stock.adjustinventory',
      'order.packorder',
    ]);
    expect(rows[0]).toHaveTextContent('you (admin@bazaar.local)');
    expect(rows[0]).toHaveTextContent('state:packed → shipped');
    expect(rows[0]).toHaveTextContent('carrier:none → UPS');
    expect(rows[1]).toHaveTextContent('someone-else');
    expect(rows[1]).toHaveTextContent('onHand:4 → 2');
    expect(rows[2]).toHaveTextContent('refusedThe order is not confirmed.');
  });

  it('sends the same filters to every component, with an e-mail address turned into the user id', async () => {
    const calls = fakeApi({
      ...signedInAs(['admin']),
      'GET /api/users': () => ok({ id: 'u-42', email: 'ops@bazaar.local' }),
      'GET /api/order/audit': () => ok({ items: [] }),
      'GET /api/inventory/audit': () => ok({ items: [] }),
      'GET /api/identity/audit': () => ok({ items: [] }),
      'GET /api/payment/audit': () => ok({ items: [] }),
      'GET /api/review/audit': () => ok({ items: [] }),
    });
    renderOps('/ops/audit');
    await screen.findByText('No recorded action matches.');
    await userEvent.type(screen.getByLabelText('Who (e-mail or user id)'), 'ops@bazaar.local');
    await userEvent.type(screen.getByLabelText('Action'), 'order.ship');
    await userEvent.selectOptions(screen.getByLabelText('Outcome'), 'refused');
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await screen.findByText('No recorded action matches.');
    const asked = calls.filter((c) => c.url.pathname.endsWith('/audit') && c.url.searchParams.has('actor'));
    expect(asked.map((c) => c.url.pathname).sort()).toEqual(['/api/identity/audit', '/api/inventory/audit', '/api/order/audit', '/api/payment/audit', '/api/review/audit']);
    for (const c of asked) {
      expect(Object.fromEntries(c.url.searchParams)).toEqual({ limit: '50', actor: 'u-42', action: 'order.ship', outcome: 'refused' });
    }
  });

  it('asks for a time range in RFC 3339 from the browser’s local times, and keeps the filters in the URL', async () => {
    const calls = fakeApi({
      ...signedInAs(['admin']),
      'GET /api/order/audit': () => ok({ items: [] }),
      'GET /api/inventory/audit': () => ok({ items: [] }),
      'GET /api/identity/audit': () => ok({ items: [] }),
      'GET /api/payment/audit': () => ok({ items: [] }),
      'GET /api/review/audit': () => ok({ items: [] }),
    });
    renderOps('/ops/audit');
    await screen.findByText('No recorded action matches.');
    await userEvent.selectOptions(screen.getByLabelText('Component'), 'inventory');
    fireEvent.change(screen.getByLabelText('From'), { target: { value: '2026-12-01T06:00' } });
    fireEvent.change(screen.getByLabelText('Until'), { target: { value: '2026-12-01T07:30' } });
    const before = calls.length;
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await screen.findByText('No recorded action matches.');
    const asked = calls.slice(before).filter((c) => c.url.pathname.endsWith('/audit'));
    expect(asked.map((c) => c.url.pathname)).toEqual(['/api/inventory/audit']);
    expect(asked[0].url.searchParams.get('since')).toBe(new Date('2026-12-01T06:00').toISOString());
    expect(asked[0].url.searchParams.get('until')).toBe(new Date('2026-12-01T07:30').toISOString());
    expect(screen.getByLabelText('From')).toHaveValue('2026-12-01T06:00');
  });

  it('says so when a component’s trail cannot be read, instead of showing a partial trail as complete', async () => {
    fakeApi({
      ...signedInAs(['admin']),
      'GET /api/order/audit': () => ok({ items: [row('a1', '2026-12-01T06:01:00Z', 'order.pack')] }),
      'GET /api/inventory/audit': () => problem(503, { type: 'x/unavailable', title: 'Service Unavailable' }),
      'GET /api/identity/audit': () => ok({ items: [] }),
      'GET /api/payment/audit': () => ok({ items: [] }),
      'GET /api/review/audit': () => ok({ items: [] }),
    });
    renderOps('/ops/audit');
    expect(await screen.findByRole('alert')).toHaveTextContent('The shop is busy right now.');
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });
});
