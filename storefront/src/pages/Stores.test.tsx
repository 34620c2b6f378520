import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeApi, ok, problem, renderAt } from '../test-utils';
import Stores, { storeQuery } from './Stores';

const brooklyn = {
  id: 'shop/brooklyn',
  name: 'brooklyn',
  displayName: 'Northwind Brooklyn',
  address: { lines: ['85 Water St'], city: 'Brooklyn', region: 'NY', postalCode: '11201', country: 'US' },
  location: { lat: 40.7, lon: -73.99 },
  timeZone: 'America/New_York',
  openingHours: [{ days: ['Sunday'], opens: '11:00', closes: '17:00' }],
  contact: {},
  pickup: true,
  shipFromStore: false,
};

afterEach(() => vi.unstubAllGlobals());

describe('the store locator', () => {
  it('searches a typed place, or the browser’s position with a radius, as the URL says', () => {
    expect(storeQuery(new URLSearchParams())).toBe('q=San+Francisco');
    expect(storeQuery(new URLSearchParams('q=11201&pickup=true'))).toBe('q=11201&pickup=true');
    expect(storeQuery(new URLSearchParams('lat=40.7&lon=-73.9&radiusKm=500&q=ignored'))).toBe('lat=40.7&lon=-73.9&radiusKm=500');
  });

  it('finds stores by a place typed, without distances, and says when none match', async () => {
    const calls = fakeApi({
      'GET /api/catalog/stores': (url) => (url.searchParams.get('q') === 'Brooklyn' ? ok({ items: [brooklyn] }) : ok({ items: [] })),
    });
    renderAt('/stores?q=Atlantis', '/stores', <Stores />);
    expect(await screen.findByText(/No stores match “Atlantis”/)).toBeInTheDocument();
    const box = screen.getByLabelText('City, postcode or store');
    await userEvent.clear(box);
    await userEvent.type(box, 'Brooklyn');
    await userEvent.click(screen.getByRole('checkbox', { name: 'Offers in-store pickup' }));
    await userEvent.click(screen.getByRole('button', { name: 'Find stores' }));
    expect(await screen.findByRole('heading', { name: 'Northwind Brooklyn' })).toBeInTheDocument();
    expect(screen.getByText(/85 Water St, Brooklyn NY 11201/)).not.toHaveTextContent('km away');
    const last = calls.at(-1)!.url.searchParams;
    expect(Object.fromEntries(last)).toEqual({ q: 'Brooklyn', pickup: 'true' });
  });

  it('shows the API’s refusal in words', async () => {
    fakeApi({
      'GET /api/catalog/stores': () =>
        problem(422, { type: 'x', title: 'Unprocessable Entity', errors: [{ field: 'q', message: 'at most 10 words' }] }),
    });
    renderAt('/stores?q=a+b+c+d+e+f+g+h+i+j+k', '/stores', <Stores />);
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('at most 10 words'));
  });
});
