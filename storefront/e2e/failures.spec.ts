import { expect, test, type Page } from '@playwright/test';
import { addToCart, adminToken, apiCall, expectAccessible, fillAddress, login, PASSWORD, shop, signUp } from './helpers';

interface Order {
  id: string;
  state: string;
  cancelReason?: string;
}
interface Payment {
  orderId: string;
  status: string;
  failureReason?: string;
}

async function checkoutWith(page: Page, card: RegExp) {
  await page.goto(shop('/checkout'));
  await fillAddress(page);
  await page.getByRole('radio', { name: card }).check();
}

test('a declined card shows the reason and nothing is charged', async ({ page }) => {
  const email = await signUp(page, 'Dee');
  await addToCart(page, 'merino-tee', { size: 'M' });
  await checkoutWith(page, /declined/);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByTestId('order-state')).toContainText('Cancelled');
  // Why, in the order's own words (paymentFailure), not just "payment failed".
  await expect(page.getByTestId('cancel-reason')).toContainText('Your card was declined.');
  await expect(page.getByTestId('cancel-reason')).toContainText('Nothing was charged');
  await expectAccessible(page, 'cancelled order');

  const orderId = page.url().match(/orders\/([0-9a-f-]+)/)?.[1] ?? '';
  const payments = await apiCall<{ items: Payment[] }>(`/api/payments?orderId=${orderId}`, { token: await adminToken() });
  expect(payments.items.length).toBeGreaterThan(0);
  expect(payments.items.every((p) => p.status === 'failed' && p.failureReason === 'declined')).toBe(true);
  const mine = await apiCall<{ items: Order[] }>('/api/orders', { token: await login(email, PASSWORD) });
  expect(mine.items.map((o) => [o.state, o.cancelReason])).toEqual([['cancelled', 'payment_failed']]);
});

test('an item that ran out of stock after it was carted cancels the order with the reason, charging nothing; the wishlist says when it is back', async ({ page }) => {
  await signUp(page, 'Oona');
  await addToCart(page, 'storm-shell', { size: 'L' });
  await page.getByRole('button', { name: '♡ Save to wishlist' }).click();
  await expect(page.getByRole('button', { name: '♥ Saved to wishlist' })).toBeVisible();
  // Meanwhile the warehouse finds none left: ops sets every location's stock of the SKU to zero.
  const admin = await adminToken();
  const stock = await apiCall<{ locations: { location: string }[] }>('/api/inventory/stock/SS-L-RED', { token: admin });
  const setStock = async (onHand: number, reason: string) => {
    for (const { location } of stock.locations) {
      await apiCall(`/api/inventory/stock/SS-L-RED/${location}`, { method: 'PUT', token: admin, body: { onHand, reason } });
    }
  };
  await setStock(0, 'e2e: none left on the shelf');
  try {
    await checkoutWith(page, /Visa ending 4242/);
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect(page.getByTestId('order-state')).toContainText('Cancelled');
    await expect(page.getByTestId('cancel-reason')).toContainText('out of stock');
    const orderId = page.url().match(/orders\/([0-9a-f-]+)/)?.[1] ?? '';
    const payments = await apiCall<{ items: Payment[] }>(`/api/payments?orderId=${orderId}`, { token: admin });
    expect(payments.items).toEqual([]);
    // The product page says so too.
    await page.goto(shop('/products/storm-shell?sku=SS-L-RED'));
    await expect(page.getByTestId('availability')).toContainText('Out of stock');
    await expect(page.getByRole('button', { name: 'Out of stock' })).toBeDisabled();

    // The wishlist hears of it from inventory's events: out of stock, then back in stock once restocked.
    const item = page.getByTestId('wish-SS-L-RED');
    const wishlistShows = async (text: string) =>
      expect(async () => {
        await page.goto(shop('/wishlist'));
        await expect(item).toContainText(text, { timeout: 1_000 });
      }).toPass({ timeout: 20_000 });
    await wishlistShows('Out of stock');
    await expect(item.getByRole('button', { name: /Move to cart/ })).toHaveCount(0);
    await setStock(25, 'e2e: restocked');
    await wishlistShows('Back in stock');
    await expect(item.getByRole('button', { name: /Move to cart/ })).toBeVisible();
  } finally {
    await setStock(25, 'e2e: restocked');
  }
});

test('a double-clicked "Place order" makes one order @phone', async ({ page }) => {
  const email = await signUp(page, 'Dub');
  await addToCart(page, 'merino-tee', { size: 'S' });
  await checkoutWith(page, /Visa ending 4242/);
  await page.getByRole('button', { name: 'Place order' }).dblclick();
  await expect(page.getByTestId('order-state')).toContainText('Confirmed');
  const mine = await apiCall<{ items: Order[] }>('/api/orders', { token: await login(email, PASSWORD) });
  expect(mine.items).toHaveLength(1);
});

test('a retry after the answer was lost sends the same Idempotency-Key and makes no second order', async ({ page }) => {
  const email = await signUp(page, 'Lou');
  await addToCart(page, 'merino-tee', { size: 'S' });
  await checkoutWith(page, /Visa ending 4242/);
  // The first checkout reaches the server, which places the order, but its answer is lost on the way back.
  const keys: string[] = [];
  await page.route('**/api/checkout', async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length === 1) {
      await route.fetch();
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByRole('alert')).toContainText('cannot be reached');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByTestId('order-state')).toContainText('Confirmed');
  expect(keys).toHaveLength(2);
  expect(keys[1]).toBe(keys[0]);
  const mine = await apiCall<{ items: Order[] }>('/api/orders', { token: await login(email, PASSWORD) });
  expect(mine.items).toHaveLength(1);
});

test('an expired or unknown coupon is refused with the catalog’s reason @phone', async ({ page }) => {
  await addToCart(page, 'trail-runner', { color: 'blue', size: '42' });
  await page.goto(shop('/cart'));
  await page.getByLabel('Coupon code').fill('SUMMER20');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('alert')).toContainText('SUMMER20 cannot be used: This code has expired.');
  await page.getByLabel('Coupon code').fill('NOSUCHCODE');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByRole('alert')).toContainText('NOSUCHCODE cannot be used: No promotion has this code.');
  await expectAccessible(page, 'cart with a refused coupon');
});

test('an unknown page and an unknown product say so instead of a blank page @phone', async ({ page }) => {
  await page.goto(shop('/no/such/page'));
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  await page.goto(shop('/products/no-such-product'));
  await expect(page.getByRole('alert')).toContainText(/product/i);
  await expectAccessible(page, 'missing product');
});
