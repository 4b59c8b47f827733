// Small bar charts drawn as inline SVG (no library: a few rectangles and
// lines do, and the page stays free of third-party code). The scaling and the
// geometry are pure functions (node tests them); barChart() builds the SVG.
// Values are whole numbers (counts, rupiah) within Number's safe integers.

const SVG = 'http://www.w3.org/2000/svg';

// The step of an axis with `count` intervals that reaches max: the smallest
// 1, 2 or 5 × 10^k (k ≥ 0, so ticks are whole) with step × count ≥ max.
// Returns {step, top: step × count}. max 0 (nothing to show) gives step 1.
export function niceScale(max, count = 4) {
	if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`not a whole non-negative value: ${max}`);
	if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`not a tick count: ${count}`);
	for (let power = 1; ; power *= 10) {
		for (const m of [1, 2, 5]) {
			const step = m * power;
			if (step * count >= max) return { step, top: step * count };
		}
	}
}

// Where each bar and each axis tick goes in a box of width × height with
// room for labels (pad: {left, right, top, bottom}). Bars share the plot's
// width equally, each with a gap of a fifth of its slot. Returns
// {plot: {x, y, width, height}, scale, bars: [{x, y, width, height, value}],
// ticks: [{value, y}]}; y grows downwards as in SVG.
export function layoutBars(values, { width, height, pad = { left: 0, right: 0, top: 0, bottom: 0 }, ticks = 4 }) {
	const plot = { x: pad.left, y: pad.top, width: width - pad.left - pad.right, height: height - pad.top - pad.bottom };
	if (plot.width <= 0 || plot.height <= 0) throw new RangeError('no room for the plot');
	for (const v of values)
		if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a whole non-negative value: ${v}`);
	const scale = niceScale(values.reduce((a, b) => Math.max(a, b), 0), ticks);
	const slot = values.length ? plot.width / values.length : 0;
	const yOf = (v) => plot.y + plot.height - (v / scale.top) * plot.height;
	return {
		plot,
		scale,
		bars: values.map((value, i) => ({
			x: plot.x + i * slot + slot / 10, y: yOf(value), width: (slot * 4) / 5, height: plot.y + plot.height - yOf(value), value,
		})),
		ticks: Array.from({ length: ticks + 1 }, (_, i) => ({ value: i * scale.step, y: yOf(i * scale.step) })),
	};
}

// A short axis label of a whole value, one decimal at most: with units
// [[1e9, 'M'], [1e6, 'jt'], [1e3, 'rb']] (largest first; the language's own)
// and decimal ',', 1500000 is "1,5 jt" and 20000 "20 rb".
export function shortNumber(value, units, decimal = ',') {
	for (const [size, unit] of units) {
		if (value >= size) {
			const tenths = Math.round((value * 10) / size);
			const text = tenths % 10 === 0 ? String(tenths / 10) : `${Math.floor(tenths / 10)}${decimal}${tenths % 10}`;
			return `${text} ${unit}`;
		}
	}
	return String(value);
}

function el(tag, attrs = {}, ...children) {
	const node = document.createElementNS(SVG, tag);
	for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
	for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
	return node;
}

const round = (n) => Math.round(n * 10) / 10;

// An SVG bar chart of values under labels (one per bar), titled for screen
// readers; axis ticks written by tickLabel(value), each bar's hover text by
// barTitle(label, value). width is in CSS pixels (the screen's, so text keeps
// its size; CSS may shrink it); className goes on the <svg>.
export function barChart({ labels, values, title, width = 640, tickLabel = String, barTitle = (l, v) => `${l}: ${v}`, className = 'chart' }) {
	const height = 220;
	const pad = { left: 56, right: 8, top: 12, bottom: 28 };
	const layout = layoutBars(values, { width, height, pad });
	const every = Math.max(1, Math.ceil(labels.length / Math.max(1, Math.floor((width - pad.left) / 88)))); // labels 88 px apart or more
	return el('svg', { class: className, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title },
		el('title', {}, title),
		...layout.ticks.map((tick) => el('g', { class: 'tick' },
			el('line', { x1: pad.left, x2: width - pad.right, y1: round(tick.y), y2: round(tick.y) }),
			el('text', { x: pad.left - 6, y: round(tick.y) + 4, 'text-anchor': 'end' }, tickLabel(tick.value)))),
		...layout.bars.map((bar, i) => el('rect', { class: 'bar', x: round(bar.x), y: round(bar.y), width: round(bar.width),
			height: round(bar.height), 'data-value': bar.value }, el('title', {}, barTitle(labels[i], bar.value)))),
		...layout.bars.map((bar, i) => (i % every === 0
			? el('text', { class: 'label', x: round(bar.x + bar.width / 2), y: height - pad.bottom + 16, 'text-anchor': 'middle' }, labels[i])
			: null)).filter(Boolean));
}
