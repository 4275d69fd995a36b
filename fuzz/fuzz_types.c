/*
 * libFuzzer target for the value types (src/conf/types.c).
 *
 * Input: a property selector, then the text given to type_parse.
 * The schema has more properties than one byte can number (over 700), so the
 * selector is the first two bytes, little endian, modulo the total number of
 * properties of all schema_menus[] (counted in menu order, then property
 * order). The rest of the input, up to its first NUL, is the value.
 *
 * Checked (abort() = a real bug): when type_parse accepts a value, its
 * canonical text must parse again, and give the same text (canonical form is
 * a fixed point).
 *
 * Build: make build-fuzz/fuzz_types; run: build-fuzz/fuzz_types fuzz/corpus/fuzz_types
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/schema.h"
#include "conf/types.h"

#define MAX_INPUT (64 * 1024)

static const struct prop **props;
static const struct menu **owner;
static size_t nprops;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < schema_nmenus; i++)
		nprops += schema_menus[i]->nprops;
	props = calloc(nprops ? nprops : 1, sizeof(*props));
	owner = calloc(nprops ? nprops : 1, sizeof(*owner));
	if (!props || !owner)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < schema_nmenus; i++)
		for (size_t j = 0; j < schema_menus[i]->nprops; j++) {
			owner[k] = schema_menus[i];
			props[k++] = &schema_menus[i]->props[j];
		}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[MAX_INPUT + 1];
	if (size < 2 || nprops == 0)
		return 0;
	size_t sel = ((size_t)data[0] | (size_t)data[1] << 8) % nprops;
	const struct prop *p = props[sel];
	size -= 2;
	if (size > MAX_INPUT)
		size = MAX_INPUT;
	memcpy(in, data + 2, size);
	in[size] = 0;

	struct sbuf c1 = SBUF_INIT, c2 = SBUF_INIT;
	struct err e;
	err_clear(&e);
	if (type_parse(p, in, &c1, &e) == 0) {
		char *canon = strdup(sbuf_str(&c1));
		if (!canon)
			abort();
		err_clear(&e);
		if (type_parse(p, canon, &c2, &e) < 0) {
			fprintf(stderr,
				"fuzz_types: %s %s: input \"%s\" gave \"%s\", which does not parse: %s\n",
				owner[sel]->path, p->name, in, canon, e.msg);
			abort();
		}
		if (strcmp(canon, sbuf_str(&c2)) != 0) {
			fprintf(stderr,
				"fuzz_types: %s %s: input \"%s\" gave \"%s\", which gives \"%s\"\n",
				owner[sel]->path, p->name, in, canon, sbuf_str(&c2));
			abort();
		}
		free(canon);
	}
	sbuf_free(&c1);
	sbuf_free(&c2);
	return 0;
}
