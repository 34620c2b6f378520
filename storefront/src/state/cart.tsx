// The cart: a guest cart reached with its X-Cart-Token (kept in localStorage, so it survives a reload), or
// the signed-in shopper's cart. On sign-in the guest cart is merged into the shopper's (POST /api/cart/merge).
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { api, ApiError } from '../api/client';
import type { Cart } from '../api/types';
import { useCurrency } from './currency';
import { useSession } from './session';

const TOKEN_KEY = 'bazaar.cartToken';
const DESTINATION_KEY = 'bazaar.destination';

export interface Destination {
  country: string;
  region: string;
}

interface CartContextValue {
  cart: Cart | null;
  loading: boolean;
  /** Units in the cart, for the header's badge. */
  count: number;
  destination: Destination;
  setDestination: (destination: Destination) => void;
  shippingMethod: string;
  setShippingMethod: (code: string) => void;
  refresh: () => Promise<Cart | null>;
  addLine: (sku: string, quantity: number) => Promise<void>;
  setQuantity: (sku: string, quantity: number) => Promise<void>;
  removeLine: (sku: string) => Promise<void>;
  applyCoupon: (code: string) => Promise<void>;
  removeCoupon: () => Promise<void>;
  /** Why the cart could not follow the chosen currency, if it could not. */
  currencyError: unknown;
  /** After checkout the server has emptied the cart. */
  clearLocal: () => void;
}

const CartContext = createContext<CartContextValue | null>(null);

function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token: string | null) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // no storage
  }
}

function storedDestination(): Destination {
  try {
    const raw = localStorage.getItem(DESTINATION_KEY);
    if (raw) return JSON.parse(raw) as Destination;
  } catch {
    // no storage
  }
  return { country: 'US', region: 'CA' };
}

export function CartProvider({ children }: { children: ReactNode }) {
  const { user, loading: sessionLoading } = useSession();
  const { currency } = useCurrency();
  const [cart, setCart] = useState<Cart | null>(null);
  const [loading, setLoading] = useState(true);
  const [destination, setDestinationState] = useState<Destination>(storedDestination);
  const [shippingMethod, setShippingMethod] = useState('standard');
  const [currencyError, setCurrencyError] = useState<unknown>();
  const signedIn = !!user;
  const state = useRef({ signedIn, destination, shippingMethod });
  state.current = { signedIn, destination, shippingMethod };

  const headers = (): Record<string, string> => {
    const token = storedToken();
    return !state.current.signedIn && token ? { 'x-cart-token': token } : {};
  };

  const refresh = useCallback(async (): Promise<Cart | null> => {
    if (!state.current.signedIn && !storedToken()) {
      setCart(null);
      setLoading(false);
      return null;
    }
    const { destination: d, shippingMethod: m } = state.current;
    const query = new URLSearchParams();
    if (d.country) query.set('country', d.country);
    if (d.country && d.region) query.set('region', d.region);
    if (d.country && m) query.set('shippingMethod', m);
    try {
      const next = await api<Cart>(`/api/cart?${query}`, { headers: headers() });
      setCart(next);
      return next;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        // The guest cart is gone (merged elsewhere, or expired): start afresh when something is added.
        if (!state.current.signedIn) storeToken(null);
        setCart(null);
        return null;
      }
      if (error instanceof ApiError && error.status === 422 && d.region) {
        // An unknown region for the estimate: price without it rather than show nothing.
        const next = await api<Cart>(`/api/cart?country=${encodeURIComponent(d.country)}`, { headers: headers() });
        setCart(next);
        return next;
      }
      throw error;
    } finally {
      setLoading(false);
    }
  }, []);

  // Sign-in merges the guest cart; sign-out leaves the shopper's cart on the server.
  useEffect(() => {
    if (sessionLoading) return;
    let cancelled = false;
    (async () => {
      const token = storedToken();
      if (user && token) {
        try {
          await api<Cart>('/api/cart/merge', { method: 'POST', headers: { 'x-cart-token': token } });
        } catch (error) {
          // 404: nothing to merge any more. Anything else: keep the token to try again next time.
          if (!(error instanceof ApiError && error.status === 404)) {
            if (!cancelled) await refresh().catch(() => null);
            return;
          }
        }
        storeToken(null);
      }
      if (!cancelled) await refresh().catch(() => null);
    })();
    return () => {
      cancelled = true;
    };
  }, [user?.id, sessionLoading, refresh]); // eslint-disable-line react-hooks/exhaustive-deps

  /** The cart to add to, created in the chosen currency when there is none yet. */
  const ensureCart = async () => {
    if (state.current.signedIn) {
      if (!cart) await api<Cart>('/api/cart', { method: 'POST', body: { currency } });
      return;
    }
    if (!storedToken()) {
      const created = await api<Cart>('/api/cart', { method: 'POST', body: { currency }, auth: false });
      storeToken(created.cartToken ?? null);
    }
  };

  // The cart follows the currency switcher: PATCH /api/cart changes its currency in place (lines, quantities
  // and coupon stay; each line is priced again). Asking again for the same currency changes nothing, so an
  // attempt cut short (a reload) is simply made again. A refusal is shown, never swallowed.
  useEffect(() => {
    if (cart?.currency === currency) setCurrencyError(undefined);
    if (!cart || cart.currency === currency) return;
    let cancelled = false;
    (async () => {
      try {
        await api<Cart>('/api/cart', { method: 'PATCH', body: { currency }, headers: headers() });
        if (cancelled) return;
        setCurrencyError(undefined);
        await refresh();
      } catch (error) {
        if (cancelled) return;
        console.error('the cart could not follow the currency', error);
        setCurrencyError(error);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [currency, cart?.currency, signedIn]); // eslint-disable-line react-hooks/exhaustive-deps

  const mutate = async (path: string, method: string, body?: unknown) => {
    await api<Cart>(path, { method, body, headers: headers() });
    await refresh();
  };

  const value: CartContextValue = {
    cart,
    loading,
    count: cart?.lines.reduce((n, line) => n + line.quantity, 0) ?? 0,
    destination,
    setDestination: (next) => {
      setDestinationState(next);
      state.current.destination = next;
      try {
        localStorage.setItem(DESTINATION_KEY, JSON.stringify(next));
      } catch {
        // no storage
      }
      void refresh().catch(() => null);
    },
    shippingMethod,
    setShippingMethod: (code) => {
      setShippingMethod(code);
      state.current.shippingMethod = code;
      void refresh().catch(() => null);
    },
    refresh,
    addLine: async (sku, quantity) => {
      await ensureCart();
      await mutate('/api/cart/lines', 'POST', { sku, quantity });
    },
    setQuantity: (sku, quantity) =>
      mutate(`/api/cart/lines/${encodeURIComponent(sku)}`, 'PUT', { quantity }),
    removeLine: (sku) => mutate(`/api/cart/lines/${encodeURIComponent(sku)}`, 'DELETE'),
    applyCoupon: (code) => mutate('/api/cart/coupon', 'PUT', { code }),
    removeCoupon: () => mutate('/api/cart/coupon', 'DELETE'),
    currencyError,
    clearLocal: () => setCart((c) => (c ? { ...c, lines: [] } : c)),
  };
  return <CartContext.Provider value={value}>{children}</CartContext.Provider>;
}

export function useCart(): CartContextValue {
  const value = useContext(CartContext);
  if (!value) throw new Error('useCart outside CartProvider');
  return value;
}
