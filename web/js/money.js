// A payable account's statement (a store's or a courier's, docs/api.md
// "Payouts and statements") in whole rupiah, without the DOM: what each entry
// did to the two running figures, and the figures before a page of entries.
// Sums are BigInt, so no total can lose a rupiah.

// What an entry did to {balance, available} (BigInt each). A pending payout
// ("held") takes only from what is available; its post takes the balance
// (the hold already took the rest); a void or an expiry gives back what the
// hold took. Throws RangeError on an entry the statement cannot hold.
export function effect(entry) {
	if (!Number.isSafeInteger(entry?.amount) || entry.amount < 0) throw new RangeError(`not an amount: ${entry?.amount}`);
	let sign;
	if (entry.direction === 'credit') sign = 1n;
	else if (entry.direction === 'debit') sign = -1n;
	else throw new RangeError(`not a direction: ${entry.direction}`);
	const amount = sign * BigInt(entry.amount);
	switch (entry.kind) {
	case 'transfer': return { balance: amount, available: amount };
	case 'held': return { balance: 0n, available: amount };
	case 'posted': return { balance: amount, available: 0n };
	case 'voided':
	case 'expired': return { balance: 0n, available: -amount };
	default: throw new RangeError(`not a kind: ${entry.kind}`);
	}
}

// The figures before the oldest entry of a page (entries newest first, each
// with the figures just after it, as the API gives them), and after its
// newest: {opening, closing} of {balance, available}, or null for an empty
// page. Throws RangeError when an entry's figures do not follow from the one
// before it (a statement that does not add up is not shown as if it did).
export function pageFigures(entries) {
	if (!entries.length) return null;
	const after = (e) => ({ balance: BigInt(e.balance), available: BigInt(e.available) });
	const oldest = entries[entries.length - 1];
	const first = effect(oldest);
	const opening = { balance: after(oldest).balance - first.balance, available: after(oldest).available - first.available };
	let running = opening;
	for (let i = entries.length - 1; i >= 0; i--) {
		const d = effect(entries[i]);
		running = { balance: running.balance + d.balance, available: running.available + d.available };
		const stated = after(entries[i]);
		if (stated.balance !== running.balance || stated.available !== running.available)
			throw new RangeError(`statement entry ${entries[i].seq} does not add up`);
	}
	return { opening, closing: after(entries[0]) };
}

// Checks a payout amount a person typed (digits from format.js's parseRupiah,
// or null) against what is available. Returns null when it may be asked for,
// else the reason: 'bad' (not a whole amount of at least Rp1) or 'over'.
// The server's minimum (payout.min_amount) is its to say: 422 below_minimum.
export const PAYOUT_MAX = 1000000000;
export function payoutProblem(digits, available) {
	if (digits === null || digits === undefined) return 'bad';
	const amount = BigInt(digits);
	if (amount < 1n || amount > BigInt(PAYOUT_MAX)) return 'bad';
	return amount > BigInt(available) ? 'over' : null;
}

// True when a payout of the list still waits for the provider (one at a time: 409 payout_open).
export const payoutOpen = (payouts) => payouts.some((p) => p.status === 'processing');
