import { expect, test, type Page, type TestInfo } from '@playwright/test';
import { apiCall, expectAccessible, PASSWORD, screenshot, shop, signUp, uniqueEmail } from './helpers';

// Reviews and wishlists (the review component) from the shopper's side: the journeys at desktop size, and the
// same pages at phone size with their data made through the API (quicker than the journeys again).

/** Photographs the page scrolled to `selector` (below the fold on a product page). */
async function shotAt(page: Page, selector: string, name: string, info: TestInfo) {
  await page.locator(selector).scrollIntoViewIfNeeded();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${name} is wider than the screen`).toBeLessThanOrEqual(0);
  await screenshot(page, name, info);
}

test('a shopper reviews a product and edits it; another finds it helpful and reports it', async ({ page, browser }, info) => {
  const slug = 'merino-tee';
  await signUp(page, 'Rita');
  await page.goto(shop(`/products/${slug}`));
  await expect(page.getByRole('link', { name: 'No reviews yet' })).toBeVisible();

  // Markup in a review is text: shown as typed, never run.
  const reviews = page.getByRole('region', { name: 'Reviews' });
  await reviews.getByRole('radio', { name: '5 stars' }).check();
  await reviews.getByLabel('Title').fill('Warm <b>and</b> light');
  await reviews.getByLabel('Your review', { exact: true }).fill('<img src=x onerror="document.title=1"> Kept me dry on a wet ridge.');
  await reviews.getByRole('button', { name: 'Post review' }).click();
  await expect(page.getByTestId('my-review')).toContainText('Your review is published.');
  await expect(page.getByRole('link', { name: '5.0 out of 5 (1 review)' })).toBeVisible();
  const list = page.getByTestId('review-list');
  await expect(list.getByRole('heading', { name: 'Warm <b>and</b> light' })).toBeVisible();
  await expect(list).toContainText('<img src=x onerror="document.title=1"> Kept me dry');
  await expect(list.locator('img, b')).toHaveCount(0);

  // Editing keeps one review per shopper; the summary follows.
  await reviews.getByRole('button', { name: 'Edit your review' }).click();
  await reviews.getByRole('radio', { name: '4 stars' }).check();
  await reviews.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('link', { name: '4.0 out of 5 (1 review)' })).toBeVisible();
  await expect(page.getByTestId('rating-summary')).toContainText('4.0 out of 5 (1 review)');
  await expectAccessible(page, `product reviews (${info.project.name})`);
  await shotAt(page, '#reviews', 'reviews', info);

  // Another shopper votes it helpful and reports it.
  const other = await browser.newContext({ viewport: page.viewportSize() ?? undefined });
  const vic = await other.newPage();
  await signUp(vic, 'Vic');
  await vic.goto(shop(`/products/${slug}#reviews`));
  const review = vic.getByTestId('review-list').getByRole('listitem').first();
  await expect(review).toContainText('Warm <b>and</b> light');
  await review.getByRole('button', { name: /^Helpful/ }).click();
  await expect(review).toContainText('1 person found this helpful');
  await review.getByRole('button', { name: /^Report/ }).click();
  await review.getByLabel('What is wrong with this review?').fill('e2e: looks like an ad');
  await review.getByRole('button', { name: 'Send report' }).click();
  await expect(review).toContainText('the shop will look at this review');
  await vic.getByLabel('Order reviews by').selectOption('helpful');
  await expect(vic.getByTestId('review-list')).toContainText('1 person found this helpful');
  await expectAccessible(vic, `product reviews with a report form (${info.project.name})`);
  await other.close();

  // The catalog learns the rating from the review component's events: the listing filters and sorts by it.
  await page.goto(shop('/products?sort=rating&minRating=4'));
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId('product-grid').getByRole('listitem').filter({ hasText: 'Merino Tee' })).toContainText(
      '(1 review)',
      { timeout: 1_000 },
    );
  }).toPass({ timeout: 20_000 });
  await expect(page.getByTestId('product-grid')).not.toContainText('Trail Runner'); // never reviewed
});

