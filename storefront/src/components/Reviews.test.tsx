import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import type { RatingSummary, Review } from '../api/types';
import { fakeApi, ok, problem, renderAt } from '../test-utils';
import Reviews from './Reviews';

const summary: RatingSummary = { productSlug: 'trail-runner', count: 3, average: 4.33, histogram: { '1': 0, '2': 0, '3': 1, '4': 0, '5': 2 } };
const variants = [
  { sku: 'TR-42-BLK', options: { color: 'black', size: '42' }, prices: [] },
  { sku: 'TR-43-BLK', options: { color: 'black', size: '43' }, prices: [] },
];

function review(id: string, over: Partial<Review> = {}): Review {
  return {
    id,
    productSlug: 'trail-runner',
    rating: 5,
    title: `Review ${id}`,
    body: 'Good shoes.',
    authorName: 'Ann',
    verifiedPurchase: false,
    helpfulCount: 0,
    status: 'published',
    createdAt: '2026-11-30T10:00:00Z',
    updatedAt: '2026-11-30T10:00:00Z',
    ...over,
  };
}

function signIn() {
  setSession({ accessToken: 'token', refreshToken: 'refresh', expiresIn: 900, refreshExpiresIn: 86400, tokenType: 'Bearer' });
}
const me = () => ok({ id: 'u1', email: 'sam@example.com', name: 'Sam', roles: ['customer'], createdAt: '2026-11-01T00:00:00Z' });

