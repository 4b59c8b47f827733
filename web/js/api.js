// The API client: JSON over fetch on the same origin, the bearer token from
// the session, and every failure turned into an ApiError that carries the
// server's error envelope ({"error": {"code", "message"}}, docs/api.md).
import { session, setSession } from './session.js';

export class ApiError extends Error {
	// status 0 means the server could not be reached or did not answer JSON.
	constructor(status, code, message) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
	}
}

// Sends a request; resolves to the parsed JSON body (null for 204) or rejects with ApiError.
export async function request(method, path, { body, query } = {}) {
	const url = new URL(path, globalThis.location?.origin ?? 'http://localhost');
	for (const [name, value] of Object.entries(query ?? {}))
		if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
	const headers = { Accept: 'application/json' };
	const current = session();
	if (current) headers.Authorization = `Bearer ${current.token}`;
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	let response;
	try {
		response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	} catch (err) {
		throw new ApiError(0, 'network', err.message);
	}
	if (response.status === 204) return null;
	let data = null;
	try {
		data = await response.json();
	} catch {
		// A body that is not JSON (a proxy's page, say) is reported by its status below.
	}
	if (response.ok && data !== null) return data;
	const envelope = data?.error;
	if (response.status === 401 && current) setSession(null); // the token is no longer good
	throw new ApiError(response.status, envelope?.code ?? 'http_error',
		envelope?.message ?? `HTTP ${response.status}`);
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body) => request('POST', path, { body });

export async function signIn(username, password) {
	const answer = await post('/api/v1/auth/login', { username, password });
	setSession({ token: answer.token, user: answer.user, expiresAt: answer.expires_at });
	return answer.user;
}

export async function signOut() {
	try {
		if (session()) await post('/api/v1/auth/logout');
	} finally {
		setSession(null);
	}
}

export const register = (username, password, role) => post('/api/v1/auth/register', { username, password, role });
