// The signed-in shopper's wishlist (/wishlist): saved variants with their price now and when saved (price
// drops flagged), products no longer sold shown as such, moves to the cart, and a read-only share link.
// The shared view (/wishlists/shared/:token) is the same list without the owner's actions, for anyone.
import { useState } from 'react';
import { Link, Navigate, useParams } from 'react-router';
import { api, ApiError } from '../api/client';
import type { ShareLink, WishlistItem, WishlistView } from '../api/types';
import { ErrorMessage, Loading, MoneyText, Notice, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { formatDate } from '../format';
import { useCart } from '../state/cart';
import { useCurrency } from '../state/currency';
import { useSession } from '../state/session';

/** Why an item cannot be bought any more, or null when it can. */
export function unavailableReason(item: WishlistItem, currency: string): string | null {
  if (item.productStatus === 'removed') return 'Removed from the shop';
  if (item.productStatus === 'archived') return 'No longer sold';
  if (item.productStatus !== 'active') return 'Not on sale yet';
  if (item.variantRemoved) return 'This variant is no longer offered';
  if (item.outOfStock) return 'Out of stock';
  if (!item.available) return `Not sold in ${currency}`;
  return null;
}

/** The address of a share link in this shop. */
export function shareUrl(token: string): string {
  return `${window.location.origin}/wishlists/shared/${encodeURIComponent(token)}`;
}

function ItemDetails({ item, currency }: { item: WishlistItem; currency: string }) {
  const gone = unavailableReason(item, currency);
  const linkable = item.productStatus === 'active';
  return (
    <>
      {linkable ? (
        <Link className="line-title" to={`/products/${item.productSlug}?sku=${encodeURIComponent(item.sku)}`}>
          {item.productTitle}
        </Link>
      ) : (
        <span className="line-title">{item.productTitle}</span>
      )}
      <span className="line-sku">SKU {item.sku}</span>
      {gone && <span className="tag tag-gone">{gone}</span>}
      {item.currentPrice && (
        <span>
          <MoneyText money={item.currentPrice} />
        </span>
      )}
      {item.backInStock && <span className="tag tag-drop">Back in stock</span>}
      {item.priceDropped && item.savedPrice && item.currentPrice && (
        <span className="tag tag-drop">
          Price dropped from <MoneyText money={item.savedPrice} /> to <MoneyText money={item.currentPrice} />
        </span>
      )}
    </>
  );
}

export function Wishlist() {
  const { user, loading } = useSession();
  const { currency } = useCurrency();
  const cart = useCart();
  const list = useApi(
    (signal) => (user ? api<WishlistView>(`/api/wishlist?currency=${currency}`, { signal }) : Promise.resolve(undefined)),
    [user?.id, currency],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string | null>(null);
  const [share, setShare] = useState<string | null | undefined>(undefined);

  if (loading) return <Loading />;
  if (!user) return <Navigate to="/signin?next=/wishlist" replace />;

  const run = async (action: () => Promise<string | void>) => {
    setBusy(true);
    setError(undefined);
    setMessage(null);
    try {
      const done = await action();
      if (done) setMessage(done);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      list.reload();
    }
  };

  const token = share === undefined ? (list.data?.shareToken ?? null) : share;

  return (
    <>
      <PageTitle>Your wishlist</PageTitle>
      <ErrorMessage error={list.error} />
      <ErrorMessage error={error} />
      {message && <Notice tone="success">{message}</Notice>}
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.items.length === 0 && (
        <p>
          Nothing saved yet. Save a product from its page with “Save to wishlist”. <Link to="/products">Browse the shop</Link>.
        </p>
      )}
      {list.data && list.data.items.length > 0 && (
        <ul className="wishlist" aria-label="Saved items" data-testid="wishlist">
          {list.data.items.map((item) => {
            const gone = unavailableReason(item, currency);
            return (
              <li key={item.sku} className={`wishlist-item${gone ? ' gone' : ''}`} data-testid={`wish-${item.sku}`}>
                <ItemDetails item={item} currency={currency} />
                <span className="muted">Saved {formatDate(item.addedAt)}</span>
                <div className="inline">
                  {!gone && (
                    <button
                      type="button"
                      disabled={busy}
                      onClick={() =>
                        void run(async () => {
                          await api(`/api/wishlist/items/${encodeURIComponent(item.sku)}/to-cart`, { method: 'POST' });
                          await cart.refresh();
                          return `${item.productTitle} moved to your cart.`;
                        })
                      }
                    >
                      Move to cart<span className="visually-hidden">: {item.productTitle} ({item.sku})</span>
                    </button>
                  )}
                  <button
                    type="button"
                    className="link-button"
                    disabled={busy}
                    onClick={() =>
                      void run(async () => {
                        await api(`/api/wishlist/items/${encodeURIComponent(item.sku)}`, { method: 'DELETE' });
                        return `${item.productTitle} removed from your wishlist.`;
                      })
                    }
                  >
                    Remove<span className="visually-hidden">: {item.productTitle} ({item.sku})</span>
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {list.data && (
        <section aria-labelledby="share-heading" className="share">
          <h2 id="share-heading">Share your wishlist</h2>
          {token ? (
            <>
              <p>Anyone with this link can see your wishlist (not change it):</p>
              <div className="inline share-link">
                <label className="visually-hidden" htmlFor="share-url">
                  Share link
                </label>
                <input id="share-url" readOnly value={shareUrl(token)} onFocus={(e) => e.currentTarget.select()} />
                <button
                  type="button"
                  className="secondary"
                  onClick={() =>
                    void navigator.clipboard?.writeText(shareUrl(token)).then(
                      () => setMessage('Link copied.'),
                      () => setMessage('Select the link and copy it.'),
                    )
                  }
                >
                  Copy link
                </button>
                <button
                  type="button"
                  className="link-button"
                  disabled={busy}
                  onClick={() =>
                    void run(async () => {
                      await api('/api/wishlist/share', { method: 'DELETE' });
                      setShare(null);
                      return 'The link no longer works.';
                    })
                  }
                >
                  Stop sharing
                </button>
              </div>
            </>
          ) : (
            <button
              type="button"
              className="secondary"
              disabled={busy}
              onClick={() =>
                void run(async () => {
                  const link = await api<ShareLink>('/api/wishlist/share', { method: 'PUT' });
                  setShare(link.token);
                })
              }
            >
              Make a share link
            </button>
          )}
        </section>
      )}
    </>
  );
}

export function SharedWishlist() {
  const { token = '' } = useParams();
  const { currency } = useCurrency();
  const list = useApi(
    (signal) => api<WishlistView>(`/api/wishlists/shared/${encodeURIComponent(token)}?currency=${currency}`, { signal, auth: false }),
    [token, currency],
  );
  if (list.loading && !list.data) return <Loading />;
  if (list.error) {
    const gone = list.error instanceof ApiError && list.error.status === 404;
    return (
      <>
        <PageTitle>Shared wishlist</PageTitle>
        {gone ? <p role="status">This wishlist is not shared any more, or the link is wrong.</p> : <ErrorMessage error={list.error} />}
        <p>
          <Link to="/products">Browse the shop</Link>
        </p>
      </>
    );
  }
  const items = list.data?.items ?? [];
  return (
    <>
      <PageTitle>Shared wishlist</PageTitle>
      <p className="muted">A shopper shared these with you. This list is read-only.</p>
      {items.length === 0 ? (
        <p>This wishlist is empty.</p>
      ) : (
        <ul className="wishlist" aria-label="Saved items" data-testid="wishlist">
          {items.map((item) => (
            <li
              key={item.sku}
              className={`wishlist-item${unavailableReason(item, currency) ? ' gone' : ''}`}
              data-testid={`wish-${item.sku}`}
            >
              <ItemDetails item={item} currency={currency} />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