function show(onChanged = () => {}) {
  return renderAt(
    '/products/trail-runner',
    '/products/:slug',
    <Reviews slug="trail-runner" variants={variants} summary={summary} onChanged={onChanged} />,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('reviews on the product page', () => {
  it('shows the rating summary with its histogram, and a bar filters the list by its stars', async () => {
    const calls = fakeApi({
      'GET /api/reviews/products/trail-runner': (url) =>
        ok({ items: url.searchParams.get('rating') === '3' ? [review('r3', { rating: 3, title: 'So-so' })] : [review('r1')] }),
    });
    show();
    expect(screen.getByTestId('rating-summary')).toHaveTextContent('4.3 out of 5 (3 reviews)');
    const bars = within(screen.getByRole('list', { name: 'Reviews by stars' }));
    expect(bars.getByRole('button', { name: /5 stars.*2 reviews/ })).toBeEnabled();
    expect(bars.getByRole('button', { name: /2 stars.*0 reviews/ })).toBeDisabled();
    expect(await screen.findByRole('heading', { name: 'Review r1' })).toBeInTheDocument();

    await userEvent.click(bars.getByRole('button', { name: /3 stars/ }));
    expect(await screen.findByRole('heading', { name: 'So-so' })).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Review r1' })).not.toBeInTheDocument();
    expect(calls.at(-1)!.url.searchParams.get('rating')).toBe('3');
    expect(screen.getByText(/Showing 3-star reviews/)).toBeInTheDocument();
  });

  it('pages by cursor, and ordering by most helpful starts again at the first page', async () => {
    const calls = fakeApi({
      'GET /api/reviews/products/trail-runner': (url) => {
        if (url.searchParams.get('sort') === 'helpful') return ok({ items: [review('h1', { helpfulCount: 9 })] });
        return url.searchParams.get('cursor') === 'c2'
          ? ok({ items: [review('r2')] })
          : ok({ items: [review('r1')], nextCursor: 'c2' });
      },
    });
    show();
    await userEvent.click(await screen.findByRole('button', { name: 'Show more reviews' }));
    expect(await screen.findByRole('heading', { name: 'Review r2' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Review r1' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Show more reviews' })).not.toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText('Order reviews by'), 'helpful');
    expect(await screen.findByRole('heading', { name: 'Review h1' })).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Review r2' })).not.toBeInTheDocument();
    expect(screen.getByText('9 people found this helpful')).toBeInTheDocument();
    expect(calls.at(-1)!.url.searchParams.get('cursor')).toBeNull();
  });

  it('shows review text as text, never as HTML, with the verified-purchase badge and the variant', async () => {
    fakeApi({
      'GET /api/reviews/products/trail-runner': () =>
        ok({
          items: [
            review('x', {
              title: '<b>bold</b> title',
              body: 'Nice <img src=x onerror="alert(1)"> shoes\nsecond line',
              verifiedPurchase: true,
              sku: 'TR-43-BLK',
            }),
          ],
        }),
    });
    const { container } = show();
    expect(await screen.findByRole('heading', { name: '<b>bold</b> title' })).toBeInTheDocument();
    expect(screen.getByText(/Nice <img src=x onerror="alert\(1\)"> shoes/)).toBeInTheDocument();
    expect(container.querySelector('img, b')).toBeNull();
    expect(screen.getByText('Verified purchase')).toBeInTheDocument();
    expect(screen.getByText(/black, 43 \(TR-43-BLK\)/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Sign in to write a review' })).toHaveAttribute(
      'href',
      '/signin?next=%2Fproducts%2Ftrail-runner',
    );
    expect(screen.queryByRole('button', { name: /Helpful/ })).not.toBeInTheDocument();
  });

  it('lets a signed-in shopper write a review, and shows the refusal when it is not saved', async () => {
    signIn();
    let mine: Review | null = null;
    const writes: unknown[] = [];
    const onChanged = vi.fn();
    fakeApi({
      'GET /api/users/me': me,
      'GET /api/cart': () => problem(404, { type: 'x', title: 'Not Found' }),
      'GET /api/reviews/products/trail-runner': () => ok({ items: [] }),
      'GET /api/reviews/products/trail-runner/mine': () => (mine ? ok(mine) : problem(404, { type: 'x', title: 'Not Found', detail: 'You have not reviewed this product.' })),
      'PUT /api/reviews/products/trail-runner/mine': (_url, init) => {
        const body = JSON.parse(String(init.body)) as { title: string; rating: number; sku: string | null };
        writes.push(body);
        if (writes.length === 1) {
          return problem(429, { type: 'x', title: 'Too Many Requests', detail: 'Too many reviews and votes; try again in 60 s.' });
        }
        mine = review('m1', { title: body.title, rating: body.rating, sku: body.sku, authorName: 'Sam' });
        return ok(mine, 201);
      },
    });
    show(onChanged);
    await userEvent.click(await screen.findByRole('radio', { name: '4 stars' }));
    await userEvent.type(screen.getByLabelText('Title'), 'Comfortable');
    await userEvent.type(screen.getByLabelText('Your review'), 'Ran 40 km in them.');
    await userEvent.selectOptions(screen.getByLabelText('Variant (optional)'), 'TR-42-BLK');
    expect(screen.getByLabelText('Name shown with your review')).toHaveValue('Sam');
    await userEvent.click(screen.getByRole('button', { name: 'Post review' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Your review was not saved: Too many reviews and votes; try again in 60 s.');

    await userEvent.click(screen.getByRole('button', { name: 'Post review' }));
    expect(await screen.findByTestId('my-review')).toHaveTextContent('Comfortable');
    expect(writes[1]).toEqual({ rating: 4, title: 'Comfortable', body: 'Ran 40 km in them.', sku: 'TR-42-BLK', authorName: 'Sam' });
    expect(onChanged).toHaveBeenCalledTimes(1);
    expect(screen.getByRole('button', { name: 'Edit your review' })).toBeInTheDocument();
  });

  it('edits one’s own review with its current text, and says when the shop hid it', async () => {
    signIn();
    fakeApi({
      'GET /api/users/me': me,
      'GET /api/cart': () => problem(404, { type: 'x', title: 'Not Found' }),
      'GET /api/reviews/products/trail-runner': () => ok({ items: [] }),
      'GET /api/reviews/products/trail-runner/mine': () =>
        ok(review('m1', { title: 'Mine', rating: 2, status: 'hidden', hiddenReason: 'Personal data in the text' })),
    });
    show();
    expect(await screen.findByText('The shop hid your review: Personal data in the text')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Edit your review' }));
    expect(screen.getByRole('radio', { name: '2 stars' })).toBeChecked();
    expect(screen.getByLabelText('Title')).toHaveValue('Mine');
    expect(screen.getByRole('button', { name: 'Save changes' })).toBeInTheDocument();
  });

  it('counts a helpful vote and takes a report with its reason; a refusal is shown', async () => {
    signIn();
    const reports: unknown[] = [];
    fakeApi({
      'GET /api/users/me': me,
      'GET /api/cart': () => problem(404, { type: 'x', title: 'Not Found' }),
      'GET /api/reviews/products/trail-runner': () =>
        ok({ items: [review('r1', { helpfulCount: 1 }), review('other', { title: 'Theirs' }), review('own', { title: 'My own' })] }),
      'GET /api/reviews/products/trail-runner/mine': () => ok(review('own', { title: 'My own' })),
      'PUT /api/reviews/r1/helpful': () => ok({ reviewId: 'r1', helpfulCount: 2, voted: true }),
      'PUT /api/reviews/other/helpful': () =>
        problem(422, { type: 'x', title: 'Unprocessable Entity', errors: [{ field: 'id', message: 'you cannot vote for your own review' }] }),
      'POST /api/reviews/r1/reports': (_url, init) => {
        reports.push(JSON.parse(String(init.body)));
        return ok({ reviewId: 'r1', newReport: true });
      },
    });
    show();
    const first = within(await screen.findByTestId('review-r1'));
    await userEvent.click(first.getByRole('button', { name: /Helpful\W+Review r1/ }));
    expect(await first.findByText('2 people found this helpful')).toBeInTheDocument();
    expect(first.getByRole('button', { name: /Helpful\W+Review r1/ })).toHaveAttribute('aria-pressed', 'true');

    await userEvent.click(first.getByRole('button', { name: /Report\W+Review r1/ }));
    await userEvent.type(first.getByLabelText('What is wrong with this review?'), 'Spam link');
    await userEvent.click(first.getByRole('button', { name: 'Send report' }));
    expect(await first.findByText(/the shop will look at this review/)).toBeInTheDocument();
    expect(reports).toEqual([{ reason: 'Spam link' }]);

    // One's own review is marked, without votes or reports.
    const own = within(screen.getByTestId('review-own'));
    expect(own.getByText('Your review')).toBeInTheDocument();
    expect(own.queryByRole('button')).not.toBeInTheDocument();

    // A refusal is shown where it happened.
    const other = within(screen.getByTestId('review-other'));
    await userEvent.click(other.getByRole('button', { name: /Helpful\W+Theirs/ }));
    await waitFor(() => expect(other.getByRole('alert')).toHaveTextContent('you cannot vote for your own review'));
  });
});
