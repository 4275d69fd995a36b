/*
 * /certificate, minimal: the router's TLS certificates. rosfw creates one
 * self-signed certificate on first start (src/mgmt/cert.c) for api-ssl and
 * www-ssl; /ip service certificate=none means that one. Users cannot add or
 * remove certificates yet. Every property is status: the key material is
 * written by cert.c through the store, never by a command, and export skips
 * the menu (RouterOS exports no certificates either).
 */
#define ROSFW_MENUS_TABLES
#include "menus.h"

#define CERT_RO(n, t, h) { .name = (n), .type = (t), .flags = PF_RO, .help = (h) }

static const struct prop cert_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_RO | PF_UNIQUE,
	  .help = "Name services use in certificate=" },
	CERT_RO("common-name", T_STR, "Subject common name"),
	CERT_RO("key-type", T_STR, "Public key algorithm"),
	CERT_RO("days-valid", T_INT, "Validity in days"),
	CERT_RO("invalid-before", T_STR, "Start of validity"),
	CERT_RO("invalid-after", T_STR, "End of validity"),
	CERT_RO("fingerprint", T_STR, "SHA-256 of the certificate"),
	{ .name = "certificate-pem", .type = T_STR,
	  .flags = PF_RO | PF_SENSITIVE | PF_NOEXPORT | PF_DETAIL,
	  .help = "The certificate, PEM" },
	{ .name = "private-key-pem", .type = T_STR,
	  .flags = PF_RO | PF_SENSITIVE | PF_NOEXPORT | PF_DETAIL,
	  .help = "The private key, PEM" },
};

static const char *const cert_columns[] = { "name", "common-name", "key-type", "days-valid",
					    "fingerprint", NULL };

/* None from the schema: cert.c makes the built-in one on first start. */
static const char *const cert_builtin[] = { NULL };

const struct menu menu_certificate = {
	.path = "/certificate",
	MENU_PROPS(cert_props),
	.flags = MF_FIXED | MF_NOEXPORT,
	.key = "name",
	.columns = cert_columns,
	.builtin = cert_builtin,
	.help = "TLS certificates of the router",
};
