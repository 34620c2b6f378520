import { Component, useEffect, useRef, useState, type ErrorInfo, type ReactNode } from 'react';
import { Link } from 'react-router';
import { describeError } from '../api/client';
import type { EffectivePrice, Image, Money } from '../api/types';
import { formatMoney } from '../format';

/** An error as a person would want it: the server's reason, in a region screen readers announce. */
export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div className="alert alert-error" role="alert">
      {title && <strong>{title} </strong>}
      {describeError(error)}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'success' }) {
  return (
    <div className={`alert alert-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      {label}
    </p>
  );
}

let firstPage = true;

/**
 * Page heading that takes focus after a navigation inside the app (not on the first page load), so that
 * keyboard and screen-reader users land on the new page's title.
 */
export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (firstPage) {
      firstPage = false;
      return;
    }
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function Price({ price }: { price: EffectivePrice | undefined }) {
  if (!price) return <span className="price-missing">Not sold in this currency</span>;
  const reduced = price.effective.amount !== price.list.amount;
  const compareAt = price.compareAt ?? (reduced ? price.list : null);
  return (
    <span className="price">
      <span className="price-now">{formatMoney(price.effective)}</span>
      {compareAt && compareAt.amount !== price.effective.amount && (
        <>
          {' '}
          <s className="price-was" aria-label={`was ${formatMoney(compareAt)}`}>
            {formatMoney(compareAt)}
          </s>
        </>
      )}
    </span>
  );
}

export function MoneyText({ money }: { money: Money | null | undefined }) {
  return <>{formatMoney(money)}</>;
}

/** Product pictures live on a CDN that may not answer: a failed image turns into a labelled tile. */
export function ProductImage({
  image,
  title,
  eager,
  decorative,
}: {
  image?: Image | null;
  title: string;
  eager?: boolean;
  /** Beside the product's name (a card's link): hidden from assistive technology, which reads the name. */
  decorative?: boolean;
}) {
  const [failed, setFailed] = useState(!image);
  if (failed || !image) {
    if (decorative) {
      return (
        <div className="image-placeholder" aria-hidden="true">
          <span>{title.slice(0, 1)}</span>
        </div>
      );
    }
    return (
      <div className="image-placeholder" role="img" aria-label={image?.alt ?? title}>
        <span aria-hidden="true">{title.slice(0, 1)}</span>
      </div>
    );
  }
  return (
    <img
      src={image.url}
      alt={decorative ? '' : (image.alt ?? title)}
      loading={eager ? 'eager' : 'lazy'}
      width={400}
      height={300}
      onError={() => setFailed(true)}
    />
  );
}

interface BoundaryState {
  error: Error | null;
}

/** Catches rendering errors so that a bug shows a message and a way back instead of a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, BoundaryState> {
  state: BoundaryState = { error: null };

  static getDerivedStateFromError(error: Error): BoundaryState {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('storefront error', error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return (
        <main id="main" className="page">
          <h1>Something went wrong</h1>
          <div className="alert alert-error" role="alert">
            {describeError(this.state.error)}
          </div>
          <p>
            <a href="/">Back to the shop</a> or reload the page.
          </p>
        </main>
      );
    }
    return this.props.children;
  }
}

export function NotFound() {
  return (
    <div className="page">
      <PageTitle>Page not found</PageTitle>
      <p>
        There is nothing at this address. <Link to="/products">Browse the shop</Link>.
      </p>
    </div>
  );
}
