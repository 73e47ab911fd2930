// SPDX-License-Identifier: GPL-2.0
/*
 * HTTPS: the certificate and key files of --tls-cert and --tls-key, read
 * into memory at start (before dgfsd gives up root, and once: a new
 * certificate needs a restart) and checked here, so that a missing,
 * unreadable, malformed or mismatched pair stops dgfsd with a message that
 * names the file and the fault instead of a handshake failure later.
 * libmicrohttpd serves TLS with GnuTLS from these PEM buffers; the check
 * uses OpenSSL's libcrypto, which dgfsd links already.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "dgfsd.h"

/* A certificate chain or a key is a few KiB; anything this big is not one. */
#define TLS_FILE_MAX	(1u << 20)

static int __attribute__((format(printf, 1, 2))) tls_bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dgfsd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return -1;
}

/* @path whole, NUL-terminated (PEM is text), into *out; *len without the NUL. */
static int read_pem(const char *what, const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return tls_bad("cannot read the TLS %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > TLS_FILE_MAX) {
		close(fd);
		return tls_bad("the TLS %s %s is not a PEM file of at most 1 MiB", what, path);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return tls_bad("out of memory reading %s", path);
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;

			close(fd);
			sodium_memzero(buf, got);
			free(buf);
			return tls_bad("cannot read %s: %s", path, strerror(err));
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* OpenSSL's first queued error, as text ("" if none), and the queue cleared. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();

	buf[0] = '\0';
	if (e)
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* A key with a passphrase would need it at every start: refused, and said so. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/* The first certificate of @pem (the server's; a chain may follow) against @key_pem. */
static int check_pair(const struct dgfsd_config *cfg, const char *cert_pem, size_t cert_len,
		      const char *key_pem, size_t key_len)
{
	BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_len);
	BIO *kb = BIO_new_mem_buf(key_pem, (int)key_len);
	bool wanted_passphrase = false;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	char why[256];
	int ret = -1;

	if (!cb || !kb) {
		tls_bad("out of memory");
		goto out;
	}
	cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	if (!cert) {
		tls_bad("--tls-cert %s holds no PEM certificate (%s)", cfg->tls_cert,
			ssl_reason(why, sizeof(why)));
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(kb, NULL, no_passphrase, &wanted_passphrase);
	if (!pkey) {
		if (wanted_passphrase)
			tls_bad("--tls-key %s is encrypted: dgfsd needs it without a passphrase "
				"(readable by root only)", cfg->tls_key);
		else
			tls_bad("--tls-key %s holds no PEM private key (%s)", cfg->tls_key,
				ssl_reason(why, sizeof(why)));
		goto out;
	}
	if (X509_check_private_key(cert, pkey) != 1) {
		ERR_clear_error();
		tls_bad("--tls-key %s is not the key of the certificate in --tls-cert %s",
			cfg->tls_key, cfg->tls_cert);
		goto out;
	}
	/* Served anyway (a clock may be wrong), but clients will refuse it. */
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
		fprintf(stderr, "dgfsd: warning: the certificate in %s has expired: clients "
			"will refuse it\n", cfg->tls_cert);
	else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
		fprintf(stderr, "dgfsd: warning: the certificate in %s is not valid yet: "
			"clients will refuse it\n", cfg->tls_cert);
	ret = 0;
out:
	EVP_PKEY_free(pkey);
	X509_free(cert);
	BIO_free(cb);
	BIO_free(kb);
	return ret;
}

int tls_load(const struct dgfsd_config *cfg, struct dgfsd_tls *tls)
{
	memset(tls, 0, sizeof(*tls));
	if (!cfg->tls_cert[0] && !cfg->tls_key[0])
		return 0;
	if (!cfg->tls_cert[0] || !cfg->tls_key[0])
		return tls_bad("HTTPS needs both --tls-cert and --tls-key");
	if (read_pem("certificate", cfg->tls_cert, &tls->cert_pem, &tls->cert_len) ||
	    read_pem("key", cfg->tls_key, &tls->key_pem, &tls->key_len) ||
	    check_pair(cfg, tls->cert_pem, tls->cert_len, tls->key_pem, tls->key_len)) {
		tls_free(tls);
		return -1;
	}
	return 0;
}

int tls_cluster_ca_load(struct dgfsd_config *cfg)
{
	char why[256];
	BIO *b;
	X509 *x;
	int n = 0;

	if (!cfg->cluster_ca[0])
		return 0;
	if (read_pem("CA", cfg->cluster_ca, &cfg->cluster_ca_pem, &cfg->cluster_ca_len))
		return -1;
	b = BIO_new_mem_buf(cfg->cluster_ca_pem, (int)cfg->cluster_ca_len);
	while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		X509_free(x);
		n++;
	}
	BIO_free(b);
	/* The end of the text is the only error expected after the last one. */
	if (n && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	if (!n || ERR_peek_error()) {
		tls_bad("--cluster-ca %s holds %s (%s)", cfg->cluster_ca,
			n ? "something besides PEM certificates" : "no PEM certificate",
			ssl_reason(why, sizeof(why)));
		tls_cluster_ca_free(cfg);
		return -1;
	}
	return 0;
}

void tls_cluster_ca_free(struct dgfsd_config *cfg)
{
	free(cfg->cluster_ca_pem);
	cfg->cluster_ca_pem = NULL;
	cfg->cluster_ca_len = 0;
}

void tls_free(struct dgfsd_tls *tls)
{
	if (tls->key_pem)
		sodium_memzero(tls->key_pem, tls->key_len);
	free(tls->key_pem);
	free(tls->cert_pem);
	memset(tls, 0, sizeof(*tls));
}
