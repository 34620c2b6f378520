import { api } from '../api/client';
import type { StoreView } from '../api/types';
import { useApi } from './useApi';

/**
 * The stores offering pickup, by id (`namespace/name`), to show the ones a quote or an order names. The
 * catalog finds stores near a point only (no lookup by id), so this asks from (0, 0) with its largest
 * radius, 20,000 km, which reaches every store on land.
 */
export function usePickupStores(wanted: boolean) {
  return useApi(
    (signal) =>
      wanted
        ? api<{ items: StoreView[] }>('/api/catalog/stores?lat=0&lon=0&radiusKm=20000&pickup=true&limit=100', {
            signal,
            auth: false,
          }).then((answer) => new Map(answer.items.map((s) => [s.id, s])))
        : Promise.resolve(new Map<string, StoreView>()),
    [wanted],
  );
}

/** "Mon–Fri 09:00–18:00; Sat 10:00–16:00" */
export function hoursText(store: StoreView): string {
  return store.openingHours.map((h) => `${h.days.join(', ')} ${h.opens}–${h.closes}`).join('; ');
}
