#include "cert.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/schema.h"

#define CERT_DAYS 3650

static int gt_err(struct err *e, const char *what, int rc)
{
	return err_set(e, "certificate: %s: %s", what, gnutls_strerror(rc));
}

static const struct item *builtin_item(struct store *st, const struct menu *m)
{
	for (size_t i = 0; i < store_count(st, m); i++) {
		const struct item *it = store_at(st, m, i);
		if (it->flags & IF_BUILTIN)
			return it;
	}
	return NULL;
}

static void utc_text(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void set_prop(const struct menu *m, struct item *it, const char *name, const char *v)
{
	int i = schema_prop(m, name, NULL);
	if (i >= 0)
		item_set(m, it, i, v);
}

/* Makes the key pair and the self-signed certificate; fills the item. */
static int make_cert(const struct menu *m, struct item *it, struct err *e)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t cpem = { NULL, 0 }, kpem = { NULL, 0 };
	int rc = -1, r;
	if ((r = gnutls_x509_privkey_init(&key)) < 0 || (r = gnutls_x509_crt_init(&crt)) < 0) {
		gt_err(e, "init", r);
		goto out;
	}
	r = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (r < 0) {
		gt_err(e, "key generation", r);
		goto out;
	}
	unsigned char serial[16];
	if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0) {
		gt_err(e, "serial", r);
		goto out;
	}
	serial[0] &= 0x7f; /* a positive INTEGER */
	serial[0] |= 0x01;
	time_t now = time(NULL), from = now - 86400, until = now + (time_t)CERT_DAYS * 86400;
	static const char cn[] = "rosfw";
	unsigned char lo[4];
	inet_pton(AF_INET, "127.0.0.1", lo);
	if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt, from)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt, until)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
					       sizeof(cn) - 1)) < 0 ||
	    (r = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
						      GNUTLS_FSAN_APPEND)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, lo, 4,
						      GNUTLS_FSAN_APPEND)) < 0 ||
	    (r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (r = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0) {
		gt_err(e, "fields", r);
		goto out;
	}
	unsigned char kid[64];
	size_t kidlen = sizeof(kid);
	if ((r = gnutls_x509_crt_get_key_id(crt, 0, kid, &kidlen)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_key_id(crt, kid, kidlen)) < 0 ||
	    (r = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0) {
		gt_err(e, "signing", r);
		goto out;
	}
	if ((r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem)) < 0 ||
	    (r = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem)) < 0) {
		gt_err(e, "export", r);
		goto out;
	}
	unsigned char fp[32];
	size_t fplen = sizeof(fp);
	if ((r = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &fplen)) < 0) {
		gt_err(e, "fingerprint", r);
		goto out;
	}
	char hex[2 * sizeof(fp) + 1], text[32];
	for (size_t i = 0; i < fplen; i++)
		snprintf(hex + 2 * i, 3, "%02x", fp[i]);
	set_prop(m, it, "name", CERT_BUILTIN_NAME);
	set_prop(m, it, "common-name", cn);
	set_prop(m, it, "key-type", "ec secp256r1");
	snprintf(text, sizeof(text), "%d", CERT_DAYS);
	set_prop(m, it, "days-valid", text);
	utc_text(from, text, sizeof(text));
	set_prop(m, it, "invalid-before", text);
	utc_text(until, text, sizeof(text));
	set_prop(m, it, "invalid-after", text);
	set_prop(m, it, "fingerprint", hex);
	char *c = xstrndup((const char *)cpem.data, cpem.size);
	char *k = xstrndup((const char *)kpem.data, kpem.size);
	set_prop(m, it, "certificate-pem", c);
	set_prop(m, it, "private-key-pem", k);
	free(c);
	gnutls_memset(k, 0, kpem.size);
	free(k);
	rc = 0;
out:
	if (kpem.data) {
		gnutls_memset(kpem.data, 0, kpem.size);
		gnutls_free(kpem.data);
	}
	gnutls_free(cpem.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return rc;
}

int cert_ensure(struct store *st, struct err *e)
{
	const struct menu *m = schema_find("/certificate");
	if (!m)
		return err_set(e, "certificate: no /certificate menu");
	if (builtin_item(st, m))
		return 0;
	struct item *it = item_new(m);
	if (make_cert(m, it, e) < 0) {
		item_free(m, it);
		return -1;
	}
	it->flags |= IF_BUILTIN;
	if (store_begin(st, e) < 0) {
		item_free(m, it);
		return -1;
	}
	if (store_add(st, m, it, SIZE_MAX, NULL, e) < 0 ||
	    store_commit(st, "system", "/certificate (self-signed certificate created)", e) < 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int cert_pem(struct store *st, const char *name, char **cert_pem, char **key_pem,
	     struct err *e)
{
	const struct menu *m = schema_find("/certificate");
	const struct item *it = NULL;
	*cert_pem = *key_pem = NULL;
	if (!m)
		return err_set(e, "certificate: no /certificate menu");
	if (!name || !*name || !strcmp(name, "none")) {
		if (cert_ensure(st, e) < 0)
			return -1;
		it = builtin_item(st, m);
	} else {
		it = store_by_key(st, m, name);
	}
	if (!it)
		return err_set(e, "no such certificate '%s'", name);
	const char *c = item_get(m, it, "certificate-pem");
	const char *k = item_get(m, it, "private-key-pem");
	if (!c || !*c || !k || !*k)
		return err_set(e, "certificate '%s' has no key", item_get(m, it, "name"));
	*cert_pem = xstrdup(c);
	*key_pem = xstrdup(k);
	return 0;
}

void cert_free_pem(char *cert_pem, char *key_pem)
{
	free(cert_pem);
	if (key_pem) {
		gnutls_memset(key_pem, 0, strlen(key_pem));
		free(key_pem);
	}
}
