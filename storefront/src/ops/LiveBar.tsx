import type { Live } from './useLive';

/** When a live list was last fetched, how often it is, and a way to fetch it now. */
export function LiveBar({ live, everyMs, what }: { live: Live<unknown>; everyMs: number; what: string }) {
  return (
    <p className="live-bar" data-testid="live-bar">
      <span>
        Refreshed every {Math.round(everyMs / 1000)} s
        {live.refreshedAt && (
          <>
            ; last updated at{' '}
            <time dateTime={live.refreshedAt.toISOString()}>{live.refreshedAt.toLocaleTimeString('en-US')}</time>
          </>
        )}
        {live.loading && live.refreshedAt && <span className="muted"> (updating…)</span>}
      </span>{' '}
      <button type="button" className="link-button" onClick={live.refresh} disabled={live.loading}>
        Refresh {what} now
      </button>
    </p>
  );
}
