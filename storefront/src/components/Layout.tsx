import { Suspense, type FormEvent } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useCart } from '../state/cart';
import { CURRENCIES, useCurrency, type Currency } from '../state/currency';
import { useSession } from '../state/session';
import { ErrorBoundary, Loading } from './ui';

export function Layout() {
  const { user, signOut, hasRole } = useSession();
  const { count } = useCart();
  const { currency, setCurrency } = useCurrency();
  const navigate = useNavigate();
  const location = useLocation();

  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const q = String(new FormData(event.currentTarget).get('q') ?? '').trim();
    navigate(q ? `/products?q=${encodeURIComponent(q)}` : '/products');
  };

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <div className="header-row">
          <Link to="/" className="logo" aria-label="Bazaar home">
            Bazaar
          </Link>
          <form role="search" className="search" onSubmit={search}>
            <label htmlFor="site-search" className="visually-hidden">
              Search products
            </label>
            <input id="site-search" name="q" type="search" placeholder="Search products" key={location.key} />
            <button type="submit">Search</button>
          </form>
          <Link to="/cart" className="cart-link">
            Cart <span className="badge" aria-label={`${count} items`}>{count}</span>
          </Link>
        </div>
        <nav aria-label="Main" className="main-nav">
          <NavLink to="/products">Shop</NavLink>
          <NavLink to="/stores">Stores</NavLink>
          {user ? (
            <>
              <NavLink to="/orders">Orders</NavLink>
              <NavLink to="/wishlist">Wishlist</NavLink>
              <NavLink to="/account">Account</NavLink>
              {hasRole('ops') && <NavLink to="/ops">Ops</NavLink>}
              <button
                type="button"
                className="link-button"
                onClick={() => {
                  void signOut().then(() => navigate('/'));
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <>
              <NavLink to="/signin">Sign in</NavLink>
              <NavLink to="/signup">Create account</NavLink>
            </>
          )}
          <label className="currency">
            <span className="visually-hidden">Currency</span>
            <select
              aria-label="Currency"
              value={currency}
              onChange={(e) => setCurrency(e.target.value as Currency)}
            >
              {CURRENCIES.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        </nav>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <ErrorBoundary key={location.pathname}>
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </ErrorBoundary>
      </main>
      <footer className="site-footer">
        <p>
          Bazaar demo shop · payments are simulated · <Link to="/stores">find a store</Link>
          {user ? <> · signed in as {user.email}</> : null}
        </p>
      </footer>
    </>
  );
}
