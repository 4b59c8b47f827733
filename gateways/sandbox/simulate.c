/*
 * simulate: what people and tests use: the HTML page of open charges with
 * Pay buttons (and shipments in progress, from api_biteship.c), the JSON list of every charge and payout, paying a charge
 * by any of its ids, and the QR image of a charge.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qr.h"

#define SB_PAGE_ROWS_MAX 500  /* newest open charges shown on the page */
#define SB_QR_MODULE 6        /* SVG units per QR module */
#define SB_QR_QUIET 4         /* quiet-zone modules */

/* Writes text with HTML's special characters escaped. */
static void html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f); break;
		}
	}
}

/* "Rp 1.234.567": rupiah with dots between thousands. */
static void html_rupiah(FILE *f, int64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long)(v < 0 ? -v : v));
	fputs(v < 0 ? "-Rp " : "Rp ", f);
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			fputc('.', f);
		fputc(digits[i], f);
	}
}

static void html_age(FILE *f, int64_t ms)
{
	int64_t s = ms / 1000;
	if (s < 60)
		fprintf(f, "%lld s", (long long)s);
	else if (s < 3600)
		fprintf(f, "%lld min", (long long)(s / 60));
	else
		fprintf(f, "%lld h", (long long)(s / 3600));
}

/* One table row with the Pay form. Returns 0 or -1 (out of memory). */
static int html_row(FILE *f, const struct sb_charge *c, int64_t now)
{
	char *path = evhttp_uriencode(c->id, -1, 0);
	if (!path)
		return -1;
	fputs("<tr><td>", f);
	fputs(c->proto == SB_MIDTRANS ? "Midtrans" : "Xendit", f);
	fputs("</td><td>", f);
	html_text(f, c->ref);
	fputs("</td><td><code>", f);
	html_text(f, c->id);
	fputs("</code></td><td class=\"n\">", f);
	html_rupiah(f, c->amount);
	fputs("</td><td>", f);
	html_age(f, now - c->created_ms);
	fputs("</td><td><form method=\"post\" action=\"/simulate/pay/", f);
	html_text(f, path);
	fputs("\"><button>Pay</button></form></td><td><a href=\"/v2/qris/", f);
	html_text(f, path);
	fputs("/qr-code\">QR</a></td></tr>\n", f);
	free(path);
	return 0;
}

/* The table of shipments still moving, newest first. Returns 0 or -1 (out of memory). */
static int html_shipments(struct sandbox *sb, FILE *f, int64_t now)
{
	size_t shown = 0;
	fputs("<h2>Shipments</h2>\n<table><tr><th>Order</th><th>Reference</th><th>Courier</th><th>Waybill</th>"
	      "<th>Status</th><th>Price</th><th>Age</th></tr>\n", f);
	for (const struct sb_shipment *s = sb->ships_newest; s && shown < SB_PAGE_ROWS_MAX; s = s->older) {
		char *path;
		if (sb_ship_final(s->status))
			continue;
		path = evhttp_uriencode(s->id, -1, 0);
		if (!path)
			return -1;
		fputs("<tr><td><a href=\"/simulate/shipments/", f);
		html_text(f, path);
		fputs("\"><code>", f);
		html_text(f, s->id);
		fputs("</code></a></td><td>", f);
		html_text(f, s->ref);
		fputs("</td><td>", f);
		html_text(f, s->company);
		fputc(' ', f);
		html_text(f, s->type);
		fputs("</td><td>", f);
		html_text(f, s->waybill);
		fputs("</td><td>", f);
		html_text(f, sb_ship_status_word(s->status));
		fputs("</td><td class=\"n\">", f);
		html_rupiah(f, s->price);
		fputs("</td><td>", f);
		html_age(f, now - s->created_ms);
		fputs("</td></tr>\n", f);
		free(path);
		shown++;
	}
	fputs("</table>\n", f);
	return 0;
}

