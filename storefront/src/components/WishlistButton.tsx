// "Save to wishlist" on the product page: saves the chosen variant (PUT /api/wishlist/items/{sku}), or
// removes it when it is saved already. Guests are invited to sign in first.
import { useEffect, useState } from 'react';
import { Link, useLocation } from 'react-router';
import { api } from '../api/client';
import type { WishlistView } from '../api/types';
import { useCurrency } from '../state/currency';
import { useSession } from '../state/session';
import { ErrorMessage, Notice } from './ui';
import { useApi } from './useApi';

export function WishlistButton({ sku, title }: { sku: string; title: string }) {
  const { user } = useSession();
  const { currency } = useCurrency();
  const location = useLocation();
  const wishlist = useApi(
    (signal) => (user ? api<WishlistView>(`/api/wishlist?currency=${currency}`, { signal }) : Promise.resolve(undefined)),
    [user?.id],
  );
  const [saved, setSaved] = useState<Set<string> | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (wishlist.data) setSaved(new Set(wishlist.data.items.map((i) => i.sku)));
  }, [wishlist.data]);
  useEffect(() => {
    setMessage(null);
    setError(undefined);
  }, [sku]);

  if (!user) {
    const next = encodeURIComponent(`${location.pathname}${location.search}`);
    return (
      <p className="wishlist-action">
        <Link to={`/signin?next=${next}`}>Sign in to save this to a wishlist</Link>
      </p>
    );
  }
  const isSaved = saved?.has(sku) ?? false;

  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    setMessage(null);
    try {
      if (isSaved) {
        await api(`/api/wishlist/items/${encodeURIComponent(sku)}`, { method: 'DELETE' });
        setSaved((s) => new Set([...(s ?? [])].filter((x) => x !== sku)));
        setMessage(`${title} (${sku}) is off your wishlist.`);
      } else {
        const view = await api<WishlistView>(`/api/wishlist/items/${encodeURIComponent(sku)}?currency=${currency}`, {
          method: 'PUT',
        });
        setSaved(new Set(view.items.map((i) => i.sku)));
        setMessage(`${title} (${sku}) is saved to your wishlist.`);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="wishlist-action">
      <button
        type="button"
        className="secondary"
        disabled={busy || (saved === null && !wishlist.error)}
        onClick={() => void toggle()}
      >
        {isSaved ? '♥ Saved to wishlist' : '♡ Save to wishlist'}
      </button>
      {message && (
        <Notice tone="success">
          {message} <Link to="/wishlist">View wishlist</Link>
        </Notice>
      )}
      <ErrorMessage error={error} />
      {wishlist.error != null && <ErrorMessage error={wishlist.error} title="Your wishlist could not be loaded:" />}
    </div>
  );
}
