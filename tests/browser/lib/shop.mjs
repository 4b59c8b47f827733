// A shopper's steps in the page that the journeys share: putting products in
// the cart from their pages, and the checkout's address.
import { settled } from './browser.mjs';

// Finds the product titled title on the search screen, opens it and adds quantity of it to the cart.
export async function addToCart(page, title, quantity) {
	await page.goto('/#/search');
	await settled(page, 'search');
	await page.click(`.product-card:has-text("${title}") a`);
	await settled(page, 'product');
	await page.fill('#quantity', String(quantity));
	await page.click('#add-to-cart');
	await page.waitForSelector('.add-to-cart .note a[href="#/cart"]');
}

// On the checkout screen: types the address to ({name, phone, address, city,
// postal_code}) and waits for each store's delivery choices.
export async function askRates(page, to) {
	for (const field of ['name', 'phone', 'address', 'city', 'postal_code'])
		await page.fill(`#ship-${field}`, to[field]);
	await page.click('form.address-form button[type="submit"]');
	await page.waitForSelector('#place-order');
}
