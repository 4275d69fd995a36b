/*
 * names: process-wide interning of the strings that packets carry as small
 * integers — interface names, interface-list names, packet/connection/
 * routing marks, address-list names. Ids are stable for the life of the
 * process (so a connection's mark survives a recompile); 0 means none.
 * Interning happens on the control plane (compile); lookups by id from any
 * thread are safe once the id was handed out (the table only grows and the
 * strings never move).
 */
#ifndef ROSFW_ENGINE_NAMES_H
#define ROSFW_ENGINE_NAMES_H

#include <stdint.h>

enum name_space { NS_IFACE, NS_IFLIST, NS_MARK, NS_ADDRLIST, NS_MAX };

/* The id of name in space ns, creating it; "" and "no-mark" give 0 for marks. */
uint32_t name_intern(enum name_space ns, const char *name);
/* The id if it exists, else 0 (no creation). */
uint32_t name_find(enum name_space ns, const char *name);
/* The name of an id, "" for 0 or an unknown id. */
const char *name_of(enum name_space ns, uint32_t id);

#endif
