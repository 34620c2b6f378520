import { expect, test } from '@playwright/test';
import { adminToken, apiCall, expectAccessible, screenshot, shop, signUp } from './helpers';

test('ops adjusts stock with a reason, sets a low-stock threshold and sees the SKU listed as low', async ({ page }, info) => {
  await page.goto(shop('/signin?next=/ops/stock'));
  await page.getByLabel('Email').fill('admin@bazaar.local');
  await page.getByLabel('Password').fill(process.env.BAZAAR_E2E_ADMIN_PASSWORD ?? '');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Stock', exact: true })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Stock per SKU and location' })).toBeVisible();
  await expectAccessible(page, 'ops stock');

  const admin = await adminToken();
  const before = await apiCall<{ available: number; locations: { location: string; onHand: number }[] }>(
    '/api/inventory/stock/SB-750',
    { token: admin },
  );
  const location = before.locations[0].location;
  await page.getByRole('button', { name: `Adjust SB-750 at ${location}` }).click();
  const panel = page.getByRole('region', { name: `Adjust SB-750 at ${location}` });

  // No reason, no adjustment: the form will not send without one.
  await panel.getByLabel('Change (units, e.g. 5 or -2)').fill('-2');
  await panel.getByRole('button', { name: 'Apply adjustment' }).click();
  expect(await panel.getByLabel('Reason').first().evaluate((e) => (e as HTMLInputElement).validity.valueMissing)).toBe(true);
  await panel.getByLabel('Reason').first().fill('e2e: two bottles dented in transit');
  await panel.getByRole('button', { name: 'Apply adjustment' }).click();
  await expect(panel.getByRole('status')).toContainText(`Adjusted SB-750 at ${location}.`);
  await expect(panel.getByText('e2e: two bottles dented in transit')).toBeVisible();
  const after = await apiCall<{ locations: { location: string; onHand: number }[] }>('/api/inventory/stock/SB-750', {
    token: admin,
  });
  expect(after.locations.find((l) => l.location === location)?.onHand).toBe(before.locations[0].onHand - 2);

  // A threshold above what is available puts the SKU on the low-stock list.
  await panel.getByLabel('Low-stock threshold (empty clears)').fill(String(before.available + 10));
  await panel.getByLabel('Reason').nth(1).fill('e2e: reorder point');
  await panel.getByRole('button', { name: 'Save threshold' }).click();
  await expect(page.getByRole('region', { name: 'Low stock' })).toContainText('SB-750');
  await screenshot(page, 'ops-stock', info);

  // Put things back for the other tests.
  await apiCall('/api/inventory/thresholds/SB-750', { method: 'PUT', token: admin, body: { threshold: null, reason: 'e2e: cleanup' } });
  await apiCall(`/api/inventory/stock/SB-750/${location}/adjustments`, {
    method: 'POST',
    token: admin,
    body: { delta: 2, reason: 'e2e: cleanup' },
  });
});

test('the ops console refuses a shopper, and the catalog view is read-only', async ({ page }) => {
  await signUp(page, 'Nosy');
  await page.goto(shop('/ops'));
  await expect(page.getByRole('alert')).toContainText('for staff with the ops or admin role');
  await page.goto(shop('/ops/catalog'));
  await expect(page.getByRole('alert')).toContainText('for staff with the ops or admin role');
});