void sb_sim_page(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	FILE *f = open_memstream(&resp->text, &resp->text_len);
	int64_t now = sb_now_ms();
	size_t open = 0, shown = 0;
	int rc = 0;
	(void)call;
	if (!f) {
		sb_resp_error(resp, SB_KIND_OPEN, 500, "internal", "Out of memory");
		return;
	}
	for (const struct sb_charge *c = sb->charges_newest; c; c = c->older)
		open += c->state == SB_PENDING;
	fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<title>Bang Soleh sandbox</title><style>"
	      "body{font-family:sans-serif;margin:2em;color:#222}"
	      "table{border-collapse:collapse}th,td{padding:.35em .8em;border-bottom:1px solid #ddd;text-align:left}"
	      "td.n{text-align:right}button{padding:.2em 1em}"
	      "</style></head><body>\n<h1>Bang Soleh sandbox</h1>\n", f);
	fprintf(f, "<p>%zu open charge%s (newest first, at most %d shown). <a href=\"/\">Refresh</a></p>\n",
		open, open == 1 ? "" : "s", SB_PAGE_ROWS_MAX);
	fputs("<table><tr><th>Protocol</th><th>Order / reference</th><th>Id</th><th>Amount</th><th>Age</th>"
	      "<th></th><th></th></tr>\n", f);
	for (const struct sb_charge *c = sb->charges_newest; c && rc == 0 && shown < SB_PAGE_ROWS_MAX; c = c->older) {
		if (c->state != SB_PENDING)
			continue;
		rc = html_row(f, c, now);
		shown++;
	}
	fputs("</table>\n", f);
	if (rc == 0)
		rc = html_shipments(sb, f, now);
	fputs("</body></html>\n", f);
	if (fclose(f) != 0 || rc != 0) {
		free(resp->text);
		resp->text = NULL;
		sb_resp_error(resp, SB_KIND_OPEN, 500, "internal", "Out of memory");
		return;
	}
	resp->status = 200;
	resp->ctype = "text/html; charset=utf-8";
}

void sb_sim_charges(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	json_t *charges = json_array(), *payouts = json_array();
	int rc = charges && payouts ? 0 : -1;
	(void)call;
	for (const struct sb_charge *c = sb->charges_oldest; rc == 0 && c; c = c->newer)
		rc = json_array_append_new(charges, sb_charge_json(c));
	for (const struct sb_payout *po = sb->payouts_oldest; rc == 0 && po; po = po->newer)
		rc = json_array_append_new(payouts, sb_payout_json(po));
	if (rc != 0) {
		json_decref(charges);
		json_decref(payouts);
		sb_resp_error(resp, SB_KIND_OPEN, 500, "internal", "Out of memory");
		return;
	}
	sb_resp_json(resp, 200, json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I}}", "charges", charges, "payouts",
					  payouts, "notifications", "delivered", (json_int_t)sb->delivered,
					  "failed_attempts", (json_int_t)sb->failed_attempts, "given_up",
					  (json_int_t)sb->given_up, "dropped", (json_int_t)sb->dropped));
}

void sb_sim_pay(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_charge *c = sb_charge_find(sb, call->arg);
	int64_t amount;
	if (!c) {
		sb_resp_error(resp, SB_KIND_OPEN, 404, "not_found", "No charge has this id");
		return;
	}
	amount = body_int(&chk, call->json, "amount", false, 1, SB_AMOUNT_MAX, c->amount);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_OPEN, &chk);
		return;
	}
	if (c->state != SB_PENDING) {
		sb_resp_error(resp, SB_KIND_OPEN, 409, "not_pending", "The charge is no longer pending");
		return;
	}
	if (sb_charge_pay(sb, c, amount) != 0) {
		sb_resp_error(resp, SB_KIND_OPEN, 500, "internal", "Internal server error");
		return;
	}
	if (call->form) {
		resp->status = 303;
		resp->location = "/";
		return;
	}
	sb_resp_json(resp, 200, sb_charge_json(c));
}

void sb_sim_qr(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_charge *c = sb_charge_find(sb, call->arg);
	if (!c) {
		sb_resp_error(resp, SB_KIND_OPEN, 404, "not_found", "No charge has this id");
		return;
	}
	if (qr_svg(c->qr_string, SB_QR_MODULE, SB_QR_QUIET, &resp->text, &resp->text_len) != QR_OK) {
		sb_resp_error(resp, SB_KIND_OPEN, 500, "internal", "QR image failed");
		return;
	}
	resp->status = 200;
	resp->ctype = "image/svg+xml";
}
