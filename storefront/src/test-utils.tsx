import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { vi } from 'vitest';
import { Providers } from './App';

type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>;

/** Stubs fetch with a table of `METHOD /path` handlers; anything else fails the test loudly. */
export function fakeApi(handlers: Record<string, Handler>) {
  const calls: { method: string; url: URL; init: RequestInit }[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const url = new URL(input, 'http://shop.test');
      const method = init.method ?? 'GET';
      calls.push({ method, url, init });
      const handler = handlers[`${method} ${url.pathname}`];
      if (!handler) throw new Error(`unexpected request ${method} ${url.pathname}`);
      return handler(url, init);
    }),
  );
  return calls;
}

export function ok(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

export function problem(status: number, body: object): Response {
  return new Response(JSON.stringify({ status, ...body }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

export function renderAt(path: string, route: string, element: ReactElement) {
  return render(
    <Providers>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={route} element={element} />
        </Routes>
      </MemoryRouter>
    </Providers>,
  );
}

export const usd = (amount: string) => ({ amount, currency: 'USD' });
