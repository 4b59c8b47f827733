// The state of an order as a labelled badge, and a timeline of events.
import { h } from './dom.js';
import { t } from './i18n.js';
import { formatTime } from './time.js';

export function stateBadge(state) {
	return h('span', { class: `badge state-${state}`, 'data-state': state }, t(`order.state.${state}`));
}

// events: [{at, text}] oldest first, shown as an ordered list.
export function timeline(events, label) {
	return h('ol', { class: 'timeline', 'aria-label': label },
		events.map((e) => h('li', {}, h('time', { datetime: e.at }, formatTime(e.at)), ' ', e.text)));
}
