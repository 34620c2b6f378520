import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import type { Order, OrderState } from '../api/types';
import { fakeApi, ok, problem, usd } from '../test-utils';
import { renderOps, signedInAs } from './test-staff';

function order(id: string, number: string, state: OrderState, history = 2, extra: Partial<Order> = {}): Order {
  return {
    id,
    number,
    state,
    currency: 'USD',
    lines: [{ sku: 'SB-750', title: 'Steel Bottle', quantity: 2, unitPrice: usd('29.00'), total: usd('58.00') }],
    subtotal: usd('58.00'),
    discount: usd('0.00'),
    shipping: usd('4.99'),
    tax: usd('4.57'),
    total: usd('67.56'),
    shippingAddress: { name: 'Sam', line1: '1 Market St', city: 'San Francisco', postalCode: '94105', country: 'US' },
    shippingMethod: 'standard',
    placedAt: `2026-12-01T0${history}:00:00Z`,
    history: Array.from({ length: history }, (_, i) => ({ to: `s${i}`, cause: 'test', at: '2026-12-01T06:00:00Z' })),
    ...extra,
  };
}

/** `GET /api/orders?all=true&state=...` over `orders()`, as the order API pages them (newest first). */
function staffList(orders: () => Order[]) {
  return (url: URL) => {
    expect(url.searchParams.get('all')).toBe('true');
    const state = url.searchParams.get('state');
    return ok({ items: orders().filter((o) => o.state === state) });
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('the ops order list', () => {
  it('lists orders by state with the time of the last refresh, and packs one, which moves it to the ship queue', async () => {
    let packed = false;
    const calls = fakeApi({
      ...signedInAs(['ops']),
      'GET /api/orders': staffList(() => [
        packed ? order('o1', 'BZ-1', 'packed', 4) : order('o1', 'BZ-1', 'confirmed', 3),
        order('o2', 'BZ-2', 'shipped', 5, { carrier: 'UPS', trackingNumber: '1Z9', shippingMethod: 'pickup', pickupStore: 'shop/downtown-sf' }),
      ]),
      'POST /api/orders/o1/pack': () => {
        packed = true;
        return ok(order('o1', 'BZ-1', 'packed', 4));
      },
    });
    renderOps('/ops');

    const toPack = await screen.findByRole('region', { name: /To pack \(1\)/ });
    expect(within(toPack).getByTestId('ops-order-BZ-1')).toHaveTextContent('Confirmed');
    expect(screen.getByRole('region', { name: /To deliver \(1\)/ })).toHaveTextContent('UPS 1Z9');
    expect(screen.getByTestId('ops-order-BZ-2')).toHaveTextContent('pickup at shop/downtown-sf');
    expect(screen.getByTestId('ops-order-BZ-1')).toHaveTextContent('standard to San Francisco, US');
    expect(screen.getByTestId('live-bar')).toHaveTextContent(/Refreshed every 5 s; last updated at \d/);

    await userEvent.click(screen.getByRole('button', { name: 'Mark BZ-1 packed' }));
    const toShip = await screen.findByRole('region', { name: /To ship \(1\)/ });
    expect(within(toShip).getByRole('form', { name: 'Ship BZ-1' })).toBeInTheDocument();
    expect(screen.getByRole('region', { name: /To pack \(0\)/ })).toHaveTextContent('None.');
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.url.pathname)).toEqual(['/api/orders/o1/pack']);
  });

  it('ships with the carrier and tracking number typed, and shows the API’s refusal in the row', async () => {
    const calls = fakeApi({
      ...signedInAs(['ops']),
      'GET /api/orders': staffList(() => [order('o1', 'BZ-1', 'packed', 4)]),
      'POST /api/orders/o1/ship': () =>
        problem(409, { type: 'x/conflict', title: 'Conflict', detail: 'The order is cancelled and cannot ship.' }),
    });
    renderOps('/ops');
    const form = await screen.findByRole('form', { name: 'Ship BZ-1' });
    await userEvent.clear(within(form).getByLabelText('Carrier'));
    await userEvent.type(within(form).getByLabelText('Carrier'), 'DHL');
    await userEvent.type(within(form).getByLabelText('Tracking number'), ' JD0001 ');
    await userEvent.click(within(form).getByRole('button', { name: 'Ship BZ-1' }));
    expect(await within(screen.getByTestId('ops-order-BZ-1')).findByRole('alert')).toHaveTextContent(
      'The order is cancelled and cannot ship.',
    );
    const ship = calls.find((c) => c.method === 'POST')!;
    expect(JSON.parse(String(ship.init.body))).toEqual({ carrier: 'DHL', trackingNumber: 'JD0001' });
  });

  it('cancels on the shopper’s behalf only after a confirmation, and never once shipped', async () => {
    const calls = fakeApi({
      ...signedInAs(['ops']),
      'GET /api/orders': staffList(() => [order('o1', 'BZ-1', 'confirmed', 3), order('o2', 'BZ-2', 'shipped', 5)]),
      'POST /api/orders/o1/cancel': () => ok(order('o1', 'BZ-1', 'cancelled', 4, { cancelReason: 'requested_by_staff' })),
    });
    renderOps('/ops');
    await userEvent.click(await screen.findByRole('button', { name: 'Cancel BZ-1…' }));
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    expect(screen.queryByRole('button', { name: /Cancel BZ-2/ })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Yes, cancel BZ-1' }));
    const cancelled = await screen.findByRole('region', { name: /Cancelled \(1\)/ });
    expect(cancelled).toHaveTextContent('requested by staff');
  });

  it('filters by state, and the URL says which', async () => {
    fakeApi({
      ...signedInAs(['ops']),
      'GET /api/orders': staffList(() => [order('o1', 'BZ-1', 'confirmed', 3)]),
    });
    renderOps('/ops?state=packed');
    expect(await screen.findByRole('region', { name: /To ship \(0\)/ })).toBeInTheDocument();
    expect(screen.queryByRole('region', { name: /To pack/ })).not.toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText('Show'), '');
    await waitFor(() => expect(screen.getByRole('region', { name: /To pack \(1\)/ })).toBeInTheDocument());
  });

  it('shows the newest of each state, links to all of one state, and pages further there', async () => {
    const confirmed = Array.from({ length: 60 }, (_, i) => order(`c${i}`, `BZ-${100 + i}`, 'confirmed', 3));
    const calls = fakeApi({
      ...signedInAs(['ops']),
      'GET /api/orders': (url) => {
        if (url.searchParams.get('state') !== 'confirmed') return ok({ items: [] });
        const limit = Number(url.searchParams.get('limit'));
        const from = url.searchParams.get('cursor') ? Number(url.searchParams.get('cursor')) : 0;
        const items = confirmed.slice(from, from + limit);
        return ok({ items, nextCursor: from + limit < confirmed.length ? String(from + limit) : null });
      },
    });
    renderOps('/ops');
    const toPack = await screen.findByRole('region', { name: /To pack \(20\+\)/ });
    expect(calls.find((c) => c.url.searchParams.get('state') === 'confirmed')?.url.searchParams.get('limit')).toBe('20');
    await userEvent.click(within(toPack).getByRole('link', { name: 'Every order to pack' }));

    // One state: 50 at a time, live, and older pages on request.
    const only = await screen.findByRole('region', { name: /To pack \(50\+\)/ });
    expect(screen.queryByRole('region', { name: /To ship/ })).not.toBeInTheDocument();
    await userEvent.click(within(only).getByRole('button', { name: 'Show older orders' }));
    expect(await screen.findByRole('region', { name: /To pack \(60\)/ })).toBeInTheDocument();
    expect(screen.getByTestId('ops-order-BZ-159')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Show older orders' })).not.toBeInTheDocument();
    expect(screen.getByLabelText('Show')).toHaveValue('confirmed');
  });
});
