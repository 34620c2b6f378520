// Ops: review moderation. The queues of held, reported and hidden reviews; hiding one takes a reason (shown to
// its author), publishing shows a held or hidden one again. Review text is plain text: React escapes it and
// nothing here renders HTML.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ErrorMessage, Loading, Notice, PageTitle } from '../components/ui';
import { formatDate } from '../format';
import { hideReview, moderationQueue, publishReview } from './api';
import type { ModerationQueue, StaffReview } from './types';

export const QUEUES: { queue: ModerationQueue; title: string; empty: string }[] = [
  { queue: 'reported', title: 'Reported', empty: 'No review has been reported.' },
  { queue: 'pending', title: 'Held', empty: 'No review is waiting to be published.' },
  { queue: 'hidden', title: 'Hidden', empty: 'No review is hidden.' },
];

export default function OpsReviews() {
  const [params, setParams] = useSearchParams();
  const queue = (QUEUES.find((q) => q.queue === params.get('queue'))?.queue ?? 'reported') as ModerationQueue;
  const [items, setItems] = useState<StaffReview[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [done, setDone] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    moderationQueue(queue, null, controller.signal)
      .then((page) => {
        if (controller.signal.aborted) return;
        setItems(page.items);
        setCursor(page.nextCursor ?? null);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [queue, tick]);

  const more = async () => {
    if (!cursor) return;
    setLoading(true);
    try {
      const page = await moderationQueue(queue, cursor);
      setItems((list) => [...list, ...page.items]);
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };

  const changed = (message: string) => {
    setDone(message);
    setTick((t) => t + 1);
  };

  const current = QUEUES.find((q) => q.queue === queue)!;
  return (
    <>
      <PageTitle>Review moderation</PageTitle>
      <div role="group" aria-label="Moderation queues" className="ops-tabs">
        {QUEUES.map((q) => (
          <button
            key={q.queue}
            type="button"
            aria-pressed={q.queue === queue}
            onClick={() => {
              setDone(null);
              setParams({ queue: q.queue }, { replace: true });
            }}
          >
            {q.title}
          </button>
        ))}
      </div>
      {done && <Notice tone="success">{done}</Notice>}
      <ErrorMessage error={error} />
      <section aria-labelledby="queue-heading">
        <h2 id="queue-heading">{current.title} reviews</h2>
        {loading && items.length === 0 && <Loading />}
        {!loading && !error && items.length === 0 && <p className="muted">{current.empty}</p>}
        <ul className="ops-reviews">
          {items.map((r) => (
            <ReviewItem key={r.id} review={r} onChange={changed} />
          ))}
        </ul>
        {cursor && (
          <button type="button" onClick={() => void more()} disabled={loading}>
            Show older reviews
          </button>
        )}
      </section>
    </>
  );
}

const STATUS_WORDS: Record<string, string> = { published: 'Published', pending: 'Held', hidden: 'Hidden' };

export function ReviewItem({ review, onChange }: { review: StaffReview; onChange: (message: string) => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [hiding, setHiding] = useState(false);
  const run = async (action: () => Promise<unknown>, message: string) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onChange(message);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const hide = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const reason = String(new FormData(event.currentTarget).get('reason') ?? '').trim();
    void run(() => hideReview(review.id, reason), `Hidden: “${review.title}”.`);
  };
  return (
    <li className="ops-review" data-testid={`review-${review.id}`}>
      <article aria-label={`Review “${review.title}”`}>
        <header>
          <span role="img" aria-label={`${review.rating} out of 5 stars`}>
            {'★'.repeat(review.rating)}
            {'☆'.repeat(5 - review.rating)}
          </span>{' '}
          <strong>{review.title}</strong>
          <span className="line-sku">
            by {review.authorName} on <Link to={`/products/${review.productSlug}`}>{review.productSlug}</Link>
            {review.sku && <> ({review.sku})</>} · {formatDate(review.createdAt)} ·{' '}
            <span className={`review-status review-${review.status}`}>{STATUS_WORDS[review.status] ?? review.status}</span>
            {review.reportCount ? (
              <>
                {' '}
                · reported by {review.reportCount} {review.reportCount === 1 ? 'shopper' : 'shoppers'}
              </>
            ) : null}
          </span>
        </header>
        {review.body && <p className="review-body">{review.body}</p>}
        {review.hiddenReason && <p className="muted">Hidden because: {review.hiddenReason}</p>}
      </article>
      <div className="ops-actions">
        {review.status !== 'hidden' &&
          (hiding ? (
            <form onSubmit={hide} className="inline" aria-label={`Hide “${review.title}”`}>
              <label>
                Reason (shown to the author){' '}
                <input name="reason" required minLength={3} maxLength={500} placeholder="off-topic, abusive…" />
              </label>
              <button type="submit" className="danger" disabled={busy}>
                Hide review
              </button>
              <button type="button" disabled={busy} onClick={() => setHiding(false)}>
                Keep it
              </button>
            </form>
          ) : (
            <button type="button" disabled={busy} onClick={() => setHiding(true)}>
              Hide…<span className="visually-hidden"> “{review.title}”</span>
            </button>
          ))}
        {review.status !== 'published' && (
          <button type="button" disabled={busy} onClick={() => void run(() => publishReview(review.id), `Published: “${review.title}”.`)}>
            {review.status === 'hidden' ? 'Unhide' : 'Publish'}
            <span className="visually-hidden"> “{review.title}”</span>
          </button>
        )}
      </div>
      <ErrorMessage error={error} />
    </li>
  );
}
