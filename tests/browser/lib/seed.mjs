// Puts a catalogue in place through the API, as a merchant and the city's admin would.
import { ADMIN } from './server.mjs';

// Calls the API; resolves to {status, body}.
export async function call(base, method, path, { token, body } = {}) {
	const headers = {};
	if (token) headers.Authorization = `Bearer ${token}`;
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : null };
}

// Like call, but throws unless the status is the expected one; resolves to the body.
export async function expect(base, status, method, path, options) {
	const res = await call(base, method, path, options);
	if (res.status !== status)
		throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)} (wanted ${status})`);
	return res.body;
}

export async function login(base, username, password) {
	return (await expect(base, 200, 'POST', '/api/v1/auth/login', { body: { username, password } })).token;
}

export async function registerUser(base, username, password, role = 'shopper') {
	return expect(base, 201, 'POST', '/api/v1/auth/register', { body: { username, password, role } });
}

// A verified store with the given products ({title, price, category, stock?});
// details are more fields of the store (address, phone: what couriers need).
// Resolves to {store, products}.
export async function seedStore(base, { owner, name, city = 'PAYAKUMBUH', category = 'makanan', products, details = {} }) {
	const admin = await login(base, ADMIN.username, ADMIN.password);
	const user = await registerUser(base, owner, `${owner}-password`, 'merchant');
	const store = await expect(base, 201, 'POST', '/api/v1/admin/merchants', {
		token: admin,
		body: { name, city, postal_code: '26211', criteria: 'UMI', nmid: 'ID1020021181745', category, owner_user_id: user.id, ...details },
	});
	const made = [];
	for (const p of products)
		made.push(await expect(base, 201, 'POST', `/api/v1/merchants/${store.id}/products`, {
			token: admin, body: { stock: 5, ...p },
		}));
	return { store, products: made };
}
