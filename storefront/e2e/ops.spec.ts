import { expect, test, type Browser, type Page } from '@playwright/test';
import { apiCall, expectAccessible, PASSWORD, screenshot, shop, signUp, uniqueEmail } from './helpers';

// The ops console against the real API. One ops account (a new shopper an admin grants the ops role) does
// the day's work; then the admin reads it back in the audit trail. The steps build on each other, so they
// run in order in one worker; shopper accounts and orders are made through the API to keep this quick.

interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}
interface Staff {
  email: string;
  id: string;
  session: Session;
}

async function register(name: string): Promise<Staff> {
  const email = uniqueEmail(name.toLowerCase());
  const made = await apiCall<{ user: { id: string }; session: Session }>('/api/auth/register', {
    method: 'POST',
    body: { name, email, password: PASSWORD },
  });
  return { email, id: made.user.id, session: made.session };
}

const signIn = (email: string, password: string) =>
  apiCall<Session>('/api/auth/login', { method: 'POST', body: { email, password } });

/** A page already signed in as `who` (the storefront keeps its session in localStorage). */
async function pageAs(browser: Browser, who: Session, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  await context.addInitScript((s) => {
    if (!localStorage.getItem('bazaar.session')) {
      localStorage.setItem(
        'bazaar.session',
        JSON.stringify({ accessToken: s.accessToken, refreshToken: s.refreshToken, expiresAt: Date.now() + (s.expiresIn - 20) * 1000 }),
      );
    }
  }, who);
  return context.newPage();
}

