import { act, renderHook } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useLive } from './useLive';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const flush = () => act(async () => {});

describe('useLive', () => {
  it('loads again every interval after the last answer, keeps the data on an error, and waits while the tab is hidden', async () => {
    vi.useFakeTimers();
    let calls = 0;
    let fail = false;
    const load = vi.fn(async () => {
      calls += 1;
      if (fail) throw new Error('offline');
      return calls;
    });
    const { result } = renderHook(() => useLive(load, 5000, []));
    await flush();
    expect(result.current.data).toBe(1);
    const first = result.current.refreshedAt;
    expect(first).toBeInstanceOf(Date);

    await act(async () => vi.advanceTimersByTime(4999));
    expect(load).toHaveBeenCalledTimes(1);
    await act(async () => vi.advanceTimersByTime(1));
    await flush();
    expect(result.current.data).toBe(2);

    // A failed refresh keeps what was shown, with the error and the old refresh time.
    fail = true;
    await act(async () => vi.advanceTimersByTime(5000));
    await flush();
    expect(result.current.data).toBe(2);
    expect(result.current.error).toEqual(new Error('offline'));

    // Hidden: no request until the tab is visible again.
    fail = false;
    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    await act(async () => vi.advanceTimersByTime(20_000));
    expect(load).toHaveBeenCalledTimes(3);
    visibility.mockReturnValue('visible');
    await act(async () => {
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await flush();
    expect(load).toHaveBeenCalledTimes(4);
    expect(result.current.data).toBe(4);
    expect(result.current.error).toBeUndefined();
  });
});
