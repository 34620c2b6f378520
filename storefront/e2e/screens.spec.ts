import { expect, test } from '@playwright/test';
import { addToCart, expectAccessible, screenshot, shop } from './helpers';

// Screenshots of the main pages at the project's size (desktop 1280 px, phone 390 px), for the README.

test('the main pages look right and pass axe-core at this size @phone', async ({ page }, info) => {
  // Each page is checked for sideways scrolling (nothing wider than a 390 px screen), then photographed.
  const shot = async (name: string) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name} is wider than the screen`).toBeLessThanOrEqual(0);
    await screenshot(page, name, info);
  };

  await page.goto(shop('/'));
  await expect(page.getByRole('heading', { name: 'Featured' })).toBeVisible();
  await expect(page.getByRole('link', { name: /Trail Runner/ }).first()).toBeVisible();
  await expectAccessible(page, `home (${info.project.name})`);
  await shot('home');

  await page.goto(shop('/products?category=footwear'));
  await expect(page.getByTestId('product-grid')).toBeVisible();
  await expectAccessible(page, `catalog (${info.project.name})`);
  await shot('catalog');

  await addToCart(page, 'trail-runner', { color: 'black', size: '42' });
  await expectAccessible(page, `product (${info.project.name})`);
  await shot('product');

  await page.goto(shop('/cart'));
  await expect(page.getByRole('button', { name: 'Remove Trail Runner' })).toBeVisible();
  await expectAccessible(page, `cart (${info.project.name})`);
  await shot('cart');

  await page.goto(shop('/stores'));
  await expect(page.getByRole('heading', { name: 'Northwind San Francisco' })).toBeVisible();
  await expectAccessible(page, `stores (${info.project.name})`);
  await shot('stores');

  await page.goto(shop('/signin'));
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await expectAccessible(page, `sign in (${info.project.name})`);
  await shot('signin');
});
