// The signed-in person: the API's bearer token and who it belongs to.
//
// Kept in sessionStorage, not localStorage: phones are often shared in a
// family, and a token that ends with the tab (a reload keeps it) leaves
// nothing behind for the next person; the token is the only secret the page
// holds. Sign-out also revokes it at the server.
import { webStorage } from './storage.js';
const KEY = 'bangsoleh.session';
const listeners = new Set();

const storage = () => webStorage('sessionStorage');

// {token, user: {id, username, role}, expiresAt} or null.
export function session() {
	try {
		const saved = JSON.parse(storage()?.getItem(KEY) ?? 'null');
		if (!saved || typeof saved.token !== 'string') return null;
		if (saved.expiresAt && Date.parse(saved.expiresAt) <= Date.now()) return null;
		return saved;
	} catch {
		return null;
	}
}

export function setSession(value) {
	if (value) storage()?.setItem(KEY, JSON.stringify(value));
	else storage()?.removeItem(KEY);
	for (const fn of listeners) fn(session());
}

export function onSessionChange(fn) {
	listeners.add(fn);
	return () => listeners.delete(fn);
}