test('a wishlist: saved from the product page, shared read-only, moved to the cart and back', async ({ page, browser }, info) => {
  await signUp(page, 'Wes');
  await page.goto(shop('/products/trail-runner'));
  await page.getByRole('radio', { name: 'blue', exact: true }).check();
  await page.getByRole('radio', { name: '43', exact: true }).check();
  await page.getByRole('button', { name: '♡ Save to wishlist' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'is saved to your wishlist' })).toContainText('TR-43-BLU');
  await expect(page.getByRole('button', { name: '♥ Saved to wishlist' })).toBeVisible();

  await page.getByRole('link', { name: 'View wishlist' }).click();
  await expect(page.getByRole('heading', { name: 'Your wishlist', exact: true })).toBeVisible();
  const item = page.getByTestId('wish-TR-43-BLU');
  await expect(item).toContainText('Trail Runner');

  // A read-only link for anyone.
  await page.getByRole('button', { name: 'Make a share link' }).click();
  const link = await page.getByLabel('Share link').inputValue();
  expect(link).toMatch(/\/wishlists\/shared\/[A-Za-z0-9_-]{20,}$/);
  await expectAccessible(page, `wishlist (${info.project.name})`);
  await screenshot(page, 'wishlist', info);

  const guestContext = await browser.newContext({ viewport: page.viewportSize() ?? undefined });
  const guest = await guestContext.newPage();
  await guest.goto(link);
  await expect(guest.getByRole('heading', { name: 'Shared wishlist' })).toBeVisible();
  await expect(guest.getByTestId('wish-TR-43-BLU')).toContainText('Trail Runner');
  await expect(guest.getByTestId('wishlist').getByRole('button')).toHaveCount(0);
  await expectAccessible(guest, `shared wishlist (${info.project.name})`);
  await screenshot(guest, 'wishlist-shared', info);

  // To the cart, and back to the wishlist from the cart.
  await item.getByRole('button', { name: /Move to cart/ }).click();
  await expect(page.getByRole('status').filter({ hasText: 'moved to your cart' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Cart' })).toContainText('1');
  await expect(page.getByText(/Nothing saved yet/)).toBeVisible();
  await page.goto(shop('/cart'));
  await page.getByRole('button', { name: /Save for later/ }).click();
  await expect(page.getByRole('status').filter({ hasText: 'moved to your wishlist' })).toBeVisible();
  await expect(page.getByText('Your cart is empty.')).toBeVisible();
  await page.getByRole('link', { name: 'View wishlist' }).click();
  await expect(page.getByTestId('wish-TR-43-BLU')).toBeVisible();

  // Revoked: the link stops working at once.
  await page.getByRole('button', { name: 'Stop sharing' }).click();
  await expect(page.getByRole('button', { name: 'Make a share link' })).toBeVisible();
  await guest.reload();
  await expect(guest.getByText('This wishlist is not shared any more, or the link is wrong.')).toBeVisible();
  await guestContext.close();
});

test('reviews and wishlists fit a phone screen and pass axe-core there @phone', async ({ page }, info) => {
  test.skip(info.project.name !== 'phone', 'the desktop pages are checked by the journeys above');
  // A shopper with a review and a shared wishlist, made through the API; the page is signed in as them.
  const { session } = await apiCall<{ session: { accessToken: string; refreshToken: string; expiresIn: number } }>(
    '/api/auth/register',
    { method: 'POST', body: { name: 'Phoebe', email: uniqueEmail('phoebe'), password: PASSWORD } },
  );
  const token = session.accessToken;
  await apiCall('/api/reviews/products/storm-shell/mine', {
    method: 'PUT',
    token,
    body: { rating: 4, title: 'Dry in a downpour', body: 'The hood stays put.\nSleeves a little long.', sku: 'SS-M-RED', authorName: 'Phoebe' },
  });
  await apiCall('/api/wishlist/items/SS-M-RED', { method: 'PUT', token });
  await apiCall('/api/wishlist/items/TR-42-BLU', { method: 'PUT', token });
  const share = await apiCall<{ token: string }>('/api/wishlist/share', { method: 'PUT', token });
  await page.addInitScript((stored) => localStorage.setItem('bazaar.session', stored), JSON.stringify({
    accessToken: token,
    refreshToken: session.refreshToken,
    expiresAt: Date.now() + (session.expiresIn - 20) * 1000,
  }));

  await page.goto(shop('/products/storm-shell'));
  await expect(page.getByTestId('my-review')).toContainText('Dry in a downpour');
  await expect(page.getByTestId('review-list')).toContainText('Sleeves a little long.');
  await expectAccessible(page, 'product reviews (phone)');
  await shotAt(page, '#reviews', 'reviews', info);

  await page.goto(shop('/wishlist'));
  await expect(page.getByTestId('wish-SS-M-RED')).toBeVisible();
  await expect(page.getByLabel('Share link')).toHaveValue(new RegExp(share.token));
  await expectAccessible(page, 'wishlist (phone)');
  await shotAt(page, 'main', 'wishlist', info);

  await page.goto(shop(`/wishlists/shared/${share.token}`));
  await expect(page.getByTestId('wish-TR-42-BLU')).toBeVisible();
  await expectAccessible(page, 'shared wishlist (phone)');
  await shotAt(page, 'main', 'wishlist-shared', info);
});
