// The ops console's frame (/ops): who may enter, and the navigation between its pages. Each page is its own
// lazily loaded module (App.tsx), so none of the console is in the shop's first bundle. Everything goes
// through the same public API as the shop: the server decides what each role may do; these checks only
// spare staff and shoppers pages they cannot use, with a clear message instead.
import { Suspense, type ReactNode } from 'react';
import { Navigate, NavLink, Outlet, useLocation } from 'react-router';
import type { Role } from '../api/types';
import { Loading, PageTitle } from '../components/ui';
import { useSession } from '../state/session';
import './ops.css';

/** Renders `children` for a signed-in user with one of `roles` (admin always counts); else says why not. */
export function RequireRole({ roles, what, children }: { roles: Role[]; what: string; children: ReactNode }) {
  const { user, loading, hasRole } = useSession();
  const location = useLocation();
  if (loading) return <Loading />;
  if (!user) return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  if (!hasRole(...roles)) {
    const needed = [...new Set([...roles, 'admin' as Role])];
    const list = needed.length === 1 ? `the ${needed[0]} role` : `the ${needed.slice(0, -1).join(', ')} or ${needed.at(-1)} role`;
    return (
      <>
        <PageTitle>{what}</PageTitle>
        <div className="alert alert-error" role="alert">
          {what} is for staff with {list}; {user.email} has {user.roles.length ? `only ${user.roles.join(', ')}` : 'no role'}.
          Ask an admin if you need access.
        </div>
      </>
    );
  }
  return <>{children}</>;
}

export default function OpsLayout() {
  const { hasRole } = useSession();
  return (
    <RequireRole roles={['ops']} what="The ops console">
      <div className="ops">
        <nav aria-label="Ops" className="ops-nav">
          <NavLink to="/ops" end>
            Orders
          </NavLink>
          <NavLink to="/ops/stock">Stock</NavLink>
          <NavLink to="/ops/catalog">Catalog</NavLink>
          <NavLink to="/ops/reviews">Reviews</NavLink>
          {hasRole('admin') && <NavLink to="/ops/audit">Audit trail</NavLink>}
        </nav>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </div>
    </RequireRole>
  );
}
