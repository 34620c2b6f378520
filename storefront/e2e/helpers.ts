import AxeBuilder from '@axe-core/playwright';
import { expect, type Page, type TestInfo } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Screenshots for the README go to docs/screenshots/ unless STOREFRONT_SCREENSHOTS names another directory
// (scripts/test-storefront keeps them out of the working tree unless asked with --screenshots).
export const SCREENSHOTS = resolve(
  process.env.STOREFRONT_SCREENSHOTS ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots'),
);

/** Saves the visible part of the page as `<name>-<project>.png`. */
export async function screenshot(page: Page, name: string, info: TestInfo) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${info.project.name}.png`) });
}

export const shop = (path = '/') => `${process.env.BAZAAR_E2E_URL}${path}`;

let counter = 0;
export function uniqueEmail(who: string): string {
  counter += 1;
  return `${who}-${Date.now().toString(36)}-${process.pid}-${counter}@example.com`;
}

/** axe-core over the page as it is now: no serious or critical violation of WCAG 2.1 A/AA. */
export async function expectAccessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(bad, `accessibility of ${what}`).toEqual([]);
}

/** The public API, as the tests' own observer (never used to drive what the page should do). */
export async function apiCall<T>(path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(shop(path), {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function login(email: string, password: string): Promise<string> {
  const session = await apiCall<{ accessToken: string }>('/api/auth/login', { method: 'POST', body: { email, password } });
  return session.accessToken;
}

let admin: Promise<string> | null = null;
/** The dev admin's access token, signed in once per worker (sign-ins are rate limited per account). */
export const adminToken = () => (admin ??= login('admin@bazaar.local', process.env.BAZAAR_E2E_ADMIN_PASSWORD ?? ''));

export const PASSWORD = 'correct horse battery staple';

/** Creates an account through the sign-up page; returns its email. */
export async function signUp(page: Page, name: string, next?: string): Promise<string> {
  const email = uniqueEmail(name.toLowerCase());
  await page.goto(shop(next ? `/signup?next=${encodeURIComponent(next)}` : '/signup'));
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  return email;
}

/** Adds a product's variant to the cart from its page. */
export async function addToCart(page: Page, slug: string, options: Record<string, string> = {}, quantity = 1) {
  await page.goto(shop(`/products/${slug}`));
  for (const value of Object.values(options)) await page.getByRole('radio', { name: value, exact: true }).check();
  await expect(page.getByTestId('availability')).toContainText(/In stock|left/);
  if (quantity !== 1) await page.getByLabel('Quantity').fill(String(quantity));
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'added to your cart' })).toBeVisible();
}

/** Fills a new shipping address on the checkout page. */
export async function fillAddress(page: Page) {
  await page.getByLabel('Full name').fill('Sam Shopper');
  await page.getByLabel('Street address').fill('1 Market St');
  await page.getByLabel('City').fill('San Francisco');
  await page.getByLabel('State or region').fill('CA');
  await page.getByLabel('Postal code').fill('94105');
}
