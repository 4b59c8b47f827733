// A city courier's earnings: the fees on courier:<user id>:payable, payouts
// to the bank account of their profile, and the statement.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { moneyView } from '../moneyview.js';

export async function render({ params }) {
	return [h('h1', {}, t('earnings.heading')),
		h('p', {}, h('a', { href: '#/courier' }, t('earnings.to_jobs')), ' · ', h('a', { href: '#/courier/profile' }, t('courier.profile'))),
		...await moneyView('/api/v1/courier', '/courier/earnings', params)];
}
