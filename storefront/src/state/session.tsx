// Who is signed in. Tokens live in the API client (localStorage); this context holds the profile and the
// sign-in, sign-up and sign-out actions. Signing in merges the guest cart into the shopper's (cart.tsx).
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, hasSession, onSessionChange, refreshToken, setSession } from '../api/client';
import type { Profile, Role, Session } from '../api/types';

interface SessionContextValue {
  user: Profile | null;
  /** True until the stored session (if any) has been checked. */
  loading: boolean;
  signIn: (email: string, password: string) => Promise<Profile>;
  signUp: (name: string, email: string, password: string) => Promise<Profile>;
  signOut: () => Promise<void>;
  reload: () => Promise<void>;
  hasRole: (...roles: Role[]) => boolean;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<Profile | null>(null);
  const [loading, setLoading] = useState(hasSession());

  const reload = useCallback(async () => {
    if (!hasSession()) {
      setUser(null);
      setLoading(false);
      return;
    }
    try {
      setUser(await api<Profile>('/api/users/me'));
    } catch {
      // A refused refresh already cleared the session; an outage keeps it for the next attempt.
      if (!hasSession()) setUser(null);
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
    // A refresh that failed elsewhere (another request) signs the shopper out here too.
    return onSessionChange(() => {
      if (!hasSession()) setUser(null);
    });
  }, [reload]);

  const signIn = useCallback(async (email: string, password: string) => {
    const session = await api<Session>('/api/auth/login', {
      method: 'POST',
      body: { email, password },
      auth: false,
    });
    setSession(session);
    const profile = await api<Profile>('/api/users/me');
    setUser(profile);
    return profile;
  }, []);

  const signUp = useCallback(async (name: string, email: string, password: string) => {
    const registered = await api<{ user: Profile; session: Session }>('/api/auth/register', {
      method: 'POST',
      body: { name, email, password },
      auth: false,
    });
    setSession(registered.session);
    setUser(registered.user);
    return registered.user;
  }, []);

  const signOut = useCallback(async () => {
    const token = refreshToken();
    if (token) {
      // End the session on the server too; signing out locally must not wait for or depend on it.
      void api('/api/auth/logout', { method: 'POST', body: { refreshToken: token } }).catch(() => {});
    }
    setSession(null);
    setUser(null);
  }, []);

  const hasRole = useCallback(
    (...roles: Role[]) => !!user && (user.roles.includes('admin') || roles.some((r) => user.roles.includes(r))),
    [user],
  );

  return (
    <SessionContext.Provider value={{ user, loading, signIn, signUp, signOut, reload, hasRole }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
