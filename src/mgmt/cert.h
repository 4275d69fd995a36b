/*
 * cert: the router's TLS certificate. On first use a self-signed ECDSA P-256
 * certificate (CN rosfw, SAN localhost and 127.0.0.1, ten years) is created
 * with GnuTLS and stored in /certificate in one transaction, so every TLS
 * endpoint (api-ssl, www-ssl) presents the same one across restarts.
 * /ip service certificate=none (or empty) means that built-in certificate;
 * another value names a /certificate item.
 * Called on the control-plane thread that owns the store, outside any open
 * transaction. Errors: -1 and e. The caller frees what it is given.
 */
#ifndef ROSFW_MGMT_CERT_H
#define ROSFW_MGMT_CERT_H

#include "conf/store.h"
#include "util/err.h"

#define CERT_BUILTIN_NAME "rosfw-self-signed"

/* Creates the built-in self-signed certificate unless the store has it. */
int cert_ensure(struct store *st, struct err *e);

/* The PEM texts of the certificate a service names ("none" or "" = the
 * built-in one, created when missing). *cert_pem and *key_pem are malloc'd;
 * the key is wiped and freed by cert_free_pem. */
int cert_pem(struct store *st, const char *name, char **cert_pem, char **key_pem,
	     struct err *e);
void cert_free_pem(char *cert_pem, char *key_pem);

#endif
