import { useState } from 'react';
import { api } from '../api/client';
import type { StoreView } from '../api/types';
import { ErrorMessage, Loading, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';

/** Places to search near; the API finds stores near a point (it has no geocoder), so names map to points. */
export const PLACES: { name: string; lat: number; lon: number }[] = [
  { name: 'San Francisco', lat: 37.7749, lon: -122.4194 },
  { name: 'New York', lat: 40.7128, lon: -74.006 },
  { name: 'Reno', lat: 39.5296, lon: -119.8138 },
  { name: 'Berlin', lat: 52.52, lon: 13.405 },
  { name: 'Paris', lat: 48.8566, lon: 2.3522 },
];

export default function Stores() {
  const [point, setPoint] = useState({ label: PLACES[0].name, lat: PLACES[0].lat, lon: PLACES[0].lon });
  const [radius, setRadius] = useState(500);
  const [pickup, setPickup] = useState(false);
  const [geoError, setGeoError] = useState<string | null>(null);
  const stores = useApi(
    (signal) =>
      api<{ items: StoreView[] }>(
        `/api/catalog/stores?lat=${point.lat}&lon=${point.lon}&radiusKm=${radius}${pickup ? '&pickup=true' : ''}`,
        { signal, auth: false },
      ),
    [point.lat, point.lon, radius, pickup],
  );

  const here = () => {
    setGeoError(null);
    if (!navigator.geolocation) {
      setGeoError('This browser cannot tell where you are; choose a place instead.');
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) => setPoint({ label: 'your location', lat: p.coords.latitude, lon: p.coords.longitude }),
      () => setGeoError('Your location is not available; choose a place instead.'),
    );
  };

  return (
    <>
      <PageTitle>Find a store</PageTitle>
      <form className="filters inline-filters" onSubmit={(e) => e.preventDefault()} aria-label="Store search">
        <label>
          Near
          <select
            value={point.label}
            onChange={(e) => {
              const place = PLACES.find((p) => p.name === e.target.value);
              if (place) setPoint({ label: place.name, lat: place.lat, lon: place.lon });
            }}
          >
            {point.label === 'your location' && <option value="your location">Your location</option>}
            {PLACES.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Within
          <select value={radius} onChange={(e) => setRadius(Number(e.target.value))}>
            {[25, 100, 500, 5000, 20000].map((r) => (
              <option key={r} value={r}>
                {r} km
              </option>
            ))}
          </select>
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={pickup} onChange={(e) => setPickup(e.target.checked)} />
          Offers in-store pickup
        </label>
        <button type="button" onClick={here}>
          Use my location
        </button>
      </form>
      {geoError && <p role="alert">{geoError}</p>}
      <ErrorMessage error={stores.error} />
      {stores.loading && !stores.data && <Loading />}
      {stores.data && stores.data.items.length === 0 && <p role="status">No stores within {radius} km of {point.label}.</p>}
      <ul className="store-list">
        {(stores.data?.items ?? []).map((s) => (
          <li key={s.id} className="store">
            <h2>{s.displayName}</h2>
            <p>
              {s.address.lines.join(', ')}, {s.address.city} {s.address.region ?? ''} {s.address.postalCode ?? ''} ·{' '}
              {s.distanceKm.toFixed(1)} km away
            </p>
            <p>
              {s.pickup ? 'In-store pickup available' : 'No pickup'}
              {s.shipFromStore ? ' · ships from this store' : ''}
            </p>
            <h3>Opening hours ({s.timeZone})</h3>
            <ul className="hours">
              {s.openingHours.map((h, i) => (
                <li key={i}>
                  {h.days.join(', ')}: {h.opens}–{h.closes}
                </li>
              ))}
            </ul>
            {(s.contact.phone || s.contact.email) && (
              <p>
                {s.contact.phone && <a href={`tel:${s.contact.phone}`}>{s.contact.phone}</a>}
                {s.contact.phone && s.contact.email && ' · '}
                {s.contact.email && <a href={`mailto:${s.contact.email}`}>{s.contact.email}</a>}
              </p>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
