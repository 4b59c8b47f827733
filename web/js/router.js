// Hash routing: "#/product/12?x=1". The server serves only real files (no
// fallback to index.html), so every screen lives after the '#', and a
// reload or a shared link always loads index.html.

// {path: '/product/12', params: URLSearchParams} of a location hash.
export function parseHash(hash) {
	const text = (hash ?? '').replace(/^#/, '') || '/';
	const q = text.indexOf('?');
	return {
		path: q < 0 ? text : text.slice(0, q),
		params: new URLSearchParams(q < 0 ? '' : text.slice(q + 1)),
	};
}

// Finds the route whose pattern ("/product/:id") matches path. Returns
// {route, args} or null. Parameters are decoded and may not be empty.
export function matchRoute(routes, path) {
	const parts = path.split('/').filter(Boolean);
	for (const route of routes) {
		const pattern = route.pattern.split('/').filter(Boolean);
		if (pattern.length !== parts.length) continue;
		const args = {};
		let ok = true;
		for (let i = 0; ok && i < pattern.length; i++) {
			if (pattern[i].startsWith(':')) {
				try {
					args[pattern[i].slice(1)] = decodeURIComponent(parts[i]);
				} catch {
					ok = false;
				}
			} else {
				ok = pattern[i] === parts[i];
			}
		}
		if (ok) return { route, args };
	}
	return null;
}

// Goes to a hash; renders again when it is the current one (a repeated search).
export function navigate(hash) {
	if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
	else location.hash = hash;
}

// Work a screen keeps running (an event stream, a countdown) is stopped when
// the person leaves it: pages register a stop function, the shell calls
// leave() before it renders the next screen.
const leaving = new Set();

export function onLeave(fn) {
	leaving.add(fn);
}

export function leave() {
	for (const fn of leaving) fn();
	leaving.clear();
}