const ADDRESS = { name: 'Ola Ops', line1: '1 Market St', city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' };

async function placeOrder(shopper: Session, key: string): Promise<{ id: string; number: string }> {
  const answer = await fetch(shop('/api/checkout'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${shopper.accessToken}`, 'idempotency-key': key },
    body: JSON.stringify({
      lines: [{ sku: 'TR-43-BLU', quantity: 1 }],
      currency: 'USD',
      shippingAddress: ADDRESS,
      shippingMethod: 'standard',
      paymentToken: 'tok_visa',
    }),
  });
  expect(answer.status, await answer.clone().text()).toBe(202);
  return (await answer.json()) as { id: string; number: string };
}

let admin: Session;
let ops: Staff;
const run = Date.now().toString(36);

test.describe('a day in the ops console', () => {
  test.describe.configure({ mode: 'serial' });

  test.beforeAll(async () => {
    admin = await signIn('admin@bazaar.local', process.env.BAZAAR_E2E_ADMIN_PASSWORD ?? '');
    const hired = await register('Ola');
    await apiCall(`/api/users/${hired.id}/roles/ops`, { method: 'PUT', token: admin.accessToken });
    // The role is in the next access token.
    ops = { ...hired, session: await signIn(hired.email, PASSWORD) };
  });

  test('ops packs and ships an order that appears in the live list without a reload, and cancels another for the shopper', async ({ browser }) => {
    const page = await pageAs(browser, ops.session);
    await page.goto(shop('/ops'));
    await expect(page.getByRole('heading', { name: 'Orders', exact: true })).toBeVisible();
    await expect(page.getByTestId('live-bar')).toContainText(/last updated at/);

    // A shopper orders twice while the list is open.
    const shopper = await register('Buyer');
    const placed = await placeOrder(shopper.session, `ops-e2e-${run}-1`);
    const second = await placeOrder(shopper.session, `ops-e2e-${run}-2`);
    const number = placed.number;
    const toPack = page.getByRole('region', { name: /^To pack/ });
    const row = page.getByTestId(`ops-order-${number}`);
    await expect(toPack.getByTestId(`ops-order-${number}`)).toBeVisible({ timeout: 30_000 });
    await expectAccessible(page, 'ops orders');

    await row.getByRole('button', { name: `Mark ${number} packed` }).click();
    const toShip = page.getByRole('region', { name: /^To ship/ }).getByTestId(`ops-order-${number}`);
    await toShip.getByLabel('Carrier').fill('DHL');
    await toShip.getByLabel('Tracking number').fill(`JD${run}`);
    await toShip.getByRole('button', { name: `Ship ${number}` }).click();
    const toDeliver = page.getByRole('region', { name: /^To deliver/ }).getByTestId(`ops-order-${number}`);
    await expect(toDeliver).toContainText(`DHL JD${run}`);

    const order = await apiCall<{ state: string; carrier: string; trackingNumber: string }>(`/api/orders/${placed.id}`, {
      token: shopper.session.accessToken,
    });
    expect([order.state, order.carrier, order.trackingNumber]).toEqual(['shipped', 'DHL', `JD${run}`]);

    // The second one is cancelled on the shopper's behalf, after a confirmation.
    await toPack.getByRole('button', { name: `Cancel ${second.number}…` }).click();
    await page.getByRole('button', { name: `Yes, cancel ${second.number}` }).click();
    await expect(page.getByRole('region', { name: /^Cancelled/ }).getByTestId(`ops-order-${second.number}`)).toContainText(
      'requested by staff',
    );
    await page.context().close();
  });

  test('ops adjusts stock with a reason, and a threshold puts the SKU on the low-stock list', async ({ browser }, info) => {
    const page = await pageAs(browser, ops.session);
    await page.goto(shop('/ops/stock'));
    await expect(page.getByRole('table', { name: 'Stock per SKU and location' })).toBeVisible();
    await expectAccessible(page, 'ops stock');

    const before = await apiCall<{ available: number; locations: { location: string; onHand: number }[] }>(
      '/api/inventory/stock/SS-S-RED',
      { token: ops.session.accessToken },
    );
    const { location, onHand } = before.locations[0];
    await page.getByRole('button', { name: `Adjust SS-S-RED at ${location}` }).click();
    const panel = page.getByRole('region', { name: `Adjust SS-S-RED at ${location}` });

    // No reason, no adjustment: the form will not send without one.
    await panel.getByLabel('Change (units, e.g. 5 or -2)').fill('-2');
    await panel.getByRole('button', { name: 'Apply adjustment' }).click();
    expect(await panel.getByLabel('Reason for the adjustment').evaluate((e) => (e as HTMLInputElement).validity.valueMissing)).toBe(true);
    await panel.getByLabel('Reason for the adjustment').fill(`e2e ${run}: two jackets torn`);
    await panel.getByRole('button', { name: 'Apply adjustment' }).click();
    await expect(panel.getByRole('status')).toContainText(`Adjusted SS-S-RED at ${location}.`);
    await expect(panel.getByText(`e2e ${run}: two jackets torn`)).toBeVisible();
    const after = await apiCall<{ locations: { location: string; onHand: number }[] }>('/api/inventory/stock/SS-S-RED', {
      token: ops.session.accessToken,
    });
    expect(after.locations.find((l) => l.location === location)?.onHand).toBe(onHand - 2);

    // A threshold above what is available puts the SKU on the low-stock list.
    const lowStock = page.getByRole('region', { name: 'Low stock' });
    await expect(lowStock).not.toContainText('SS-S-RED');
    await panel.getByLabel('Low-stock threshold (empty clears)').fill(String(before.available + 10));
    await panel.getByLabel('Reason for the threshold').fill('e2e: reorder point');
    await panel.getByRole('button', { name: 'Save threshold' }).click();
    await expect(lowStock).toContainText('SS-S-RED');
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'ops-stock', info);

    // The catalog, read-only, beside it.
    await page.getByRole('link', { name: 'Catalog' }).click();
    await expect(page.getByTestId('product-storm-shell')).toContainText('SS-S-RED');
    await expect(page.getByTestId('product-storm-shell')).toContainText('kubectl get product storm-shell -n shop');
    await expectAccessible(page, 'ops catalog');

    // Put things back (through the API: the threshold is not the point here).
    await apiCall('/api/inventory/thresholds/SS-S-RED', { method: 'PUT', token: ops.session.accessToken, body: { threshold: null, reason: 'e2e: cleanup' } });
    await page.context().close();
  });

  test('ops hides a reported review with a reason, and the product page no longer shows it', async ({ browser }, info) => {
    const title = `Flickers after a week (${run})`;
    const author = await register('Rita');
    await apiCall('/api/reviews/products/steel-bottle/mine', {
      method: 'PUT',
      token: author.session.accessToken,
      body: { rating: 1, title, body: 'Buy a better one at example.com!' },
    });
    const review = await apiCall<{ items: { id: string; title: string }[] }>('/api/reviews/products/steel-bottle?limit=100');
    const id = review.items.find((r) => r.title === title)?.id ?? '';
    const reporter = await register('Rex');
    await apiCall(`/api/reviews/${id}/reports`, { method: 'POST', token: reporter.session.accessToken, body: { reason: 'advertising' } });

    const guest = await browser.newPage();
    await guest.goto(shop('/products/steel-bottle'));
    await expect(guest.getByTestId('review-list')).toContainText(title);

    const page = await pageAs(browser, ops.session);
    await page.goto(shop('/ops/reviews'));
    const item = page.getByTestId(`review-${id}`);
    await expect(item).toContainText('reported by 1 shopper');
    await expectAccessible(page, 'ops reviews');
    await screenshot(page, 'ops-reviews', info);
    await item.getByRole('button', { name: `Hide… “${title}”` }).click();
    await item.getByLabel('Reason (shown to the author)').fill('Advertising another shop');
    await item.getByRole('button', { name: 'Hide review' }).click();
    await expect(page.getByRole('status')).toContainText(`Hidden: “${title}”.`);

    await guest.reload();
    await expect(guest.getByRole('heading', { name: 'Reviews', exact: true })).toBeVisible();
    await expect(guest.getByText(title)).toHaveCount(0);
    await guest.close();
    await page.context().close();
  });

  test('the admin reads the ops account’s actions in the audit trail; ops staff may not', async ({ browser }, info) => {
    const refused = await pageAs(browser, ops.session);
    await refused.goto(shop('/ops/audit'));
    await expect(refused.getByRole('alert')).toContainText('The audit trail is for staff with the admin role');
    await refused.context().close();

    const page = await pageAs(browser, admin);
    await page.goto(shop('/ops/audit'));
    await page.getByLabel('Who (e-mail or user id)').fill(ops.email);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect(page).toHaveURL(/who=/);
    const table = page.getByRole('table', { name: /Recorded staff actions/ });
    await expect(table.getByTestId('audit-order.ship')).toContainText(`state:packed → shipped`);
    await expect(table.getByTestId('audit-order.ship')).toContainText(`JD${run}`);
    await expect(table.getByTestId('audit-order.ship')).toContainText(ops.email);
    await expect(table.getByTestId('audit-order.pack')).toContainText('confirmed → packed');
    await expect(table.getByTestId('audit-stock.adjust')).toContainText('SS-S-RED');
    await expect(table.getByTestId('audit-review.hide')).toContainText('Advertising another shop');
    await expect(table.getByTestId('audit-order.cancel')).toContainText('state:confirmed → cancelled');
    // Only the ops account's rows: the admin's own grant of the role is not among them.
    await expect(table.getByTestId('audit-role.grant')).toHaveCount(0);
    await expectAccessible(page, 'audit trail');
    await screenshot(page, 'ops-audit', info);
    await page.context().close();
  });


  test('the console fits a phone and passes axe-core there @phone', async ({ browser }, info) => {
    test.skip(info.project.name !== 'phone', 'the desktop project sees these pages in the tests above');
    const size = { width: 390, height: 844 };
    const pages: [Session, string, string, RegExp][] = [
      [ops.session, '/ops', 'ops-orders', /^Orders$/],
      [ops.session, '/ops/stock', 'ops-stock', /^Stock$/],
      [admin, '/ops/audit', 'ops-audit', /^Audit trail$/],
    ];
    for (const [who, path, name, heading] of pages) {
      const page = await pageAs(browser, who, size);
      await page.goto(shop(path));
      await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
      await expect(page.getByRole('status').filter({ hasText: 'Loading' })).toHaveCount(0);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} is wider than the screen`).toBeLessThanOrEqual(0);
      await expectAccessible(page, `${path} on a phone`);
      await screenshot(page, name, info);
      await page.context().close();
    }
  });
});

test('the ops console refuses a shopper', async ({ page }) => {
  await signUp(page, 'Nosy');
  await page.goto(shop('/ops'));
  await expect(page.getByRole('alert')).toContainText('for staff with the ops or admin role');
  await page.goto(shop('/ops/audit'));
  await expect(page.getByRole('alert')).toContainText('for staff with the ops or admin role');
});
