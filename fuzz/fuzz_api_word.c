/*
 * libFuzzer target for the RouterOS API word decoder (src/mgmt/api_word.c).
 *
 * Input: one byte of options, then the byte stream a client would send.
 * Options: bit 0 picks the caps (the pre-login ones of the API front, or
 * wider ones); the other bits seed the sizes of the pieces the stream is
 * cut into, as reads from a socket would cut it.
 *
 * Checked (abort() = a real bug):
 *  - the same stream fed whole and fed in pieces gives the same sentences
 *    and ends the same way (same error, or the same bytes left pending);
 *  - every sentence respects the caps, and each word is NUL-terminated at
 *    its length;
 *  - re-encoding the sentences and decoding them again gives them back;
 *  - after an error the decoder refuses everything.
 *
 * Build: make build-fuzz/fuzz_api_word; run:
 *   build-fuzz/fuzz_api_word fuzz/corpus/fuzz_api_word
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgmt/api_word.h"

static const struct api_limits caps[2] = {
	{ 4096, 4096, 32 },           /* the API front before login */
	{ 1u << 20, 1u << 20, 4096 }, /* wide, within what a fuzz run can afford */
};

struct run {
	struct sbuf enc;    /* every sentence, re-encoded */
	size_t sentences;
	const char *error;  /* reason of the error, NULL if none */
	bool idle;          /* nothing partial at the end */
};

static void check_sentence(const struct api_limits *lim, const struct api_sentence *s)
{
	size_t total = 0;
	if (s->n > lim->max_words) {
		fprintf(stderr, "fuzz_api_word: %zu words over the cap %zu\n", s->n, lim->max_words);
		abort();
	}
	for (size_t i = 0; i < s->n; i++) {
		if (s->len[i] == 0 || s->len[i] > lim->max_word || s->w[i][s->len[i]] != 0) {
			fprintf(stderr, "fuzz_api_word: bad word %zu (len %zu)\n", i, s->len[i]);
			abort();
		}
		total += s->len[i];
	}
	if (total > lim->max_sentence) {
		fprintf(stderr, "fuzz_api_word: sentence of %zu bytes over the cap\n", total);
		abort();
	}
}

/* Feeds data in pieces (piece sizes from seed; seed 0 = whole). */
static void decode(const struct api_limits *lim, const uint8_t *data, size_t size, unsigned seed,
		   struct run *r)
{
	struct api_decoder d;
	api_decoder_init(&d, lim);
	memset(r, 0, sizeof(*r));
	uint32_t x = seed * 2654435761u + 1;
	size_t off = 0;
	while (off < size && !r->error) {
		size_t piece = size - off;
		if (seed) {
			x = x * 1103515245u + 12345u;
			piece = 1 + (x >> 16) % 7;
			if (piece > size - off)
				piece = size - off;
		}
		size_t end = off + piece;
		while (off < end) {
			size_t used = 0;
			struct api_sentence s;
			const char *why = NULL;
			int rc = api_decoder_feed(&d, data + off, end - off, &used, &s, &why);
			if (used > end - off)
				abort();
			off += used;
			if (rc == API_DEC_ERROR) {
				if (!why)
					abort();
				r->error = why;
				break;
			}
			if (rc == API_DEC_MORE) {
				if (off != end)
					abort(); /* MORE means every byte was taken */
				break;
			}
			check_sentence(lim, &s);
			r->sentences++;
			for (size_t i = 0; i < s.n; i++)
				api_put_word(&r->enc, s.w[i], s.len[i]);
			api_put_end(&r->enc);
		}
	}
	if (r->error) {
		size_t used;
		struct api_sentence s;
		const char *why = NULL;
		if (api_decoder_feed(&d, "\x01x\x00", 3, &used, &s, &why) != API_DEC_ERROR || used)
			abort(); /* a dead decoder stays dead */
	}
	r->idle = api_decoder_idle(&d);
	api_decoder_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct api_limits *lim = &caps[data[0] & 1];
	unsigned seed = (data[0] >> 1) + 1;
	data++;
	size--;
	struct run whole, pieces, again;
	decode(lim, data, size, 0, &whole);
	decode(lim, data, size, seed, &pieces);
	if (whole.sentences != pieces.sentences || whole.enc.len != pieces.enc.len ||
	    (whole.enc.len && memcmp(whole.enc.s, pieces.enc.s, whole.enc.len)) ||
	    (whole.error == NULL) != (pieces.error == NULL) ||
	    (whole.error && strcmp(whole.error, pieces.error)) || whole.idle != pieces.idle) {
		fprintf(stderr, "fuzz_api_word: whole and in pieces differ (%zu/%zu sentences, %s/%s)\n",
			whole.sentences, pieces.sentences, whole.error ? whole.error : "-",
			pieces.error ? pieces.error : "-");
		abort();
	}
	/* the canonical encoding decodes to the same sentences */
	decode(lim, (const uint8_t *)whole.enc.s, whole.enc.len, 0, &again);
	if (again.error || again.sentences != whole.sentences || again.enc.len != whole.enc.len ||
	    (whole.enc.len && memcmp(again.enc.s, whole.enc.s, whole.enc.len)) || !again.idle) {
		fprintf(stderr, "fuzz_api_word: re-encoded sentences decode differently\n");
		abort();
	}
	sbuf_free(&whole.enc);
	sbuf_free(&pieces.enc);
	sbuf_free(&again.enc);
	return 0;
}
