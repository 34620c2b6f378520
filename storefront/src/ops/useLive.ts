import { useCallback, useEffect, useRef, useState } from 'react';

export interface Live<T> {
  data: T | undefined;
  /** The last refresh's error; the data of the refresh before it stays shown. */
  error: unknown;
  loading: boolean;
  /** When the data shown was fetched. */
  refreshedAt: Date | undefined;
  refresh: () => void;
}

/**
 * Loads `load()` now, again every `everyMs` while the page is visible, and on `refresh()`; loads again
 * from scratch when `deps` change. A refresh never overlaps the previous one, and an answer that comes
 * back after the deps changed is dropped.
 */
export function useLive<T>(load: (signal: AbortSignal) => Promise<T>, everyMs: number, deps: unknown[]): Live<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [refreshedAt, setRefreshedAt] = useState<Date>();
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // New deps: forget what was shown for the old ones.
  useEffect(() => {
    setData(undefined);
    setRefreshedAt(undefined);
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        setRefreshedAt(new Date());
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [...deps, tick]); // eslint-disable-line react-hooks/exhaustive-deps

  // The next refresh is scheduled from the end of the last one, and waits while the tab is hidden.
  useEffect(() => {
    if (loading) return;
    const next = () => setTick((t) => t + 1);
    const wake = () => {
      if (document.visibilityState === 'hidden') return;
      document.removeEventListener('visibilitychange', wake);
      next();
    };
    const timer = setTimeout(() => {
      if (typeof document !== 'undefined' && document.visibilityState === 'hidden') {
        document.addEventListener('visibilitychange', wake);
      } else {
        next();
      }
    }, everyMs);
    return () => {
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', wake);
    };
  }, [loading, everyMs, tick]);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, refreshedAt, refresh };
}
