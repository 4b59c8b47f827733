// The API client: JSON over fetch on the same origin, the bearer token from
// the session, and every failure turned into an ApiError that carries the
// server's error envelope ({"error": {"code", "message"}}, docs/api.md).
import { session, setSession } from './session.js';

export class ApiError extends Error {
	// status 0 means the server could not be reached or did not answer JSON;
	// retryAfter is the Retry-After header in seconds (null when absent);
	// details holds the error object's other members (a 409's "state", say).
	constructor(status, code, message, retryAfter = null, details = {}) {
		super(message);
		this.name = 'ApiError';
		this.status = status;
		this.code = code;
		this.retryAfter = retryAfter;
		this.details = details;
	}
}

// Sends a request with the session's bearer token and resolves to the
// Response when it is a success; rejects with ApiError (from the JSON error
// envelope) otherwise. For bodies that are not JSON (an image, an event stream).
export async function open(method, path, { body, query, headers: extra = {}, accept = 'application/json', signal } = {}) {
	const url = new URL(path, globalThis.location?.origin ?? 'http://localhost');
	for (const [name, value] of Object.entries(query ?? {}))
		if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
	const headers = { Accept: accept, ...extra };
	const current = session();
	if (current) headers.Authorization = `Bearer ${current.token}`;
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	let response;
	try {
		response = await fetch(url, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
	} catch (err) {
		if (err.name === 'AbortError') throw err;
		throw new ApiError(0, 'network', err.message);
	}
	if (response.ok) return response;
	let data = null;
	try {
		data = await response.json();
	} catch {
		// A body that is not JSON (a proxy's page, say) is reported by its status below.
	}
	const envelope = data?.error;
	if (response.status === 401 && current) setSession(null); // the token is no longer good
	const retry = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
	const { code, message, ...details } = envelope ?? {};
	throw new ApiError(response.status, code ?? 'http_error', message ?? `HTTP ${response.status}`,
		Number.isSafeInteger(retry) ? retry : null, details);
}

// Sends a request; resolves to the parsed JSON body (null for 204) or rejects with ApiError.
export async function request(method, path, options = {}) {
	const response = await open(method, path, options);
	if (response.status === 204) return null;
	try {
		return await response.json();
	} catch (err) {
		throw new ApiError(0, 'network', err.message);
	}
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body, headers) => request('POST', path, { body, headers });
export const put = (path, body) => request('PUT', path, { body });

// A fresh Idempotency-Key (docs/api.md): one per thing a person means to
// create, reused when the same request is sent again after a failure.
export function idempotencyKey() {
	return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

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
