import { lazy, type ReactNode } from 'react';
import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router';
import { Layout } from './components/Layout';
import { ErrorBoundary, NotFound } from './components/ui';
import { CartProvider } from './state/cart';
import { CurrencyProvider } from './state/currency';
import { SessionProvider } from './state/session';
import Home from './pages/Home';
import Catalog from './pages/Catalog';
import Product from './pages/Product';
import CartPage from './pages/CartPage';

// The browsing pages are in the first bundle; everything behind a sign-in is loaded when first visited.
const Checkout = lazy(() => import('./pages/Checkout'));
const Account = lazy(() => import('./pages/Account'));
const Stores = lazy(() => import('./pages/Stores'));
const SignIn = lazy(() => import('./pages/Auth').then((m) => ({ default: m.SignIn })));
const SignUp = lazy(() => import('./pages/Auth').then((m) => ({ default: m.SignUp })));
const OrderList = lazy(() => import('./pages/Orders').then((m) => ({ default: m.OrderList })));
const OrderDetail = lazy(() => import('./pages/Orders').then((m) => ({ default: m.OrderDetail })));
const Wishlist = lazy(() => import('./pages/Wishlist').then((m) => ({ default: m.Wishlist })));
const SharedWishlist = lazy(() => import('./pages/Wishlist').then((m) => ({ default: m.SharedWishlist })));
// The ops console: a module per page, none of it in the shop's first bundle.
const OpsLayout = lazy(() => import('./ops/OpsLayout'));
const OpsOrders = lazy(() => import('./ops/Orders'));
const OpsStock = lazy(() => import('./ops/Stock'));
const OpsCatalog = lazy(() => import('./ops/Catalog'));
const OpsReviews = lazy(() => import('./ops/Moderation'));
const OpsAudit = lazy(() => import('./ops/Audit'));

export const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      { index: true, element: <Home /> },
      { path: 'products', element: <Catalog /> },
      { path: 'products/:slug', element: <Product /> },
      { path: 'cart', element: <CartPage /> },
      { path: 'checkout', element: <Checkout /> },
      { path: 'orders', element: <OrderList /> },
      { path: 'orders/:id', element: <OrderDetail /> },
      { path: 'signin', element: <SignIn /> },
      { path: 'signup', element: <SignUp /> },
      { path: 'account', element: <Account /> },
      { path: 'stores', element: <Stores /> },
      { path: 'wishlist', element: <Wishlist /> },
      { path: 'wishlists/shared/:token', element: <SharedWishlist /> },
      {
        path: 'ops',
        element: <OpsLayout />,
        children: [
          { index: true, element: <OpsOrders /> },
          { path: 'stock', element: <OpsStock /> },
          { path: 'catalog', element: <OpsCatalog /> },
          { path: 'reviews', element: <OpsReviews /> },
          { path: 'audit', element: <OpsAudit /> },
        ],
      },
      { path: '*', element: <NotFound /> },
    ],
  },
];

export function Providers({ children }: { children: ReactNode }) {
  return (
    <ErrorBoundary>
      <CurrencyProvider>
        <SessionProvider>
          <CartProvider>{children}</CartProvider>
        </SessionProvider>
      </CurrencyProvider>
    </ErrorBoundary>
  );
}

const router = createBrowserRouter(routes);

export default function App() {
  return (
    <Providers>
      <RouterProvider router={router} />
    </Providers>
  );
}
