// The shopper's catalogue screens in a real browser, over products seeded
// through the API: home, search with filters, product and store pages, and
// the home page's stores once the city features one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { seedStore, login, expect } from './lib/seed.mjs';
import { ADMIN } from './lib/server.mjs';
import { launch, settled, screenshot, visit, finish, errorAlert, PHONE, DESKTOP } from './lib/browser.mjs';

let server;
let browser;
let warung;
let kopi;

before(async () => {
	server = await startServer();
	warung = await seedStore(server.url, {
		owner: 'siti', name: 'Warung Bu Siti', products: [
			{ title: 'Rendang Sapi Padang', price: 45000, category: 'lauk', description: 'Oleh-oleh khas Minang' },
			{ title: 'Gulai Tunjang', price: 12500, category: 'lauk' },
			{ title: 'Keripik Balado', price: 1250000, category: 'camilan', stock: 0 },
		],
	});
	kopi = await seedStore(server.url, {
		owner: 'udin', name: 'Kopi Pak Udin', category: 'minuman', products: [
			{ title: 'Kopi Kawa Daun', price: 8000, category: 'minuman' },
		],
	});
	browser = await launch();
});

after(async () => {
	await browser?.close();
	assert.equal(await server?.stop(), 0, 'the server stops cleanly');
});

// Title and price text of each product card on the page, in order.
async function cards(page, scope = 'main') {
	return page.$$eval(`${scope} .product-card`, (els) =>
		els.map((el) => [el.querySelector('.card-title').textContent, el.querySelector('.price').textContent]));
}

// Submits the search form and waits for the results at the new address.
async function submit(page, hash) {
	await page.click('form.search-form button[type="submit"]');
	await page.waitForFunction((want) => location.hash === want, hash);
	await settled(page, 'search');
}

for (const [label, viewport] of [['phone', PHONE], ['desktop', DESKTOP]]) {
	test(`home shows the seeded categories, stores and products in rupiah (${label})`, async () => {
		const page = await visit(browser, server, '', 'home', viewport);
		assert.deepEqual(await cards(page, '#home-products + *'), [
			['Kopi Kawa Daun', 'Rp8.000'],
			['Keripik Balado', 'Rp1.250.000'],
			['Gulai Tunjang', 'Rp12.500'],
			['Rendang Sapi Padang', 'Rp45.000'],
		]);
		assert.deepEqual(await page.$$eval('#home-categories + .chips a', (els) => els.map((e) => e.textContent)),
			['camilan (1)', 'lauk (2)', 'minuman (1)']);
		assert.deepEqual(await page.$$eval('.store-card .card-title', (els) => els.map((e) => e.textContent)),
			['Warung Bu Siti', 'Kopi Pak Udin']);
		assert.equal(await page.textContent('#home-stores'), 'Toko (kota belum memilih toko pilihan)', 'none is featured yet');
		await finish(page, viewport, `catalogue-home-${label}`);
	});
}

test('search filters by words, category and price, and sorts', async () => {
	const page = await visit(browser, server, '#/search', 'search');
	assert.equal((await cards(page)).length, 4, 'an empty search lists everything');

	await page.fill('#q', 'rend');
	await submit(page, '#/search?q=rend');
	assert.deepEqual(await cards(page), [['Rendang Sapi Padang', 'Rp45.000']]);

	await page.fill('#q', '');
	await page.selectOption('#category', 'lauk');
	await page.fill('#max_price', '20.000');
	await submit(page, '#/search?category=lauk&max_price=20000');
	assert.deepEqual(await cards(page), [['Gulai Tunjang', 'Rp12.500']]);
	assert.equal(await page.inputValue('#max_price'), '20000', 'the filters stay in the form');

	await page.selectOption('#category', '');
	await page.fill('#max_price', '');
	await page.selectOption('#sort', 'price_asc');
	await submit(page, '#/search?sort=price_asc');
	assert.deepEqual((await cards(page)).map((c) => c[1]), ['Rp8.000', 'Rp12.500', 'Rp45.000', 'Rp1.250.000']);
	await screenshot(page, 'catalogue-search-sorted');

	await page.fill('#q', 'tidakada');
	await submit(page, '#/search?q=tidakada&sort=price_asc');
	assert.equal(await page.textContent('main .empty'), 'Tidak ada produk yang cocok.');

	await page.fill('#q', '');
	await page.fill('#min_price', '12,5');
	await page.click('form.search-form button[type="submit"]');
	assert.equal(await page.textContent('.form-error'), 'Harga harus berupa angka rupiah bulat.');
	await page.context().close();
});

