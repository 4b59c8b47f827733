// A store's money for its owner: balance, payouts (ask for one, see their
// states) and the statement of merchant:<id>:payable.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get } from '../api.js';
import { moneyView } from '../moneyview.js';

export async function render({ id, params }) {
	const base = `/api/v1/merchants/${encodeURIComponent(id)}`;
	const store = await get(base);
	return [h('h1', {}, t('money.store_heading', { store: store.name })),
		h('p', {}, h('a', { href: `#/merchant/${store.id}` }, t('product_form.back'))),
		h('p', { class: 'muted' }, t('money.store_bank', { bank: store.bank_code || '-', account: store.bank_account || '-', name: store.bank_name || '-' })),
		...await moneyView(base, `/merchant/${store.id}/money`, params)];
}
