// The one way the storefront talks to Bazaar: same-origin fetch to the public API, problem+json errors turned
// into ApiError, the access token attached and refreshed once when it has run out.
import type { FieldError, Problem, Session } from './types';

/** An answer that was not a success, or no answer at all (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail?: string;
  readonly fieldErrors: FieldError[];
  readonly retryAfter?: number;

  constructor(problem: Problem, retryAfter?: number) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail ?? undefined;
    this.fieldErrors = problem.errors ?? [];
    this.retryAfter = retryAfter;
  }

  /** The message for this field, if the server named it. */
  fieldMessage(field: string): string | undefined {
    return this.fieldErrors.find((e) => e.field === field)?.message;
  }
}

/** What a person should read for an error: the server's own words when it gave any. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return 'The shop cannot be reached. Check your connection and try again.';
    if (error.status === 503) {
      const wait = error.retryAfter ? ` Please try again in ${error.retryAfter} s.` : ' Please try again shortly.';
      return `The shop is busy right now.${wait}`;
    }
    if (error.fieldErrors.length > 0) return error.fieldErrors.map((e) => e.message).join(' ');
    if (error.status === 401 && !error.detail) return 'Please sign in again.';
    if (error.status === 403) return error.detail ?? 'You are not allowed to do that.';
    if (error.status >= 500) return 'Something went wrong on our side. Please try again.';
    return error.detail ?? error.title;
  }
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}

// ---------------------------------------------------------------------------------------------------------
// Session tokens (kept in localStorage so that a reload stays signed in; sign-out removes them)
// ---------------------------------------------------------------------------------------------------------

const SESSION_KEY = 'bazaar.session';

interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms after which the access token is treated as expired. */
  expiresAt: number;
}

let stored: StoredSession | null = readSession();
const listeners = new Set<() => void>();

function readSession(): StoredSession | null {
  try {
    const raw = globalThis.localStorage?.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as StoredSession) : null;
  } catch {
    return null;
  }
}

export function hasSession(): boolean {
  return stored !== null;
}

export function setSession(session: Session | null): void {
  stored = session
    ? {
        accessToken: session.accessToken,
        refreshToken: session.refreshToken,
        // Refresh a little early so that a request never leaves with a token about to expire.
        expiresAt: Date.now() + Math.max(0, session.expiresIn - 20) * 1000,
      }
    : null;
  try {
    if (stored) localStorage.setItem(SESSION_KEY, JSON.stringify(stored));
    else localStorage.removeItem(SESSION_KEY);
  } catch {
    // Private mode without storage: the session lives in memory only.
  }
  listeners.forEach((listener) => listener());
}

/** Called when the session changes (sign-in, sign-out, a refresh that failed). */
export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function refreshToken(): string | undefined {
  return stored?.refreshToken;
}

let refreshing: Promise<boolean> | null = null;

/** Exchanges the refresh token for new tokens, once at a time; false (and signed out) when refused. */
export function refreshSession(): Promise<boolean> {
  if (!stored) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const response = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: stored?.refreshToken }),
      });
      if (!response.ok) {
        // A 503 keeps the session (try later); a refusal ends it.
        if (response.status !== 503) setSession(null);
        return false;
      }
      setSession((await response.json()) as Session);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** The current access token, refreshed first when it has (nearly) expired. */
export async function accessToken(): Promise<string | undefined> {
  if (stored && Date.now() >= stored.expiresAt) await refreshSession();
  return stored?.accessToken;
}

// ---------------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------------

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sends the access token when there is one (default true). */
  auth?: boolean;
  signal?: AbortSignal;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const send = async (): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.auth !== false) {
      const token = await accessToken();
      if (token) headers.authorization = `Bearer ${token}`;
    }
    try {
      return await fetch(path, {
        method: options.method ?? 'GET',
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError({ type: 'about:blank', title: 'Network error', status: 0 });
    }
  };

  let response = await send();
  if (response.status === 401 && options.auth !== false && hasSession()) {
    // The access token was refused (expired early, or a key rotated): refresh once and try again.
    if (await refreshSession()) response = await send();
  }
  return parse<T>(response);
}

export async function parse<T>(response: Response): Promise<T> {
  if (response.ok) {
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  throw await problemOf(response);
}

async function problemOf(response: Response): Promise<ApiError> {
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  let problem: Problem = {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
  };
  try {
    const body = (await response.json()) as Partial<Problem>;
    if (body && typeof body === 'object' && typeof body.title === 'string') {
      problem = { ...problem, ...body, status: response.status } as Problem;
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new ApiError(problem, retryAfter);
}

/** A fresh idempotency key (one per checkout attempt). */
export function newIdempotencyKey(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
