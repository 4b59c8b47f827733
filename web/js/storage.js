// Web storage ('localStorage' or 'sessionStorage'), or null when the browser
// refuses it (privacy mode): callers then keep their state for this page only.
export function webStorage(kind) {
	try {
		return globalThis[kind] ?? null;
	} catch {
		return null;
	}
}
