import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi } from '../test-utils';
import { renderOps, signedInAs } from './test-staff';

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('who may use the ops console', () => {
  it('refuses a shopper with a clear message and asks nothing of the staff API', async () => {
    const calls = fakeApi(signedInAs(['customer'], 'nosy@example.com'));
    renderOps('/ops/stock');
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The ops console is for staff with the ops or admin role; nosy@example.com has only customer.',
    );
    expect(screen.queryByRole('navigation', { name: 'Ops' })).not.toBeInTheDocument();
    expect(calls.filter((c) => /^\/api\/(inventory|payments|orders|catalog)/.test(c.url.pathname))).toEqual([]);
  });

  it('sends a visitor who is not signed in to the sign-in page', async () => {
    fakeApi({});
    renderOps('/ops/reviews');
    expect(await screen.findByText('sign-in page')).toBeInTheDocument();
  });

  it('shows ops staff the audit trail link only when they are admins, and tells ops why not', async () => {
    fakeApi(signedInAs(['ops']));
    renderOps('/ops/audit');
    expect(await screen.findByRole('alert')).toHaveTextContent('The audit trail is for staff with the admin role');
    expect(screen.getByRole('navigation', { name: 'Ops' })).not.toHaveTextContent('Audit trail');
    expect(screen.getByRole('link', { name: 'Reviews' })).toBeInTheDocument();
  });
});
