import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi, ok } from '../test-utils';
import { renderOps, signedInAs } from './test-staff';
import type { StaffProduct } from './types';

const product = (slug: string, lifecycle: string, generation?: number): StaffProduct => ({
  slug,
  title: slug.replace('-', ' '),
  category: 'equipment',
  lifecycle,
  featured: false,
  skus: [`${slug.toUpperCase()}-1`],
  source: { apiVersion: 'bazaar.dev/v1alpha1', kind: 'Product', namespace: 'shop', name: slug, generation },
  createdAt: '2026-12-01T06:00:00Z',
  projectedAt: '2026-12-01T06:00:00Z',
});

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('the ops catalog', () => {
  it('lists every product with the resource it came from, drafts included, and filters by lifecycle', async () => {
    const calls = fakeApi({
      ...signedInAs(['ops']),
      'GET /api/catalog/staff/products': (url) =>
        ok({
          items: [product('steel-bottle', 'Active', 3), product('summit-headlamp', 'Draft')].filter(
            (p) => !url.searchParams.get('lifecycle') || p.lifecycle === url.searchParams.get('lifecycle'),
          ),
        }),
    });
    renderOps('/ops/catalog');
    const bottle = await screen.findByTestId('product-steel-bottle');
    expect(bottle).toHaveTextContent('Product shop/steel-bottle');
    expect(bottle).toHaveTextContent('generation 3');
    expect(bottle).toHaveTextContent('kubectl get product steel-bottle -n shop');
    expect(within(bottle).getByRole('link', { name: 'steel bottle' })).toHaveAttribute('href', '/products/steel-bottle');
    const lamp = screen.getByTestId('product-summit-headlamp');
    expect(lamp).toHaveTextContent('Draft');
    expect(within(lamp).queryByRole('link')).not.toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText('Lifecycle'), 'Draft');
    expect(await screen.findByRole('table', { name: /\(1 shown\)/ })).toBeInTheDocument();
    expect(screen.queryByTestId('product-steel-bottle')).not.toBeInTheDocument();
    expect(calls.at(-1)?.url.searchParams.get('lifecycle')).toBe('Draft');
  });
});
