#include "api_word.h"

#include <stdlib.h>
#include <string.h>

int api_decode_len(const uint8_t *p, size_t n, uint32_t *len)
{
	if (n < 1)
		return 0;
	uint8_t b = p[0];
	int need;
	uint32_t v;
	if (b < 0x80) {
		need = 1;
		v = b;
	} else if (b < 0xC0) {
		need = 2;
		v = b & 0x3Fu;
	} else if (b < 0xE0) {
		need = 3;
		v = b & 0x1Fu;
	} else if (b < 0xF0) {
		need = 4;
		v = b & 0x0Fu;
	} else if (b < 0xF8) {
		/* 11110xxx: the low bits carry nothing, four length bytes follow */
		need = 5;
		v = 0;
	} else {
		return -1;
	}
	if (n < (size_t)need)
		return 0;
	for (int i = 1; i < need; i++)
		v = (v << 8) | p[i];
	*len = v;
	return need;
}

size_t api_encode_len(uint32_t len, uint8_t out[5])
{
	if (len < 0x80) {
		out[0] = (uint8_t)len;
		return 1;
	}
	if (len < 0x4000) {
		out[0] = (uint8_t)(0x80 | (len >> 8));
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len < 0x200000) {
		out[0] = (uint8_t)(0xC0 | (len >> 16));
		out[1] = (uint8_t)(len >> 8);
		out[2] = (uint8_t)len;
		return 3;
	}
	if (len < 0x10000000) {
		out[0] = (uint8_t)(0xE0 | (len >> 24));
		out[1] = (uint8_t)(len >> 16);
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[0] = 0xF0;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	return 5;
}

void api_put_word(struct sbuf *b, const char *w, size_t len)
{
	uint8_t pre[5];
	if (len > API_WORD_MAX)
		len = API_WORD_MAX;
	sbuf_add(b, (const char *)pre, api_encode_len((uint32_t)len, pre));
	sbuf_add(b, w, len);
}

void api_put_str(struct sbuf *b, const char *w)
{
	api_put_word(b, w, strlen(w));
}

void api_put_attr(struct sbuf *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = value ? strlen(value) : 0;
	uint8_t pre[5];
	sbuf_add(b, (const char *)pre, api_encode_len((uint32_t)(nl + vl + 2), pre));
	sbuf_putc(b, '=');
	sbuf_add(b, name, nl);
	sbuf_putc(b, '=');
	if (vl)
		sbuf_add(b, value, vl);
}

void api_put_end(struct sbuf *b)
{
	sbuf_putc(b, '\0');
}

/* ---- decoder ---- */

void api_decoder_init(struct api_decoder *d, const struct api_limits *lim)
{
	memset(d, 0, sizeof(*d));
	d->lim = *lim;
}

void api_decoder_free(struct api_decoder *d)
{
	sbuf_free(&d->buf);
	free(d->off);
	free(d->lens);
	free(d->ptrs);
	memset(d, 0, sizeof(*d));
}

void api_decoder_limits(struct api_decoder *d, const struct api_limits *lim)
{
	d->lim = *lim;
}

bool api_decoder_idle(const struct api_decoder *d)
{
	return d->delivered || (!d->hdr_have && !d->in_word && !d->nw);
}

static void reset_sentence(struct api_decoder *d)
{
	sbuf_reset(&d->buf);
	d->nw = 0;
	d->total = 0;
	d->delivered = false;
}

static int fail(struct api_decoder *d, const char *why, const char **out)
{
	d->dead = why;
	if (out)
		*out = why;
	return API_DEC_ERROR;
}

/* A whole word is in buf from off[nw]: close it. */
static void end_word(struct api_decoder *d)
{
	sbuf_putc(&d->buf, '\0');
	d->nw++;
	d->in_word = false;
}

static void begin_word(struct api_decoder *d, size_t len)
{
	if (d->nw == d->capw) {
		d->capw = d->capw ? d->capw * 2 : 8;
		d->off = xrealloc(d->off, d->capw * sizeof(*d->off));
		d->lens = xrealloc(d->lens, d->capw * sizeof(*d->lens));
		d->ptrs = xrealloc(d->ptrs, (d->capw + 1) * sizeof(*d->ptrs));
	}
	d->off[d->nw] = d->buf.len;
	d->lens[d->nw] = len;
	d->word_len = len;
	d->word_have = 0;
	d->in_word = true;
	d->total += len;
}

static void hand_out(struct api_decoder *d, struct api_sentence *s)
{
	for (size_t i = 0; i < d->nw; i++)
		d->ptrs[i] = d->buf.s + d->off[i];
	s->w = d->nw ? d->ptrs : NULL;
	s->len = d->nw ? d->lens : NULL;
	s->n = d->nw;
	d->delivered = true;
}

int api_decoder_feed(struct api_decoder *d, const void *buf, size_t len, size_t *used,
		     struct api_sentence *s, const char **why)
{
	const uint8_t *p = buf;
	size_t i = 0;
	*used = 0;
	if (d->dead)
		return fail(d, d->dead, why);
	if (d->delivered)
		reset_sentence(d);
	while (i < len) {
		if (d->in_word) {
			size_t take = d->word_len - d->word_have;
			if (take > len - i)
				take = len - i;
			sbuf_add(&d->buf, (const char *)p + i, take);
			d->word_have += take;
			i += take;
			if (d->word_have == d->word_len)
				end_word(d);
			continue;
		}
		/* collect the length prefix a byte at a time: it may be split */
		d->hdr[d->hdr_have++] = p[i++];
		uint32_t wl;
		int k = api_decode_len(d->hdr, d->hdr_have, &wl);
		if (k < 0)
			return fail(d, "reserved length prefix", why);
		if (k == 0)
			continue;
		d->hdr_have = 0;
		if (wl == 0) {
			*used = i;
			hand_out(d, s);
			return API_DEC_SENTENCE;
		}
		if (wl > d->lim.max_word)
			return fail(d, "word too long", why);
		if (d->nw + 1 > d->lim.max_words)
			return fail(d, "too many words in a sentence", why);
		if (d->total + wl > d->lim.max_sentence)
			return fail(d, "sentence too long", why);
		begin_word(d, wl);
	}
	*used = i;
	return API_DEC_MORE;
}
