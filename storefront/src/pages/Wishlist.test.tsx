import { render, screen, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { Providers } from '../App';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '../api/client';
import type { WishlistItem } from '../api/types';
import { fakeApi, ok, problem, renderAt, usd } from '../test-utils';
import { SharedWishlist, Wishlist } from './Wishlist';

function item(sku: string, over: Partial<WishlistItem> = {}): WishlistItem {
  return {
    sku,
    productSlug: 'trail-runner',
    productTitle: 'Trail Runner',
    productStatus: 'active',
    variantRemoved: false,
    available: true,
    savedPrice: usd('129.00'),
    currentPrice: usd('129.00'),
    priceDropped: false,
    addedAt: '2026-11-30T10:00:00Z',
    ...over,
  };
}

const items = [
  item('TR-42-BLK', { savedPrice: usd('149.00'), currentPrice: usd('129.00'), priceDropped: true }),
  item('OLD-1', { productSlug: 'old-boot', productTitle: 'Old Boot', productStatus: 'archived', available: false }),
  item('GONE-1', { productSlug: 'gone', productTitle: 'Gone Hat', productStatus: 'removed', available: false }),
  item('TR-44-RED', { variantRemoved: true, available: false }),
  item('SS-L-RED', { productSlug: 'storm-shell', productTitle: 'Storm Shell', outOfStock: true, available: false }),
  item('SS-M-RED', { productSlug: 'storm-shell', productTitle: 'Storm Shell', backInStock: true }),
];

const me = () => ok({ id: 'u1', email: 'sam@example.com', name: 'Sam', roles: ['customer'], createdAt: '2026-11-01T00:00:00Z' });
const noCart = () => problem(404, { type: 'x', title: 'Not Found' });

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

function signIn() {
  setSession({ accessToken: 'token', refreshToken: 'refresh', expiresIn: 900, refreshExpiresIn: 86400, tokenType: 'Bearer' });
}

describe('the wishlist page', () => {
  it('shows price drops, stock news and what became of products no longer sold, which cannot be moved to the cart', async () => {
    signIn();
    fakeApi({ 'GET /api/users/me': me, 'GET /api/cart': noCart, 'GET /api/wishlist': () => ok({ items }) });
    renderAt('/wishlist', '/wishlist', <Wishlist />);
    const dropped = within(await screen.findByTestId('wish-TR-42-BLK'));
    expect(dropped.getByText(/Price dropped from/)).toHaveTextContent('Price dropped from $149.00 to $129.00');
    expect(dropped.getByRole('button', { name: /Move to cart/ })).toBeEnabled();
    expect(dropped.getByRole('link', { name: 'Trail Runner' })).toHaveAttribute('href', '/products/trail-runner?sku=TR-42-BLK');

    const archived = within(screen.getByTestId('wish-OLD-1'));
    expect(archived.getByText('No longer sold')).toBeInTheDocument();
    expect(archived.queryByRole('button', { name: /Move to cart/ })).not.toBeInTheDocument();
    expect(archived.queryByRole('link', { name: 'Old Boot' })).not.toBeInTheDocument();
    expect(within(screen.getByTestId('wish-GONE-1')).getByText('Removed from the shop')).toBeInTheDocument();
    expect(within(screen.getByTestId('wish-TR-44-RED')).getByText('This variant is no longer offered')).toBeInTheDocument();
    const soldOut = within(screen.getByTestId('wish-SS-L-RED'));
    expect(soldOut.getByText('Out of stock')).toBeInTheDocument();
    expect(soldOut.queryByRole('button', { name: /Move to cart/ })).not.toBeInTheDocument();
    const back = within(screen.getByTestId('wish-SS-M-RED'));
    expect(back.getByText('Back in stock')).toBeInTheDocument();
    expect(back.getByRole('button', { name: /Move to cart/ })).toBeEnabled();
  });

  it('moves an item to the cart, and shows the cart’s refusal instead of losing it', async () => {
    signIn();
    let tries = 0;
    let list = [items[0]];
    const calls = fakeApi({
      'GET /api/users/me': me,
      'GET /api/cart': noCart,
      'GET /api/wishlist': () => ok({ items: list }),
      'POST /api/wishlist/items/TR-42-BLK/to-cart': () => {
        tries += 1;
        if (tries === 1) {
          return problem(503, { type: 'x', title: 'Service Unavailable', detail: 'The cart could not be reached; nothing was lost, try the move again.' });
        }
        list = [];
        return new Response(null, { status: 204 });
      },
    });
    renderAt('/wishlist', '/wishlist', <Wishlist />);
    await userEvent.click(await screen.findByRole('button', { name: /Move to cart/ }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The shop is busy right now.');
    expect(screen.getByTestId('wish-TR-42-BLK')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: /Move to cart/ }));
    expect(await screen.findByText('Trail Runner moved to your cart.')).toBeInTheDocument();
    expect(await screen.findByText(/Nothing saved yet/)).toBeInTheDocument();
    expect(calls.filter((c) => c.url.pathname === '/api/cart').length).toBeGreaterThan(1); // the cart badge follows
  });

  it('makes a read-only share link and stops sharing it', async () => {
    signIn();
    let token: string | null = null;
    fakeApi({
      'GET /api/users/me': me,
      'GET /api/cart': noCart,
      'GET /api/wishlist': () => ok({ items: [items[0]], ...(token ? { shareToken: token } : {}) }),
      'PUT /api/wishlist/share': () => {
        token = 'tok_123';
        return ok({ token, path: '/api/wishlists/shared/tok_123' });
      },
      'DELETE /api/wishlist/share': () => {
        token = null;
        return new Response(null, { status: 204 });
      },
    });
    renderAt('/wishlist', '/wishlist', <Wishlist />);
    await userEvent.click(await screen.findByRole('button', { name: 'Make a share link' }));
    expect(await screen.findByLabelText('Share link')).toHaveValue(`${window.location.origin}/wishlists/shared/tok_123`);
    await userEvent.click(screen.getByRole('button', { name: 'Stop sharing' }));
    expect(await screen.findByText('The link no longer works.')).toBeInTheDocument();
    expect(await screen.findByRole('button', { name: 'Make a share link' })).toBeInTheDocument();
  });

  it('sends a guest to sign in first, and back here after', async () => {
    fakeApi({});
    render(
      <Providers>
        <MemoryRouter initialEntries={['/wishlist']}>
          <Routes>
            <Route path="/wishlist" element={<Wishlist />} />
            <Route path="/signin" element={<SignInProbe />} />
          </Routes>
        </MemoryRouter>
      </Providers>,
    );
    expect(await screen.findByTestId('signin')).toHaveTextContent('next=/wishlist');
  });
});

function SignInProbe() {
  return <p data-testid="signin">{useLocation().search}</p>;
}

describe('a shared wishlist', () => {
  it('is shown read-only to anyone with the link, without the owner’s actions', async () => {
    const calls = fakeApi({ 'GET /api/wishlists/shared/tok_123': () => ok({ items: items.slice(0, 2) }) });
    renderAt('/wishlists/shared/tok_123', '/wishlists/shared/:token', <SharedWishlist />);
    expect(await screen.findByTestId('wish-TR-42-BLK')).toHaveTextContent('Price dropped from $149.00 to $129.00');
    expect(screen.getByTestId('wish-OLD-1')).toHaveTextContent('No longer sold');
    expect(screen.queryByRole('button')).not.toBeInTheDocument();
    expect((calls[0].init.headers as Record<string, string>).authorization).toBeUndefined();
  });

  it('says so when the link no longer works', async () => {
    fakeApi({
      'GET /api/wishlists/shared/old': () => problem(404, { type: 'x', title: 'Not Found', detail: 'No wishlist is shared with this link.' }),
    });
    renderAt('/wishlists/shared/old', '/wishlists/shared/:token', <SharedWishlist />);
    expect(await screen.findByText('This wishlist is not shared any more, or the link is wrong.')).toBeInTheDocument();
  });
});
