// Test helpers of the ops console: a signed-in user with given roles, and the console's routes.
import { render } from '@testing-library/react';
import { Suspense } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { setSession } from '../api/client';
import type { Role } from '../api/types';
import { Providers } from '../App';
import { ok } from '../test-utils';
import Audit from './Audit';
import Catalog from './Catalog';
import Moderation from './Moderation';
import OpsLayout from './OpsLayout';
import Orders from './Orders';
import Stock from './Stock';

export const STAFF_ID = '0190a000-0000-7000-8000-000000000001';

/** Signs in (as far as the storefront knows) a user with `roles`; returns the `GET /api/users/me` handler. */
export function signedInAs(roles: Role[], email = 'staff@bazaar.local') {
  setSession({ accessToken: 'token', refreshToken: 'refresh', expiresIn: 900, refreshExpiresIn: 86400, tokenType: 'Bearer' });
  return { 'GET /api/users/me': () => ok({ id: STAFF_ID, email, name: 'Staff', roles, createdAt: '2026-01-01T00:00:00Z' }) };
}

/** The ops console at `path`, inside the app's providers, as App.tsx routes it. */
export function renderOps(path: string) {
  return render(
    <Providers>
      <MemoryRouter initialEntries={[path]}>
        <Suspense fallback={null}>
          <Routes>
            <Route path="/ops" element={<OpsLayout />}>
              <Route index element={<Orders />} />
              <Route path="stock" element={<Stock />} />
              <Route path="catalog" element={<Catalog />} />
              <Route path="reviews" element={<Moderation />} />
              <Route path="audit" element={<Audit />} />
            </Route>
            <Route path="/signin" element={<p>sign-in page</p>} />
          </Routes>
        </Suspense>
      </MemoryRouter>
    </Providers>,
  );
}
