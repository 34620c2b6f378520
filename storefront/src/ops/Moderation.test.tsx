import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import { fakeApi, ok } from '../test-utils';
import { renderOps, signedInAs } from './test-staff';
import type { StaffReview } from './types';

const review = (id: string, status: string, extra: Partial<StaffReview> = {}): StaffReview => ({
  id,
  productSlug: 'steel-bottle',
  rating: 1,
  title: `Review ${id}`,
  body: '<script>alert(1)</script> buy cheap watches',
  authorName: 'Spammer',
  verifiedPurchase: false,
  helpfulCount: 0,
  status,
  createdAt: '2026-12-01T06:00:00Z',
  updatedAt: '2026-12-01T06:00:00Z',
  reportCount: 2,
  ...extra,
});

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('review moderation', () => {
  it('shows the reported queue with its report counts, text as text, and hides one only with a reason', async () => {
    let hidden = false;
    const calls = fakeApi({
      ...signedInAs(['ops']),
      // A reported review stays in the reported queue whatever its status.
      'GET /api/reviews/moderation': (url) =>
        ok({
          items:
            url.searchParams.get('queue') === 'reported'
              ? [hidden ? review('r1', 'hidden', { hiddenReason: 'spam' }) : review('r1', 'published')]
              : [],
        }),
      'POST /api/reviews/r1/hide': () => {
        hidden = true;
        return ok(review('r1', 'hidden', { hiddenReason: 'spam' }));
      },
    });
    renderOps('/ops/reviews');
    const item = await screen.findByRole('article', { name: 'Review “Review r1”' });
    expect(item).toHaveTextContent('reported by 2 shoppers');
    expect(item).toHaveTextContent('<script>alert(1)</script> buy cheap watches');
    expect(document.querySelector('.ops-review script')).toBeNull();

    await userEvent.click(screen.getByRole('button', { name: 'Hide… “Review r1”' }));
    const form = screen.getByRole('form', { name: 'Hide “Review r1”' });
    await userEvent.click(within(form).getByRole('button', { name: 'Hide review' }));
    expect(within(form).getByLabelText('Reason (shown to the author)')).toBeInvalid();
    await userEvent.type(within(form).getByLabelText('Reason (shown to the author)'), 'spam');
    await userEvent.click(within(form).getByRole('button', { name: 'Hide review' }));

    expect(await screen.findByRole('status')).toHaveTextContent('Hidden: “Review r1”.');
    expect(await screen.findByText('Hidden because: spam')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Unhide “Review r1”' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Hide/ })).not.toBeInTheDocument();
    const hide = calls.find((c) => c.method === 'POST')!;
    expect(JSON.parse(String(hide.init.body))).toEqual({ reason: 'spam' });
  });

  it('unhides a hidden review from the hidden queue', async () => {
    const calls = fakeApi({
      ...signedInAs(['ops']),
      'GET /api/reviews/moderation': (url) =>
        ok({ items: url.searchParams.get('queue') === 'hidden' ? [review('r2', 'hidden', { hiddenReason: 'spam' })] : [] }),
      'POST /api/reviews/r2/publish': () => ok(review('r2', 'published')),
    });
    renderOps('/ops/reviews');
    await userEvent.click(await screen.findByRole('button', { name: 'Hidden' }));
    expect(await screen.findByText('Hidden because: spam')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Unhide “Review r2”' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Published: “Review r2”.');
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.url.pathname)).toEqual(['/api/reviews/r2/publish']);
  });
});
