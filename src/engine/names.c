/*
 * names: one table per name space. Names live in fixed-size chunks that are
 * never moved or freed, so name_of() needs no lock: an id is published only
 * after its string is in place (release store of the count, acquire load in
 * name_of). Interning and lookup by name take a mutex and use an open
 * addressing hash of ids.
 */
#include "names.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

#define CHUNK_BITS 10
#define CHUNK      (1u << CHUNK_BITS)
#define MAX_CHUNKS 1024u /* 1M names per space */

struct space {
	char **chunk[MAX_CHUNKS];
	_Atomic uint32_t count;   /* ids 1..count are valid */
	uint32_t *hash;           /* ids, 0 = empty slot */
	uint32_t hcap;            /* power of two */
	uint32_t limit;           /* largest id the space may hand out */
};

static struct space spaces[NS_MAX];
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t space_limit(enum name_space ns)
{
	/* interface ids travel in 16-bit fields of struct pkt */
	return ns == NS_IFACE ? UINT16_MAX : MAX_CHUNKS * CHUNK - 1;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h ^ (h >> 15);
}

static const char *slot_name(const struct space *sp, uint32_t id)
{
	return sp->chunk[id >> CHUNK_BITS][id & (CHUNK - 1)];
}

static bool is_none(enum name_space ns, const char *name)
{
	return !name || !*name || (ns == NS_MARK && !strcmp(name, "no-mark"));
}

/* The slot of name in the hash: its id's slot, or the empty one it would take. */
static uint32_t *hash_slot(struct space *sp, const char *name)
{
	uint32_t mask = sp->hcap - 1;
	for (uint32_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
		uint32_t id = sp->hash[i];
		if (!id || !strcmp(slot_name(sp, id), name))
			return &sp->hash[i];
	}
}

static void hash_grow(struct space *sp)
{
	uint32_t old = sp->hcap;
	uint32_t *oh = sp->hash;
	sp->hcap = old ? old * 2 : 64;
	sp->hash = xcalloc(sp->hcap, sizeof(*sp->hash));
	for (uint32_t i = 0; i < old; i++)
		if (oh[i])
			*hash_slot(sp, slot_name(sp, oh[i])) = oh[i];
	free(oh);
}

uint32_t name_intern(enum name_space ns, const char *name)
{
	if ((unsigned)ns >= NS_MAX || is_none(ns, name))
		return 0;
	struct space *sp = &spaces[ns];
	uint32_t id = 0;
	pthread_mutex_lock(&names_lock);
	if (!sp->limit)
		sp->limit = space_limit(ns);
	uint32_t n = atomic_load_explicit(&sp->count, memory_order_relaxed);
	if ((n + 1) * 2 > sp->hcap)
		hash_grow(sp);
	uint32_t *slot = hash_slot(sp, name);
	if (*slot) {
		id = *slot;
		goto unlock;
	}
	if (n >= sp->limit)
		goto unlock; /* the space is full: the name gets "none" */
	id = n + 1;
	if (!sp->chunk[id >> CHUNK_BITS])
		sp->chunk[id >> CHUNK_BITS] = xcalloc(CHUNK, sizeof(char *));
	sp->chunk[id >> CHUNK_BITS][id & (CHUNK - 1)] = xstrdup(name);
	*slot = id;
	atomic_store_explicit(&sp->count, id, memory_order_release);
unlock:
	pthread_mutex_unlock(&names_lock);
	return id;
}

uint32_t name_find(enum name_space ns, const char *name)
{
	if ((unsigned)ns >= NS_MAX || is_none(ns, name))
		return 0;
	struct space *sp = &spaces[ns];
	uint32_t id = 0;
	pthread_mutex_lock(&names_lock);
	if (sp->hcap)
		id = *hash_slot(sp, name);
	pthread_mutex_unlock(&names_lock);
	return id;
}

const char *name_of(enum name_space ns, uint32_t id)
{
	if ((unsigned)ns >= NS_MAX || id == 0)
		return "";
	struct space *sp = &spaces[ns];
	if (id > atomic_load_explicit(&sp->count, memory_order_acquire))
		return "";
	return slot_name(sp, id);
}
