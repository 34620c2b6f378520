import { useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { api } from '../api/client';
import type { StoreView } from '../api/types';
import { ErrorMessage, Loading, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';

/** What the page searches for before the shopper types anything. */
export const DEFAULT_PLACE = 'San Francisco';
const RADII = [25, 100, 500, 5000, 20000];

/**
 * The store search the URL describes: a place typed (`q`: city, postcode, store name or street, matched
 * against the stores' addresses; the API has no geocoder) or the browser's position (`lat`/`lon` with a
 * radius), and whether only pickup stores are wanted.
 */
export function storeQuery(params: URLSearchParams): string {
  const query = new URLSearchParams();
  const lat = params.get('lat');
  const lon = params.get('lon');
  if (lat && lon) {
    query.set('lat', lat);
    query.set('lon', lon);
    query.set('radiusKm', params.get('radiusKm') ?? '50');
  } else {
    query.set('q', params.get('q') ?? DEFAULT_PLACE);
  }
  if (params.get('pickup') === 'true') query.set('pickup', 'true');
  return query.toString();
}

export default function Stores() {
  const [params, setParams] = useSearchParams();
  const query = storeQuery(params);
  const near = params.get('lat') && params.get('lon');
  const place = near ? null : (params.get('q') ?? DEFAULT_PLACE);
  const [geoError, setGeoError] = useState<string | null>(null);
  const [locating, setLocating] = useState(false);
  const stores = useApi((signal) => api<{ items: StoreView[] }>(`/api/catalog/stores?${query}`, { signal, auth: false }), [query]);

  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    const q = String(form.get('q') ?? '').trim();
    next.set('q', q || DEFAULT_PLACE);
    if (form.get('pickup')) next.set('pickup', 'true');
    setParams(next);
  };

  const here = () => {
    setGeoError(null);
    if (!navigator.geolocation) {
      setGeoError('This browser cannot tell where you are; type a city or postcode instead.');
      return;
    }
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        setLocating(false);
        const next = new URLSearchParams({ lat: p.coords.latitude.toFixed(4), lon: p.coords.longitude.toFixed(4), radiusKm: '50' });
        if (params.get('pickup') === 'true') next.set('pickup', 'true');
        setParams(next);
      },
      () => {
        setLocating(false);
        setGeoError('Your location is not available; type a city or postcode instead.');
      },
    );
  };

  return (
    <>
      <PageTitle>Find a store</PageTitle>
      <form className="filters inline-filters" onSubmit={search} aria-label="Store search" key={query}>
        <label>
          City, postcode or store
          <input name="q" type="search" defaultValue={place ?? ''} maxLength={100} />
        </label>
        <label className="checkbox">
          <input type="checkbox" name="pickup" defaultChecked={params.get('pickup') === 'true'} />
          Offers in-store pickup
        </label>
        <button type="submit">Find stores</button>
        <button type="button" className="secondary" onClick={here} disabled={locating}>
          {locating ? 'Finding you…' : 'Use my location'}
        </button>
      </form>
      {near && (
        <div className="inline">
          <label>
            Within
            <select
              value={params.get('radiusKm') ?? '50'}
              onChange={(e) => {
                const next = new URLSearchParams(params);
                next.set('radiusKm', e.target.value);
                setParams(next);
              }}
            >
              {RADII.map((r) => (
                <option key={r} value={r}>
                  {r} km of your location
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      {geoError && <p role="alert">{geoError}</p>}
      <ErrorMessage error={stores.error} />
      {stores.loading && !stores.data && <Loading />}
      {stores.data && stores.data.items.length === 0 && (
        <p role="status">
          {near
            ? `No stores within ${params.get('radiusKm') ?? '50'} km of your location.`
            : `No stores match “${place}”. Try a city, a postcode or a store’s name.`}
        </p>
      )}
      <ul className="store-list">
        {(stores.data?.items ?? []).map((s) => (
          <li key={s.id} className="store">
            <h2>{s.displayName}</h2>
            <p>
              {s.address.lines.join(', ')}, {s.address.city} {s.address.region ?? ''} {s.address.postalCode ?? ''}
              {s.distanceKm != null && <> · {s.distanceKm.toFixed(1)} km away</>}
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
