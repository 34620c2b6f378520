// A product's reviews (the review component, /api/reviews): the rating summary with its histogram (a bar
// filters the list by its stars), the published reviews newest or most helpful first, paged by cursor, the
// signed-in shopper's own review to write, edit or delete, "helpful" votes and reports. Review text is
// plain text from strangers: it is only ever rendered as React text (escaped), never as HTML.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'react-router';
import { api, ApiError } from '../api/client';
import type { RatingSummary, Review, ReviewPage, Variant } from '../api/types';
import { formatDate } from '../format';
import { useSession } from '../state/session';
import { ratingText, Stars } from './Stars';
import { ErrorMessage, Loading, Notice } from './ui';
import { useApi } from './useApi';

export const REVIEW_PAGE_SIZE = 5;
type Sort = 'newest' | 'helpful';

function variantLabel(variant: Variant): string {
  const options = Object.values(variant.options).join(', ');
  return variant.title ?? (options ? `${options} (${variant.sku})` : variant.sku);
}

export default function Reviews({
  slug,
  variants,
  summary,
  onChanged,
}: {
  slug: string;
  variants: Variant[];
  summary: RatingSummary | undefined;
  /** A review was written, edited or deleted: the summary is out of date. */
  onChanged: () => void;
}) {
  const { user } = useSession();
  const [sort, setSort] = useState<Sort>('newest');
  const [stars, setStars] = useState<number | null>(null);
  const [version, setVersion] = useState(0);
  const [myId, setMyId] = useState<string | null>(null);
  const query = (cursor?: string) => {
    const q = new URLSearchParams({ sort, limit: String(REVIEW_PAGE_SIZE) });
    if (stars) q.set('rating', String(stars));
    if (cursor) q.set('cursor', cursor);
    return `/api/reviews/products/${encodeURIComponent(slug)}?${q}`;
  };
  const first = useApi((signal) => api<ReviewPage>(query(), { signal, auth: false }), [slug, sort, stars, version]);
  // Later pages are appended below the first; a new order, filter or change starts again at the first.
  const [more, setMore] = useState<Review[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>();
  useEffect(() => {
    setMore([]);
    setMoreError(undefined);
    setCursor(first.data?.nextCursor ?? null);
  }, [first.data]);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await api<ReviewPage>(query(cursor), { auth: false });
      setMore((m) => [...m, ...page.items]);
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  const changed = () => {
    setVersion((v) => v + 1);
    onChanged();
  };
  const items = [...(first.data?.items ?? []), ...more];

  return (
    <section className="reviews" aria-labelledby="reviews-heading" id="reviews">
      <h2 id="reviews-heading">Reviews</h2>
      <Summary summary={summary} stars={stars} onStars={setStars} />
      {user ? (
        <MyReview slug={slug} variants={variants} userId={user.id} defaultName={user.name} onChanged={changed} onMine={setMyId} />
      ) : (
        <SignInToReview />
      )}
      <div className="review-controls">
        <label>
          Order reviews by
          <select value={sort} onChange={(e) => setSort(e.target.value as Sort)}>
            <option value="newest">Newest first</option>
            <option value="helpful">Most helpful first</option>
          </select>
        </label>
        {stars && (
          <p className="muted">
            Showing {stars}-star reviews.{' '}
            <button type="button" className="link-button" onClick={() => setStars(null)}>
              Show all reviews
            </button>
          </p>
        )}
      </div>
      <ErrorMessage error={first.error} title="Reviews could not be loaded:" />
      {first.loading && !first.data && <Loading label="Loading reviews…" />}
      {first.data && items.length === 0 && (
        <p role="status">{stars ? `No ${stars}-star reviews.` : 'No reviews yet. Be the first to write one.'}</p>
      )}
      {items.length > 0 && (
        <ol className="review-list" aria-label="Reviews" data-testid="review-list">
          {items.map((review) => (
            <ReviewItem key={review.id} review={review} signedIn={!!user} own={review.id === myId} variants={variants} />
          ))}
        </ol>
      )}
      <ErrorMessage error={moreError} title="More reviews could not be loaded:" />
      {cursor && (
        <button type="button" className="secondary" onClick={() => void loadMore()} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Show more reviews'}
        </button>
      )}
    </section>
  );
}

function Summary({
  summary,
  stars,
  onStars,
}: {
  summary: RatingSummary | undefined;
  stars: number | null;
  onStars: (stars: number | null) => void;
}) {
  if (!summary) return null;
  return (
    <div className="rating-summary" data-testid="rating-summary">
      <p className="rating-average">
        {summary.average != null && <Stars rating={summary.average} label="" />} {ratingText(summary)}
      </p>
      {summary.count > 0 && (
        <ul className="histogram" aria-label="Reviews by stars">
          {[5, 4, 3, 2, 1].map((n) => {
            const count = summary.histogram[String(n)] ?? 0;
            const share = summary.count > 0 ? Math.round((count / summary.count) * 100) : 0;
            return (
              <li key={n}>
                <button
                  type="button"
                  className="histogram-row"
                  aria-pressed={stars === n}
                  disabled={count === 0}
                  onClick={() => onStars(stars === n ? null : n)}
                >
                  <span className="histogram-label">
                    {n} {n === 1 ? 'star' : 'stars'}
                  </span>
                  <span className="histogram-bar" aria-hidden="true">
                    <span style={{ width: `${share}%` }} />
                  </span>
                  <span className="histogram-count">
                    {count}
                    <span className="visually-hidden"> {count === 1 ? 'review' : 'reviews'}</span>
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function SignInToReview() {
  const location = useLocation();
  const next = encodeURIComponent(`${location.pathname}${location.search}`);
  return (
    <p>
      <Link to={`/signin?next=${next}`}>Sign in to write a review</Link>
    </p>
  );
}

function ReviewItem({
  review,
  signedIn,
  own,
  variants,
}: {
  review: Review;
  signedIn: boolean;
  /** The signed-in shopper's own review: no votes or reports on it. */
  own: boolean;
  variants: Variant[];
}) {
  const [helpful, setHelpful] = useState({ count: review.helpfulCount, voted: false });
  const [reporting, setReporting] = useState(false);
  const [reported, setReported] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const variant = review.sku ? variants.find((v) => v.sku === review.sku) : undefined;

  const vote = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<{ helpfulCount: number; voted: boolean }>(`/api/reviews/${review.id}/helpful`, {
        method: helpful.voted ? 'DELETE' : 'PUT',
      });
      setHelpful({ count: answer.helpfulCount, voted: answer.voted });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const report = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get('reason') ?? '').trim();
    setBusy(true);
    setError(undefined);
    try {
      await api(`/api/reviews/${review.id}/reports`, { method: 'POST', body: { reason } });
      setReported(true);
      setReporting(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <li className="review" data-testid={`review-${review.id}`}>
      <article aria-labelledby={`review-title-${review.id}`}>
        <header>
          <Stars rating={review.rating} />
          <h3 id={`review-title-${review.id}`}>{review.title}</h3>
          <p className="muted">
            {review.authorName} · {formatDate(review.createdAt)}
            {review.updatedAt !== review.createdAt && ' (edited)'}
            {variant && <> · {variantLabel(variant)}</>}
          </p>
          {review.verifiedPurchase && <span className="tag tag-verified">Verified purchase</span>}
        </header>
        {review.body && <p className="review-body">{review.body}</p>}
        <p className="review-actions">
          <span>
            {helpful.count} {helpful.count === 1 ? 'person' : 'people'} found this helpful
          </span>
          {own && <span className="tag">Your review</span>}
          {signedIn && !own && (
            <>
              <button type="button" className="link-button" aria-pressed={helpful.voted} disabled={busy} onClick={() => void vote()}>
                Helpful<span className="visually-hidden">: {review.title}</span>
              </button>
              {!reported && !reporting && (
                <button type="button" className="link-button" onClick={() => setReporting(true)}>
                  Report<span className="visually-hidden">: {review.title}</span>
                </button>
              )}
            </>
          )}
        </p>
        {reporting && (
          <form className="report-form stack" onSubmit={(e) => void report(e)}>
            <label>
              What is wrong with this review?
              <textarea name="reason" required maxLength={500} rows={2} />
            </label>
            <div className="inline">
              <button type="submit" disabled={busy}>
                Send report
              </button>
              <button type="button" className="link-button" onClick={() => setReporting(false)}>
                Cancel
              </button>
            </div>
          </form>
        )}
        {reported && <Notice tone="success">Thank you: the shop will look at this review.</Notice>}
        <ErrorMessage error={error} />
      </article>
    </li>
  );
}

const STATUS_NOTES: Record<string, string> = {
  pending: 'Your review is waiting for the shop’s approval before others see it.',
  published: 'Your review is published.',
};

function MyReview({
  slug,
  variants,
  userId,
  defaultName,
  onChanged,
  onMine,
}: {
  slug: string;
  variants: Variant[];
  userId: string;
  defaultName: string;
  onChanged: () => void;
  /** Tells which review in the list is the shopper's own. */
  onMine: (id: string | null) => void;
}) {
  const path = `/api/reviews/products/${encodeURIComponent(slug)}/mine`;
  const mine = useApi(
    (signal) =>
      api<Review>(path, { signal }).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return null; // not reviewed yet
        throw e;
      }),
    [path, userId],
  );
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => onMine(mine.data?.id ?? null), [mine.data, onMine]);

  if (mine.loading && mine.data === undefined) return <Loading label="Loading your review…" />;
  if (mine.error) return <ErrorMessage error={mine.error} title="Your review could not be loaded:" />;
  const review = mine.data ?? null;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const sku = String(form.get('sku') ?? '');
    const name = String(form.get('authorName') ?? '').trim();
    setBusy(true);
    setError(undefined);
    setSaved(null);
    try {
      const written = await api<Review>(path, {
        method: 'PUT',
        body: {
          rating: Number(form.get('rating')),
          title: String(form.get('title') ?? ''),
          body: String(form.get('body') ?? ''),
          sku: sku || null,
          authorName: name || null,
        },
      });
      setEditing(false);
      setSaved(written.status === 'pending' ? STATUS_NOTES.pending : 'Thank you: your review is saved.');
      mine.reload();
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    setError(undefined);
    setSaved(null);
    try {
      await api(path, { method: 'DELETE' });
      setSaved('Your review is deleted.');
      mine.reload();
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (review && !editing) {
    return (
      <div className="my-review" data-testid="my-review">
        <h3>Your review</h3>
        <p>
          <Stars rating={review.rating} /> <strong>{review.title}</strong>
        </p>
        {review.status === 'hidden' ? (
          <p className="alert alert-info">
            The shop hid your review{review.hiddenReason ? `: ${review.hiddenReason}` : '.'}
          </p>
        ) : (
          <p className="muted">{STATUS_NOTES[review.status] ?? review.status}</p>
        )}
        {saved && <Notice tone="success">{saved}</Notice>}
        <ErrorMessage error={error} />
        <div className="inline">
          <button type="button" onClick={() => setEditing(true)}>
            Edit your review
          </button>
          <button type="button" className="link-button" disabled={busy} onClick={() => void remove()}>
            Delete your review
          </button>
        </div>
      </div>
    );
  }

  return (
    <form className="review-form stack" onSubmit={(e) => void submit(e)} aria-labelledby="review-form-heading">
      <h3 id="review-form-heading">{review ? 'Edit your review' : 'Write a review'}</h3>
      {saved && <Notice tone="success">{saved}</Notice>}
      <fieldset className="star-picker">
        <legend>Your rating</legend>
        {[1, 2, 3, 4, 5].map((n) => (
          <label key={n} className="radio">
            <input type="radio" name="rating" value={n} required defaultChecked={review?.rating === n} />
            {n} {n === 1 ? 'star' : 'stars'}
          </label>
        ))}
      </fieldset>
      <label>
        Title
        <input name="title" required maxLength={120} defaultValue={review?.title ?? ''} />
      </label>
      <label>
        Your review
        <textarea name="body" maxLength={5000} rows={5} defaultValue={review?.body ?? ''} />
      </label>
      {variants.length > 1 && (
        <label>
          Variant (optional)
          <select name="sku" defaultValue={review?.sku ?? ''}>
            <option value="">Not saying</option>
            {variants.map((v) => (
              <option key={v.sku} value={v.sku}>
                {variantLabel(v)}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Name shown with your review
        <input name="authorName" maxLength={100} defaultValue={review?.authorName ?? defaultName} />
      </label>
      <ErrorMessage error={error} title="Your review was not saved:" />
      <div className="inline">
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : review ? 'Save changes' : 'Post review'}
        </button>
        {review && (
          <button type="button" className="link-button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