test('a bad filter in the address shows the API error message', async () => {
	const page = await visit(browser, server, '#/search?min_price=50000&max_price=10', 'search');
	const alert = await errorAlert(page);
	assert.equal(await alert.getAttribute('data-code'), 'invalid_field');
	assert.match(await alert.textContent(), /Pesan server: .*price/);
	await page.context().close();
});

test('the product page and the store page', async () => {
	const rendang = warung.products[0];
	const page = await visit(browser, server, '', 'home');
	await page.click(`.product-card[data-product-id="${rendang.id}"] a`);
	await settled(page, 'product');
	assert.equal(await page.textContent('main h1'), 'Rendang Sapi Padang');
	assert.equal(await page.textContent('main .price'), 'Rp45.000');
	assert.equal(await page.textContent('main .description'), 'Oleh-oleh khas Minang');
	assert.match(await page.textContent('main .facts'), /Ditambahkan \d{1,2} \w{3} \d{4} \d\d\.\d\d WIB/);
	await screenshot(page, 'catalogue-product-phone');

	await page.click('main .store-link');
	await settled(page, 'store');
	assert.equal(await page.textContent('main h1'), 'Warung Bu Siti');
	assert.deepEqual((await cards(page)).map((c) => c[0]).sort(), ['Gulai Tunjang', 'Keripik Balado', 'Rendang Sapi Padang']);
	assert.match(await page.textContent('main .facts'), /PAYAKUMBUH/);
	await screenshot(page, 'catalogue-store-phone');

	await page.goto(`/#/store/${kopi.store.id + 100}`);
	await settled(page, 'store');
	const alert = page.locator('main [role="alert"]');
	assert.equal(await alert.getAttribute('data-code'), 'not_found');
	assert.equal(await page.textContent('main h1'), 'Terjadi kesalahan');
	await page.context().close();
});

test('the cart reads all its lines in one request: prices brought up to date, a product gone marked', async () => {
	const kawa = kopi.products[0];
	const page = await visit(browser, server, '', 'home');
	await page.evaluate((lines) => localStorage.setItem('bangsoleh.cart', JSON.stringify(lines)), [
		{ product_id: kawa.id, merchant_id: kopi.store.id, title: 'Kopi lama', price: 7000, quantity: 2 },
		{ product_id: 999999, merchant_id: kopi.store.id, title: 'Kopi hilang', price: 5000, quantity: 1 },
	]);
	const reads = [];
	page.on('request', (r) => { if (new URL(r.url()).pathname.startsWith('/api/v1/products')) reads.push(new URL(r.url()).search); });
	await page.goto('/#/cart');
	await settled(page, 'cart');
	assert.deepEqual(reads, [`?ids=${kawa.id}%2C999999`]);
	const line = (id) => `.cart-line[data-product-id="${id}"]`;
	assert.equal(await page.textContent(`${line(kawa.id)} .card-title`), 'Kopi Kawa Daun');
	assert.equal(await page.textContent(`${line(kawa.id)} .line-total`), 'Rp16.000');
	assert.equal(await page.locator(`${line(kawa.id)} .error-title`).count(), 0);
	assert.equal(await page.textContent(`${line(999999)} .error-title`), 'Produk ini tidak dijual lagi.');
	assert.equal(await page.locator('#to-checkout').count(), 0, 'no checkout while a line is gone');
	await finish(page, PHONE, 'catalogue-cart-batch-phone');
});

test('home shows the stores the city features, and only those', async () => {
	const admin = await login(server.url, ADMIN.username, ADMIN.password);
	await expect(server.url, 200, 'POST', `/api/v1/admin/merchants/${kopi.store.id}/feature`, { token: admin, body: { featured: true } });
	const page = await visit(browser, server, '', 'home');
	assert.equal(await page.textContent('#home-stores'), 'Toko pilihan');
	assert.equal(await page.getAttribute('#home-stores + ul.stores', 'data-featured'), 'true');
	assert.deepEqual(await page.$$eval('.store-card .card-title', (els) => els.map((e) => e.textContent)), ['Kopi Pak Udin']);
	await finish(page, PHONE, 'catalogue-home-featured-phone');
});
