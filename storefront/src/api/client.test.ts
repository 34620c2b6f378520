import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, describeError, hasSession, setSession } from './client';

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json', ...headers },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  setSession(null);
});

describe('the API client', () => {
  it('turns a problem+json answer into an error that reads like the server meant it', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        json(422, {
          type: 'https://bazaar.dev/problems/validation',
          title: 'Unprocessable Entity',
          status: 422,
          detail: 'The request has invalid fields; see `errors`.',
          errors: [{ field: 'code', message: 'SUMMER20 cannot be used: This code has expired.' }],
        }),
      ),
    );
    const error = await api<never>('/api/cart/coupon', { method: 'PUT', body: { code: 'SUMMER20' } }).catch((e: unknown) => e as ApiError);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(422);
    expect(error.fieldMessage('code')).toBe('SUMMER20 cannot be used: This code has expired.');
    expect(describeError(error)).toBe('SUMMER20 cannot be used: This code has expired.');
  });

  it('explains overload with the wait the server asked for, and an unreachable server plainly', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => json(503, { type: 'x/overloaded', title: 'Service Unavailable', status: 503 }, { 'retry-after': '2' })),
    );
    expect(describeError(await api<never>('/api/checkout').catch((e: unknown) => e as ApiError))).toBe(
      'The shop is busy right now. Please try again in 2 s.',
    );
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    expect(describeError(await api<never>('/api/catalog/products').catch((e: unknown) => e as ApiError))).toMatch(/cannot be reached/);
  });

  it('keeps a status line when an error is not JSON (a proxy page), never an empty message', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })));
    const error = await api<never>('/api/cart').catch((e: unknown) => e as ApiError);
    expect(error.status).toBe(502);
    expect(describeError(error)).toBe('Something went wrong on our side. Please try again.');
  });

  it('refreshes an expired access token once and repeats the request with the new one', async () => {
    setSession({ accessToken: 'old', refreshToken: 'r1', expiresIn: 900, refreshExpiresIn: 3600, tokenType: 'Bearer' });
    const seen: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        const auth = (init.headers as Record<string, string>).authorization ?? '';
        seen.push(`${url} ${auth}`);
        if (url === '/api/auth/refresh') {
          expect(JSON.parse(String(init.body))).toEqual({ refreshToken: 'r1' });
          return json(200, { accessToken: 'new', refreshToken: 'r2', expiresIn: 900, refreshExpiresIn: 3600, tokenType: 'Bearer' });
        }
        return auth === 'Bearer new' ? json(200, { id: 'me' }) : json(401, { type: 'x', title: 'Unauthorized', status: 401 });
      }),
    );
    expect(await api('/api/users/me')).toEqual({ id: 'me' });
    expect(seen).toEqual(['/api/users/me Bearer old', '/api/auth/refresh ', '/api/users/me Bearer new']);
  });

  it('signs out when the refresh token is refused', async () => {
    setSession({ accessToken: 'old', refreshToken: 'used', expiresIn: 900, refreshExpiresIn: 3600, tokenType: 'Bearer' });
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { type: 'x', title: 'Unauthorized', status: 401 })));
    const error = await api<never>('/api/users/me').catch((e: unknown) => e as ApiError);
    expect(error.status).toBe(401);
    expect(hasSession()).toBe(false);
    expect(localStorage.getItem('bazaar.session')).toBeNull();
  });
});
