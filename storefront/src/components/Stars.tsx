import type { RatingSummary } from '../api/types';

/** "★★★★☆", read out as "4 out of 5 stars" (or as `label`; an empty label hides it from screen readers). */
export function Stars({ rating, label }: { rating: number; label?: string }) {
  const whole = Math.max(0, Math.min(5, Math.round(rating)));
  const glyphs = (
    <span aria-hidden="true">
      {'★'.repeat(whole)}
      {'☆'.repeat(5 - whole)}
    </span>
  );
  if (label === '') return <span className="stars">{glyphs}</span>;
  return (
    <span className="stars" role="img" aria-label={label ?? `${rating} out of 5 stars`}>
      {glyphs}
    </span>
  );
}

/** "4.5 out of 5 (12 reviews)"; "No reviews yet" without any. */
export function ratingText(summary: RatingSummary | undefined): string {
  if (!summary || summary.count === 0 || summary.average == null) return 'No reviews yet';
  return `${summary.average.toFixed(1)} out of 5 (${summary.count} ${summary.count === 1 ? 'review' : 'reviews'})`;
}
