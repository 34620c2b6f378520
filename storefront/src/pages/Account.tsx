import { useState, type FormEvent } from 'react';
import { Navigate } from 'react-router';
import { api } from '../api/client';
import type { Address, Profile } from '../api/types';
import { COUNTRIES } from '../components/Countries';
import { ErrorMessage, Loading, Notice, PageTitle } from '../components/ui';
import { useApi } from '../components/useApi';
import { useSession } from '../state/session';

export default function Account() {
  const { user, loading, reload } = useSession();
  const addresses = useApi(
    (signal) => (user ? api<Address[]>('/api/users/me/addresses', { signal }) : Promise.resolve([])),
    [user?.id],
  );
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string | null>(null);
  if (loading) return <Loading />;
  if (!user) return <Navigate to="/signin?next=/account" replace />;

  const run = async (action: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setSaved(null);
    try {
      await action();
      setSaved(done);
    } catch (e) {
      setError(e);
    }
  };

  const saveProfile = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const name = String(new FormData(event.currentTarget).get('name') ?? '');
    void run(async () => {
      await api<Profile>('/api/users/me', { method: 'PATCH', body: { name } });
      await reload();
    }, 'Profile saved.');
  };

  const addAddress = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
    void run(async () => {
      await api<Address>('/api/users/me/addresses', {
        method: 'POST',
        body: { ...data, kind: 'shipping', line2: data.line2 || null, region: data.region || null },
      });
      form.reset();
      addresses.reload();
    }, 'Address added.');
  };

  return (
    <>
      <PageTitle>Your account</PageTitle>
      {saved && <Notice tone="success">{saved}</Notice>}
      <ErrorMessage error={error} />
      <section aria-labelledby="profile">
        <h2 id="profile">Profile</h2>
        <p>
          {user.email} · roles: {user.roles.join(', ')}
        </p>
        <form onSubmit={saveProfile} className="inline">
          <label>
            Name <input name="name" defaultValue={user.name} required autoComplete="name" />
          </label>
          <button type="submit">Save</button>
        </form>
      </section>
      <section aria-labelledby="addresses">
        <h2 id="addresses">Addresses</h2>
        <ErrorMessage error={addresses.error} />
        <ul className="address-list">
          {(addresses.data ?? []).map((a) => (
            <li key={a.id}>
              <span>
                {a.name}, {a.line1}, {a.city} {a.postalCode}, {a.country} ({a.kind}
                {a.isDefault ? ', default' : ''})
              </span>
              <button
                type="button"
                className="link-button"
                onClick={() =>
                  void run(async () => {
                    await api(`/api/users/me/addresses/${a.id}`, { method: 'DELETE' });
                    addresses.reload();
                  }, 'Address deleted.')
                }
              >
                Delete<span className="visually-hidden"> {a.line1}</span>
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={addAddress} className="address-fields" aria-label="Add an address">
          <label>
            Full name <input name="name" required autoComplete="name" />
          </label>
          <label>
            Street address <input name="line1" required autoComplete="address-line1" />
          </label>
          <label>
            Apartment, suite (optional) <input name="line2" autoComplete="address-line2" />
          </label>
          <label>
            City <input name="city" required autoComplete="address-level2" />
          </label>
          <label>
            State or region <input name="region" autoComplete="address-level1" />
          </label>
          <label>
            Postal code <input name="postalCode" required autoComplete="postal-code" />
          </label>
          <label>
            Country
            <select name="country" autoComplete="country">
              {COUNTRIES.map(([code, name]) => (
                <option key={code} value={code}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Add address</button>
        </form>
      </section>
    </>
  );
}
