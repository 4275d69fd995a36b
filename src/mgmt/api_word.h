/*
 * api_word: the RouterOS API wire format. A word is a length prefix (one to
 * five bytes) and that many bytes; a sentence is a run of words closed by an
 * empty word. The decoder takes bytes as they arrive, in pieces of any size,
 * and yields whole sentences within caps the caller sets (much lower before
 * login); it never allocates more than the bytes it has actually received.
 * The encoder appends words and sentences to an sbuf.
 * Pure (no I/O, no globals): the fuzz target drives it directly. A decoder
 * belongs to one connection on one thread; the caller frees it.
 * Errors: api_decoder_feed returns API_DEC_ERROR with a fixed reason text,
 * after which the decoder refuses everything (the connection is closed).
 */
#ifndef ROSFW_MGMT_API_WORD_H
#define ROSFW_MGMT_API_WORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sbuf.h"

/* Lengths of 0x10000000 and above need the five-byte form; the protocol
 * reserves first bytes 0xF8..0xFF. */
#define API_WORD_MAX 0xFFFFFFFFu

struct api_limits {
	size_t max_word;     /* bytes in one word */
	size_t max_sentence; /* bytes of all the words of one sentence */
	size_t max_words;    /* words in one sentence */
};

/* One decoded sentence. w[i] is NUL-terminated; len[i] is its real length
 * (a word may contain NUL bytes: callers that want text compare the two).
 * Valid until the next call on the decoder. */
struct api_sentence {
	char **w;
	size_t *len;
	size_t n;
};

struct api_decoder {
	struct api_limits lim;
	uint8_t hdr[5];        /* length prefix being read */
	unsigned hdr_have;
	bool in_word;          /* prefix complete, reading the word's bytes */
	size_t word_len, word_have;
	struct sbuf buf;       /* words of the sentence so far, each NUL-terminated */
	size_t *off, *lens;    /* start and length of each word in buf */
	char **ptrs;           /* filled when a sentence is handed out */
	size_t nw, capw;
	size_t total;          /* bytes of words in this sentence */
	bool delivered;        /* the last call handed out a sentence: reset first */
	const char *dead;      /* the reason of the first error, then every error */
};

enum { API_DEC_ERROR = -1, API_DEC_MORE = 0, API_DEC_SENTENCE = 1 };

void api_decoder_init(struct api_decoder *d, const struct api_limits *lim);
void api_decoder_free(struct api_decoder *d);
/* New caps for the next words (after login). */
void api_decoder_limits(struct api_decoder *d, const struct api_limits *lim);
/*
 * Consumes bytes from buf (len of them). Returns API_DEC_SENTENCE when a
 * sentence is complete: *used says how many bytes were consumed, the rest
 * is for the next call. API_DEC_MORE: every byte was consumed and no
 * sentence is complete yet. API_DEC_ERROR: a reserved prefix or a cap was
 * exceeded; *why says which.
 */
int api_decoder_feed(struct api_decoder *d, const void *buf, size_t len, size_t *used,
		     struct api_sentence *s, const char **why);
/* True between sentences (nothing partial is held). */
bool api_decoder_idle(const struct api_decoder *d);

/*
 * A length prefix at p (n bytes there). Returns the prefix size and sets
 * *len; 0 when more bytes are needed; -1 for a reserved first byte.
 */
int api_decode_len(const uint8_t *p, size_t n, uint32_t *len);
/* Writes the shortest prefix for len into out; returns its size (1..5). */
size_t api_encode_len(uint32_t len, uint8_t out[5]);

/* Appends a word (len bytes), a NUL-terminated word, or the end of a sentence. */
void api_put_word(struct sbuf *b, const char *w, size_t len);
void api_put_str(struct sbuf *b, const char *w);
/* Appends "=name=value". */
void api_put_attr(struct sbuf *b, const char *name, const char *value);
void api_put_end(struct sbuf *b);

#endif
