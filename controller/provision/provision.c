/* Provisioning: CA, broker and client certificates, signing key, mosquitto config and ACL. */
#include "provision.h"

#include "msg.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credential.h"
#include "i18n.h"

#define TOPIC_ROOT "evalroom/v1"

static GQuark provision_error_quark(void);
G_DEFINE_QUARK(evalroom_provision_error, provision_error)
#define PROVISION_ERROR (provision_error_quark())
/* A request or response at its limit, plus the MQTT header, topic and properties. */
#define BROKER_MAX_PACKET_SIZE (MSG_MAX_REQUEST_SIZE + 64 * 1024)
/* What a broker queues for one client that falls behind (the controller in a burst, a
 * bridge during a link outage) before it drops QoS 1 messages: mosquitto's default is
 * 1000 messages, which a burst of door events from a venue exceeds. The bytes bound the
 * memory one stalled client can hold (mosquitto.service has no MemoryMax). */
#define BROKER_MAX_QUEUED_MESSAGES 100000
#define BROKER_MAX_QUEUED_BYTES    (128 * 1024 * 1024)

/* Sets *err from OpenSSL's error queue (emptying it); returns -EIO. */
static int ssl_fail(GError **err, const char *what)
{
	char buf[256] = "unknown error";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	g_set_error(err, PROVISION_ERROR, EIO, "%s: openssl: %s", what, buf);
	return -EIO;
}

static int write_file(const char *path, const char *data, size_t len, int mode, GError **err)
{
	GError *local = NULL;
	if (!g_file_set_contents_full(path, data, (gssize)len,
	                              G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
	                              mode, &local)) {
		g_propagate_error(err, local);
		return -EIO;
	}
	/* g_file_set_contents_full keeps an existing file's mode; a key must end up 0600. */
	if (chmod(path, (mode_t)mode) != 0) {
		int e = errno;
		g_set_error(err, PROVISION_ERROR, e, "%s: chmod: %s", path, g_strerror(e));
		return -e;
	}
	return 0;
}

/* Writes whatever PEM the writer puts into a memory BIO to path. */
static int write_bio(const char *path, BIO *bio, int mode, GError **err)
{
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		return ssl_fail(err, path);
	return write_file(path, data, (size_t)len, mode, err);
}

static int write_key(const char *path, EVP_PKEY *key, GError **err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = 0;
	if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		rc = ssl_fail(err, path);
	else
		rc = write_bio(path, bio, 0600, err);
	BIO_free(bio);
	return rc;
}

static int write_pubkey(const char *path, EVP_PKEY *key, GError **err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = 0;
	if (!bio || !PEM_write_bio_PUBKEY(bio, key))
		rc = ssl_fail(err, path);
	else
		rc = write_bio(path, bio, 0644, err);
	BIO_free(bio);
	return rc;
}

static int write_cert(const char *path, X509 *cert, GError **err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rc = 0;
	if (!bio || !PEM_write_bio_X509(bio, cert))
		rc = ssl_fail(err, path);
	else
		rc = write_bio(path, bio, 0644, err);
	BIO_free(bio);
	return rc;
}

static EVP_PKEY *key_read(const char *path)
{
	BIO *bio = BIO_new_file(path, "r");
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	return key;
}

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int set_serial(X509 *cert)
{
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	raw[0] &= 0x7f; /* positive */
	raw[0] |= 0x40; /* and full length, as RFC 5280 serials are compared as integers */
	BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
	int rc = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) ? 0 : -1;
	BN_free(bn);
	return rc;
}

struct cert_spec {
	const char *cn;
	int days;
	gboolean ca;
	const char *eku;      /* extendedKeyUsage value, NULL for the CA */
	const char *san;      /* subjectAltName value or NULL */
	const char *key_type; /* "ED25519" or "SM2" (the watchers' witness-log signing
	                       * certificates); NULL for P-256 */
};

/* Issues a certificate for key per spec, signed by issuer/issuer_key (both NULL for the
 * self-signed CA). Returns a new X509 or NULL with *err set. */
static X509 *cert_issue(const struct cert_spec *spec, const char *org, EVP_PKEY *key, X509 *issuer,
                        EVP_PKEY *issuer_key, GError **err)
{
	X509 *cert = X509_new();
	if (!cert)
		goto err_ssl;
	X509_NAME *name = X509_get_subject_name(cert);
	if (!X509_set_version(cert, X509_VERSION_3) || set_serial(cert) != 0 ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), spec->days, 0, NULL) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1,
	                                -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)spec->cn,
	                                -1, -1, 0) ||
	    !X509_set_pubkey(cert, key))
		goto err_ssl;
	if (!X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name))
		goto err_ssl;

	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	int bad = 0;
	if (spec->ca) {
		bad |= add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
		bad |= add_ext(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		bad |= add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
		bad |= add_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature");
		bad |= add_ext(cert, &ctx, NID_ext_key_usage, spec->eku);
	}
	if (spec->san)
		bad |= add_ext(cert, &ctx, NID_subject_alt_name, spec->san);
	bad |= add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
	bad |= add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
	if (bad)
		goto err_ssl;
	if (X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()) <= 0)
		goto err_ssl;
	return cert;

err_ssl:
	ssl_fail(err, spec->cn);
	X509_free(cert);
	return NULL;
}

/* Generates a P-256 key (Ed25519 or SM2 when the spec asks), issues a certificate for it
 * and writes both. */
static int issue_and_write(const struct cert_spec *spec, const char *org, X509 *ca,
                           EVP_PKEY *ca_key, const char *crt_path, const char *key_path,
                           GError **err)
{
	EVP_PKEY *key =
	    spec->key_type ? EVP_PKEY_Q_keygen(NULL, NULL, spec->key_type) : EVP_EC_gen("P-256");
	if (!key)
		return ssl_fail(err, spec->cn);
	int rc = 0;
	X509 *cert = cert_issue(spec, org, key, ca, ca_key, err);
	if (!cert) {
		rc = -EIO;
		goto err_key;
	}
	rc = write_key(key_path, key, err);
	if (rc == 0)
		rc = write_cert(crt_path, cert, err);
	X509_free(cert);
err_key:
	EVP_PKEY_free(key);
	return rc;
}

static int issue_client(const char *cn, const char *org, X509 *ca, EVP_PKEY *ca_key,
                        const char *dir, GError **err)
{
	struct cert_spec spec = {
	    .cn = cn, .days = PROVISION_CERT_DAYS, .eku = "clientAuth", .san = NULL};
	char *crt = g_strdup_printf("%s/clients/%s.crt", dir, cn);
	char *key = g_strdup_printf("%s/clients/%s.key", dir, cn);
	int rc = issue_and_write(&spec, org, ca, ca_key, crt, key, err);
	g_free(key);
	g_free(crt);
	return rc;
}

/* The witness, the supervisor and the tenderer's representative sign the witness log with
 * certificates of their own, apart from the TLS one, which stays P-256 because browsers
 * take it for the web console and none imports an Ed25519 or SM2 key (docs/witness.md):
 * clients/CN.signing.{crt,key} (Ed25519) and clients/CN.sm2-signing.{crt,key} (SM2), as
 * the site's witness_signing asks; a pair it does not ask for is removed, so a
 * re-provisioned site holds exactly the configured keys. */
static int issue_signing(const char *cn, unsigned algorithms, const char *org, X509 *ca,
                         EVP_PKEY *ca_key, const char *dir, GError **err)
{
	static const struct {
		unsigned bit;
		const char *key_type, *suffix;
	} kinds[] = {{SITE_SIGNING_ED25519, "ED25519", "signing"},
	             {SITE_SIGNING_SM2, "SM2", "sm2-signing"}};
	int rc = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(kinds) && rc == 0; i++) {
		struct cert_spec spec = {.cn = cn,
		                         .days = PROVISION_CERT_DAYS,
		                         .eku = "clientAuth",
		                         .key_type = kinds[i].key_type};
		char *crt = g_strdup_printf("%s/clients/%s.%s.crt", dir, cn, kinds[i].suffix);
		char *key = g_strdup_printf("%s/clients/%s.%s.key", dir, cn, kinds[i].suffix);
		if (algorithms & kinds[i].bit) {
			rc = issue_and_write(&spec, org, ca, ca_key, crt, key, err);
		} else {
			g_unlink(crt);
			g_unlink(key);
		}
		g_free(key);
		g_free(crt);
	}
	return rc;
}

static char *broker_san(const char *const *hosts);

/* The web console's server certificate (CN console, serverAuth): its subjectAltName holds
 * localhost, 127.0.0.1 and every --console-host. */
static int issue_console(const struct provision_options *opt, const char *org, X509 *ca,
                         EVP_PKEY *ca_key, const char *dir, GError **err)
{
	char *san = broker_san(opt->console_hosts);
	struct cert_spec spec = {
	    .cn = "console", .days = PROVISION_CERT_DAYS, .eku = "serverAuth", .san = san};
	char *crt = g_build_filename(dir, "console", "console.crt", NULL);
	char *key = g_build_filename(dir, "console", "console.key", NULL);
	int rc = issue_and_write(&spec, org, ca, ca_key, crt, key, err);
	g_free(key);
	g_free(crt);
	g_free(san);
	return rc;
}

static char *broker_san(const char *const *hosts)
{
	GString *s = g_string_new("DNS:localhost,IP:127.0.0.1");
	for (const char *const *h = hosts; h && *h; h++) {
		if (strcmp(*h, "localhost") == 0 || strcmp(*h, "127.0.0.1") == 0)
			continue;
		g_string_append_printf(s, ",%s:%s", g_hostname_is_ip_address(*h) ? "IP" : "DNS",
		                       *h);
	}
	return g_string_free(s, FALSE);
}

static void acl_line(GString *acl, const char *access, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void acl_line(GString *acl, const char *access, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_string_append_printf(acl, "topic %s " TOPIC_ROOT "/", access);
	g_string_append_vprintf(acl, fmt, ap);
	g_string_append_c(acl, '\n');
	va_end(ap);
}

static void acl_person(GString *acl, const char *role, const char *name)
{
	char *cn = site_person_identity(role, name);
	g_string_append_printf(acl, "\nuser %s\n", cn);
	acl_line(acl, "write", "ctl/%s/req", cn);
	acl_line(acl, "read", "ctl/%s/resp", cn);
	acl_line(acl, "read", "controller/status");
	if (strcmp(role, "operator") == 0)
		acl_line(acl, "read", "controller/error");
	if (strcmp(role, "operator") == 0 || strcmp(role, "auditor") == 0)
		acl_line(acl, "read", "controller/roots");
	/* the published draw commitments (docs/draw.md section 1): what a witness checks
	 * before entering entropy, and what operators and auditors may see; never a seat */
	if (strcmp(role, "desk") != 0)
		acl_line(acl, "read", "draw/+/commitment");
	/* breach and incident notices of the witnesses reach the regulator's representatives
	 * at once (docs/witness.md) */
	if (strcmp(role, "supervisor") == 0)
		acl_line(acl, "read", "supervision/notice");
	g_free(cn);
}

static void acl_room(GString *acl, const struct site_room *r, const char *link_topic_venue)
{
	char *cn = site_agent_identity(r);
	g_string_append_printf(acl, "\nuser %s\n", cn);
	g_free(cn);
	acl_line(acl, "write", "room/%s/status", r->id);
	acl_line(acl, "write", "room/%s/event", r->id);
	acl_line(acl, "write", "room/%s/reply", r->id);
	acl_line(acl, "write", "room/%s/media", r->id);
	acl_line(acl, "read", "room/%s/cmd", r->id);
	acl_line(acl, "read", "controller/status");
	/* at a secondary venue: the bridge's own word on the link to the main venue */
	if (link_topic_venue)
		acl_line(acl, "read", "venue/%s/link", link_topic_venue);
	for (size_t j = 0; j < r->n_seats; j++) {
		acl_line(acl, "read", "seat/%s/%s/status", r->id, r->seats[j].id);
		acl_line(acl, "read", "seat/%s/%s/up", r->id, r->seats[j].id);
		acl_line(acl, "write", "seat/%s/%s/down", r->id, r->seats[j].id);
	}
	for (size_t j = 0; j < r->n_seats; j++) {
		cn = site_terminal_identity(r, &r->seats[j]);
		g_string_append_printf(acl, "\nuser %s\n", cn);
		g_free(cn);
		acl_line(acl, "write", "seat/%s/%s/status", r->id, r->seats[j].id);
		acl_line(acl, "write", "seat/%s/%s/up", r->id, r->seats[j].id);
		acl_line(acl, "read", "seat/%s/%s/down", r->id, r->seats[j].id);
	}
}

/* Whether the site has secondary venues (and so bridges): two venues or more. */
static gboolean site_bridged(const struct site *site)
{
	return site->n_venues >= 2;
}

/* The bridge of secondary venue V on the main broker: it speaks only for V's rooms (their
 * status, events, replies and media), hears only their commands and the controller's
 * status, and publishes the link's state (its last will says the link is down). */
static void acl_bridge(GString *acl, const struct site *site, const struct site_venue *v)
{
	char *cn = site_bridge_identity(v);
	g_string_append_printf(acl, "\nuser %s\n", cn);
	g_free(cn);
	acl_line(acl, "write", "venue/%s/link", v->id);
	acl_line(acl, "read", "controller/status");
	for (size_t i = 0; i < site->n_rooms; i++) {
		const struct site_room *r = &site->rooms[i];
		if (!site_room_in_venue(site, r, v))
			continue;
		acl_line(acl, "write", "room/%s/status", r->id);
		acl_line(acl, "write", "room/%s/event", r->id);
		acl_line(acl, "write", "room/%s/reply", r->id);
		acl_line(acl, "write", "room/%s/media", r->id);
		acl_line(acl, "read", "room/%s/cmd", r->id);
	}
	/* and for V's desks: their requests and the answers (docs/venues.md) */
	for (size_t i = 0; i < site->n_desks; i++) {
		if (!site->desk_venues || g_strcmp0(site->desk_venues[i], v->id) != 0)
			continue;
		cn = site_person_identity("desk", site->desks[i]);
		acl_line(acl, "write", "ctl/%s/req", cn);
		acl_line(acl, "read", "ctl/%s/resp", cn);
		g_free(cn);
	}
}

/* The ACL of schemas/topics.md: one user block per identity and no line before the first
 * `user` line, so anonymous clients get nothing. Comments only at column 0 (mosquitto).
 * The main broker's (VENUE NULL) holds the controller, the people, the rooms of the main
 * venue and one bridge per secondary venue; a secondary venue's broker holds its rooms'
 * agents and terminals only. */
static char *acl_render(const struct site *site, const struct site_venue *venue)
{
	GString *acl = g_string_new(NULL);
	g_string_append_printf(acl,
	                       "# evalroom ACL for site %s%s%s, generated by `evalroomctl "
	                       "provision`.\n"
	                       "# One block per certificate identity (CN, the MQTT username);\n"
	                       "# see schemas/topics.md. Do not indent or add tabs.\n",
	                       site->id, venue ? ", venue " : "", venue ? venue->id : "");
	if (venue) {
		for (size_t i = 0; i < site->n_rooms; i++)
			if (site_room_in_venue(site, &site->rooms[i], venue))
				acl_room(acl, &site->rooms[i], venue->id);
		/* the venue's own desks send their requests through its bridge */
		for (size_t i = 0; i < site->n_desks; i++)
			if (site->desk_venues && g_strcmp0(site->desk_venues[i], venue->id) == 0)
				acl_person(acl, "desk", site->desks[i]);
		return g_string_free(acl, FALSE);
	}
	const struct site_venue *main_venue = site_main_venue(site);

	g_string_append(acl, "\nuser controller\n");
	acl_line(acl, "write", "controller/status");
	acl_line(acl, "write", "controller/error");
	acl_line(acl, "write", "controller/roots");
	acl_line(acl, "read", "room/+/status");
	acl_line(acl, "read", "room/+/event");
	acl_line(acl, "read", "room/+/reply");
	acl_line(acl, "read", "room/+/media");
	acl_line(acl, "write", "room/+/cmd");
	acl_line(acl, "read", "ctl/+/req");
	acl_line(acl, "write", "ctl/+/resp");
	acl_line(acl, "write", "draw/+/commitment");
	if (site_bridged(site))
		acl_line(acl, "read", "venue/+/link");
	acl_line(acl, "write", "supervision/notice");

	for (size_t i = 0; i < site->n_rooms; i++) {
		const struct site_room *r = &site->rooms[i];
		if (!site_bridged(site) || site_room_in_venue(site, r, main_venue))
			acl_room(acl, r, NULL);
	}
	for (size_t i = 0; site_bridged(site) && i < site->n_venues; i++)
		if (&site->venues[i] != main_venue)
			acl_bridge(acl, site, &site->venues[i]);
	for (size_t i = 0; i < site->n_operators; i++)
		acl_person(acl, "operator", site->operators[i]);
	for (size_t i = 0; i < site->n_desks; i++)
		acl_person(acl, "desk", site->desks[i]);
	for (size_t i = 0; i < site->n_auditors; i++)
		acl_person(acl, "auditor", site->auditors[i]);
	for (size_t i = 0; i < site->n_witnesses; i++)
		acl_person(acl, "witness", site->witnesses[i]);
	for (size_t i = 0; i < site->n_supervisors; i++)
		acl_person(acl, "supervisor", site->supervisors[i]);
	for (size_t i = 0; i < site->n_representatives; i++)
		acl_person(acl, "rep", site->representatives[i]);
	return g_string_free(acl, FALSE);
}

/* A broker's mosquitto.conf: BDIR is its directory under DIR ("broker" for the main
 * venue's, "venues/<id>/broker" for a secondary venue's); the listener on PORT at BIND. */
static char *conf_render(const struct site *site, const struct provision_options *opt,
                         const char *dir, const char *bdir, unsigned port, const char *bind)
{
	GString *c = g_string_new(NULL);
	g_string_append_printf(
	    c,
	    "# mosquitto 2.0 configuration for evalroom site %s, generated by\n"
	    "# `evalroomctl provision`. Start with: mosquitto -c %s/%s/mosquitto.conf\n"
	    "per_listener_settings false\n"
	    "allow_anonymous false\n"
	    "acl_file %s/%s/acl\n"
	    "set_tcp_nodelay true\n"
	    "# Client ids bound to certificate identities (a CN, or CN:anything):\n"
	    "plugin %s\n"
	    "# The largest legitimate message is a request or response of %d bytes;\n"
	    "# a larger packet is refused from its header, before the broker allocates it.\n"
	    "message_size_limit %d\n"
	    "max_packet_size %d\n"
	    "# A client that falls behind (the controller in a burst of events, a bridge\n"
	    "# during an outage) gets up to %d messages or %d bytes queued before\n"
	    "# the broker drops QoS 1 messages for it (the default is 1000 messages).\n"
	    "max_queued_messages %d\n"
	    "max_queued_bytes %d\n"
	    "persistence true\n"
	    "persistence_location %s/%s/data/\n"
	    "log_dest stderr\n",
	    site->id, dir, bdir, dir, bdir, opt->broker_plugin, MSG_MAX_REQUEST_SIZE,
	    MSG_MAX_REQUEST_SIZE, BROKER_MAX_PACKET_SIZE, BROKER_MAX_QUEUED_MESSAGES,
	    BROKER_MAX_QUEUED_BYTES, BROKER_MAX_QUEUED_MESSAGES, BROKER_MAX_QUEUED_BYTES, dir,
	    bdir);
	if (opt->broker_user)
		g_string_append_printf(c, "user %s\n", opt->broker_user);
	g_string_append_printf(
	    c,
	    "\nlistener %u %s\n"
	    "cafile %s/ca.crt\n"
	    "certfile %s/%s/broker.crt\n"
	    "keyfile %s/%s/broker.key\n"
	    "require_certificate true\n"
	    "# No use_identity_as_username: with it mosquitto skips the plugin;\n"
	    "# the plugin makes the CN the username itself.\n",
	    port, bind, dir, dir, bdir, dir, bdir);
	return g_string_free(c, FALSE);
}

static void bridge_topic(GString *c, const char *dir, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void bridge_topic(GString *c, const char *dir, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_string_append(c, "topic " TOPIC_ROOT "/");
	g_string_append_vprintf(c, fmt, ap);
	g_string_append_printf(c, " %s 1\n", dir);
	va_end(ap);
}

/* The bridges of secondary venue V's broker: mosquitto's own bridge, TLS with the
 * bridge-<V> certificate to the main venue's broker, MQTT 5 (media chunks carry their
 * metadata in user properties). Two connections, so that media never delays a command or
 * an event on the WAN (each has its own TCP connection, its own queues at both brokers):
 *   - bridge-V (client id bridge-V): statuses, events, replies and commands, with a
 *     persistent session; its state is published on venue/<V>/link at both ends ("1" up,
 *     "0" down: the remote "0" is the last will);
 *   - bridge-V-media (client id bridge-V:media, accepted by the client-id plugin as the
 *     same identity): the rooms' media chunks only, no notifications (the link state is
 *     the first bridge's word).
 * No topic is remapped: room ids are unique in the site, and the main broker's ACL lets
 * the bridge identity speak only for V's rooms. */
static void conf_bridge_head(GString *c, const struct site_venue *m, const struct site_venue *v,
                             const char *dir, const char *name, const char *remote_id)
{
	g_string_append_printf(c,
	                       "connection %s\n"
	                       "address %s:%u\n"
	                       "remote_clientid %s\n"
	                       "local_clientid %s-local\n"
	                       "bridge_protocol_version mqttv50\n"
	                       "try_private false\n"
	                       "bridge_cafile %s/ca.crt\n"
	                       "bridge_certfile %s/clients/bridge-%s.crt\n"
	                       "bridge_keyfile %s/clients/bridge-%s.key\n"
	                       "cleansession false\n"
	                       "keepalive_interval %u\n"
	                       "restart_timeout 1 %u\n",
	                       name, m->host, m->port, remote_id, name, dir, dir, v->id, dir,
	                       v->id, PROVISION_BRIDGE_KEEPALIVE_S, PROVISION_BRIDGE_RETRY_MAX_S);
}

static void conf_bridge(GString *c, const struct site *site, const struct site_venue *v,
                        const char *dir)
{
	const struct site_venue *m = site_main_venue(site);
	char *name = g_strdup_printf("bridge-%s", v->id);
	g_string_append_printf(c,
	                       "\n# The bridge to the main venue %s: commands, events, statuses\n"
	                       "# (docs/venues.md).\n",
	                       m->id);
	conf_bridge_head(c, m, v, dir, name, name);
	g_string_append_printf(c,
	                       "notifications true\n"
	                       "notification_topic " TOPIC_ROOT "/venue/%s/link\n",
	                       v->id);
	bridge_topic(c, "in", "controller/status");
	for (size_t i = 0; i < site->n_rooms; i++) {
		const struct site_room *r = &site->rooms[i];
		if (!site_room_in_venue(site, r, v))
			continue;
		bridge_topic(c, "out", "room/%s/status", r->id);
		bridge_topic(c, "out", "room/%s/event", r->id);
		bridge_topic(c, "out", "room/%s/reply", r->id);
		bridge_topic(c, "in", "room/%s/cmd", r->id);
	}
	for (size_t i = 0; i < site->n_desks; i++) {
		if (!site->desk_venues || g_strcmp0(site->desk_venues[i], v->id) != 0)
			continue;
		char *cn = site_person_identity("desk", site->desks[i]);
		bridge_topic(c, "out", "ctl/%s/req", cn);
		bridge_topic(c, "in", "ctl/%s/resp", cn);
		g_free(cn);
	}
	g_free(name);

	name = g_strdup_printf("bridge-%s-media", v->id);
	char *remote = g_strdup_printf("bridge-%s:media", v->id);
	g_string_append_printf(c,
	                       "\n# The media bridge to the main venue %s: the rooms' recordings\n"
	                       "# on a connection of their own, so they never delay an event.\n",
	                       m->id);
	if (v->media_kbit)
		g_string_append_printf(c,
		                       "# The rooms send at most %u kbit/s together (site file:\n"
		                       "# media_kbit; each room's agent: [recorder] media_kbit=%u).\n",
		                       v->media_kbit, site_venue_room_media_kbit(site, v));
	conf_bridge_head(c, m, v, dir, name, remote);
	g_string_append(c, "notifications false\n");
	for (size_t i = 0; i < site->n_rooms; i++) {
		const struct site_room *r = &site->rooms[i];
		if (site_room_in_venue(site, r, v))
			bridge_topic(c, "out", "room/%s/media", r->id);
	}
	g_free(remote);
	g_free(name);
}

/* The [recorder] lines for the agents of secondary venue V: each room's share of the
 * venue's media rate. NULL when the venue has none. */
static char *agent_recorder_render(const struct site *site, const struct site_venue *v)
{
	unsigned share = site_venue_room_media_kbit(site, v);
	if (!v->media_kbit || !share)
		return NULL;
	GString *t = g_string_new(NULL);
	g_string_append_printf(t,
	                       "# [recorder] lines for the room agents of venue %s, generated by\n"
	                       "# `evalroomctl provision`: the venue's media_kbit %u kbit/s shared by\n"
	                       "# its %zu rooms (",
	                       v->id, v->media_kbit, site_venue_rooms(site, v));
	const char *sep = "";
	for (size_t i = 0; i < site->n_rooms; i++)
		if (site_room_in_venue(site, &site->rooms[i], v)) {
			g_string_append_printf(t, "%s%s", sep, site->rooms[i].id);
			sep = ", ";
		}
	g_string_append_printf(t,
	                       "). Put media_kbit into the [recorder] group of\n"
	                       "# each of their agent configurations (docs/venues.md).\n"
	                       "[recorder]\n"
	                       "media_kbit=%u\n",
	                       share);
	return g_string_free(t, FALSE);
}

static int options_check(const struct provision_options *opt, GError **err)
{
	if (!opt->out_dir || !opt->out_dir[0]) {
		g_set_error(err, PROVISION_ERROR, EINVAL,
		            _("--out: an output directory is required"));
		return -EINVAL;
	}
	/* mosquitto.conf splits its lines at white space and ends them at a newline. */
	char *abs = g_canonicalize_filename(opt->out_dir, NULL);
	gboolean plain = TRUE;
	for (const char *c = abs; *c; c++)
		plain = plain && !g_ascii_isspace(*c) && !g_ascii_iscntrl(*c) && *c != '#';
	g_free(abs);
	if (!plain) {
		g_set_error(err, PROVISION_ERROR, EINVAL,
		            _("--out: \"%s\": the broker configuration cannot name a path with "
		              "white space, control characters or '#'"),
		            opt->out_dir);
		return -EINVAL;
	}
	plain = opt->broker_plugin && g_path_is_absolute(opt->broker_plugin);
	for (const char *c = opt->broker_plugin; plain && *c; c++)
		plain = !g_ascii_isspace(*c) && !g_ascii_iscntrl(*c) && *c != '#';
	if (!plain) {
		g_set_error(
		    err, PROVISION_ERROR, EINVAL,
		    _("--broker-plugin: \"%s\" must be an absolute path without white space, "
		      "control characters or '#'"),
		    opt->broker_plugin ? opt->broker_plugin : "");
		return -EINVAL;
	}
	if (opt->port > 65535) {
		g_set_error(err, PROVISION_ERROR, EINVAL, _("--port: %u is not a TCP port"),
		            opt->port);
		return -EINVAL;
	}
	if (opt->bind && !g_hostname_is_ip_address(opt->bind)) {
		g_set_error(err, PROVISION_ERROR, EINVAL, _("--bind: \"%s\" is not an IP address"),
		            opt->bind);
		return -EINVAL;
	}
	for (const char *const *h = opt->broker_hosts; h && *h; h++) {
		if (!site_host_valid(*h)) {
			g_set_error(
			    err, PROVISION_ERROR, EINVAL,
			    _("--broker-host: \"%s\" is neither an IP address nor a DNS name"), *h);
			return -EINVAL;
		}
	}
	for (const char *const *h = opt->console_hosts; h && *h; h++) {
		if (!site_host_valid(*h)) {
			g_set_error(
			    err, PROVISION_ERROR, EINVAL,
			    _("--console-host: \"%s\" is neither an IP address nor a DNS name"), *h);
			return -EINVAL;
		}
	}
	if (opt->broker_user && !site_id_valid(opt->broker_user)) {
		g_set_error(err, PROVISION_ERROR, EINVAL,
		            _("--broker-user: \"%s\" is not a valid user name"), opt->broker_user);
		return -EINVAL;
	}
	return 0;
}

/* Creates dir (and parents), refusing a non-empty one unless force. */
static int out_dir_prepare(const char *dir, gboolean force, GError **err)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (d) {
		gboolean empty = g_dir_read_name(d) == NULL;
		g_dir_close(d);
		if (!empty && !force) {
			g_set_error(err, PROVISION_ERROR, EEXIST,
			            _("%s exists and is not empty (use --force to overwrite)"),
			            dir);
			return -EEXIST;
		}
	}
	static const char *const subdirs[] = {"", "/broker", "/broker/data", "/clients",
	                                      "/console"};
	for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		char *p = g_strconcat(dir, subdirs[i], NULL);
		int rc = g_mkdir_with_parents(p, 0755);
		int e = errno;
		g_free(p);
		if (rc != 0) {
			g_set_error(err, PROVISION_ERROR, e, "%s%s: %s", dir, subdirs[i],
			            g_strerror(e));
			return -e;
		}
	}
	return 0;
}

static int write_text(const char *dir, const char *name, char *text, GError **err)
{
	char *path = g_build_filename(dir, name, NULL);
	int rc = write_file(path, text, strlen(text), 0644, err);
	g_free(path);
	g_free(text);
	return rc;
}

static int issue_clients(const struct site *site, const char *org, X509 *ca, EVP_PKEY *ca_key,
                         const char *dir, GError **err)
{
	int rc = issue_client("controller", org, ca, ca_key, dir, err);
	for (size_t i = 0; i < site->n_rooms && rc == 0; i++) {
		const struct site_room *r = &site->rooms[i];
		char *cn = site_agent_identity(r);
		rc = issue_client(cn, org, ca, ca_key, dir, err);
		g_free(cn);
		for (size_t j = 0; j < r->n_seats && rc == 0; j++) {
			cn = site_terminal_identity(r, &r->seats[j]);
			rc = issue_client(cn, org, ca, ca_key, dir, err);
			g_free(cn);
		}
	}
	struct {
		const char *role;
		char **names;
		size_t n;
		bool signs; /* signs the witness log */
	} people[] = {
	    {"operator", site->operators, site->n_operators, false},
	    {"desk", site->desks, site->n_desks, false},
	    {"auditor", site->auditors, site->n_auditors, true},
	    {"witness", site->witnesses, site->n_witnesses, true},
	    {"supervisor", site->supervisors, site->n_supervisors, true},
	    {"rep", site->representatives, site->n_representatives, true},
	};
	for (size_t k = 0; k < G_N_ELEMENTS(people) && rc == 0; k++) {
		for (size_t i = 0; i < people[k].n && rc == 0; i++) {
			char *cn = site_person_identity(people[k].role, people[k].names[i]);
			rc = issue_client(cn, org, ca, ca_key, dir, err);
			/* Archive custodians (auditors) sign a transfer's manifest and receipt
			 * with Ed25519 (docs/archives.md "Transfer"); the watchers the witness log,
			 * and the staff of staff[] (operators and desks too) the handovers of
			 * their posts (docs/staff.md), with what the site's witness_signing asks.
			 */
			unsigned algs = strcmp(people[k].role, "auditor") == 0 ? SITE_SIGNING_ED25519
			                                                        : site->witness_signing;
			/* (none for the others: a pair left from an earlier site file goes) */
			if (rc == 0)
				rc = issue_signing(
				    cn, people[k].signs || site_staff_find(site, cn) ? algs : 0,
				    org, ca, ca_key, dir, err);
			g_free(cn);
		}
	}
	return rc;
}

static int write_signing_key(const char *dir, GError **err)
{
	/* Archives signed with an existing key must stay verifiable with the public key
	 * auditors already hold: an earlier run's key is kept. */
	char *existing = g_build_filename(dir, "controller-signing.key", NULL);
	EVP_PKEY *old = g_file_test(existing, G_FILE_TEST_EXISTS) ? key_read(existing) : NULL;
	g_free(existing);
	ERR_clear_error();
	if (old) {
		int ed = EVP_PKEY_get_id(old) == EVP_PKEY_ED25519;
		EVP_PKEY_free(old);
		if (ed)
			return 0;
		g_set_error(err, PROVISION_ERROR, EINVAL,
		            _("%s/controller-signing.key is not an Ed25519 key"), dir);
		return -EINVAL;
	}
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key)
		return ssl_fail(err, "controller-signing.key");
	char *priv = g_build_filename(dir, "controller-signing.key", NULL);
	char *pub = g_build_filename(dir, "controller-signing.pub", NULL);
	int rc = write_key(priv, key, err);
	if (rc == 0)
		rc = write_pubkey(pub, key, err);
	g_free(pub);
	g_free(priv);
	EVP_PKEY_free(key);
	return rc;
}

/* Loads the CA an earlier run left in the output directory, so that re-provisioning
 * (a room added, a certificate renewed) keeps every certificate already handed out
 * valid. -ENOENT when there is none; -EINVAL when what is there is not this site's CA. */
static int ca_load(const char *crt_path, const char *key_path, const char *cn, X509 **ca,
                   EVP_PKEY **key, GError **err)
{
	gboolean have_crt = g_file_test(crt_path, G_FILE_TEST_EXISTS);
	gboolean have_key = g_file_test(key_path, G_FILE_TEST_EXISTS);
	if (!have_crt && !have_key)
		return -ENOENT;
	BIO *bio = BIO_new_file(crt_path, "r");
	*ca = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	*key = key_read(key_path);
	ERR_clear_error();
	char found[128] = "";
	if (*ca)
		X509_NAME_get_text_by_NID(X509_get_subject_name(*ca), NID_commonName, found,
		                          sizeof(found));
	const char *why = !*ca                                 ? "cannot read ca.crt"
	                  : !*key                              ? "cannot read ca.key"
	                  : X509_check_ca(*ca) != 1            ? "ca.crt is not a CA certificate"
	                  : !X509_check_private_key(*ca, *key) ? "ca.key does not belong to ca.crt"
	                  : strcmp(found, cn) != 0             ? "ca.crt is another site's CA"
	                                                       : NULL;
	if (!why)
		return 0;
	g_set_error(err, PROVISION_ERROR, EINVAL,
	            _("%s: %s (use --renew-ca to replace the CA and every certificate)"), crt_path,
	            why);
	X509_free(*ca);
	EVP_PKEY_free(*key);
	*ca = NULL;
	*key = NULL;
	return -EINVAL;
}

static int ca_create(const char *cn, const char *org, const char *crt_path, const char *key_path,
                     X509 **ca, EVP_PKEY **key, GError **err)
{
	*key = EVP_EC_gen("P-256");
	if (!*key)
		return ssl_fail(err, "CA key");
	struct cert_spec spec = {.cn = cn, .days = PROVISION_CA_DAYS, .ca = TRUE};
	*ca = cert_issue(&spec, org, *key, NULL, NULL, err);
	int rc = *ca ? write_key(key_path, *key, err) : -EIO;
	if (rc == 0)
		rc = write_cert(crt_path, *ca, err);
	if (rc != 0) {
		X509_free(*ca);
		EVP_PKEY_free(*key);
		*ca = NULL;
		*key = NULL;
	}
	return rc;
}

/* Secondary venue V: its broker under DIR/venues/<V>/broker (certificate, ACL of its
 * rooms, configuration with the bridge) and the bridge's certificate bridge-<V>. */
static int provision_venue(const struct site *site, const struct site_venue *v,
                           const struct provision_options *opt, const char *org, X509 *ca,
                           EVP_PKEY *ca_key, const char *dir, GError **err)
{
	char *bdir = g_strdup_printf("venues/%s/broker", v->id);
	char *data = g_strdup_printf("%s/%s/data", dir, bdir);
	char *crt = g_strdup_printf("%s/%s/broker.crt", dir, bdir);
	char *key = g_strdup_printf("%s/%s/broker.key", dir, bdir);
	const char *hosts[] = {v->host, NULL};
	char *san = broker_san(hosts);
	struct cert_spec spec = {
	    .cn = "broker", .days = PROVISION_CERT_DAYS, .eku = "serverAuth", .san = san};
	int rc = 0;
	if (g_mkdir_with_parents(data, 0755) != 0) {
		int e = errno;
		g_set_error(err, PROVISION_ERROR, e, "%s: %s", data, g_strerror(e));
		rc = -e;
	}
	if (rc == 0)
		rc = issue_and_write(&spec, org, ca, ca_key, crt, key, err);
	if (rc == 0) {
		char *cn = site_bridge_identity(v);
		rc = issue_client(cn, org, ca, ca_key, dir, err);
		g_free(cn);
	}
	char *name = g_strdup_printf("%s/acl", bdir);
	if (rc == 0)
		rc = write_text(dir, name, acl_render(site, v), err);
	g_free(name);
	if (rc == 0) {
		char *text = conf_render(site, opt, dir, bdir, v->port, PROVISION_DEFAULT_BIND);
		GString *c = g_string_new(text);
		g_free(text);
		conf_bridge(c, site, v, dir);
		name = g_strdup_printf("%s/mosquitto.conf", bdir);
		rc = write_text(dir, name, g_string_free(c, FALSE), err);
		g_free(name);
	}
	char *rec = rc == 0 ? agent_recorder_render(site, v) : NULL;
	if (rec) {
		name = g_strdup_printf("venues/%s/agent-recorder.conf", v->id);
		rc = write_text(dir, name, rec, err);
		g_free(name);
	}
	g_free(san);
	g_free(key);
	g_free(crt);
	g_free(data);
	g_free(bdir);
	return rc;
}

int provision_site(const struct site *site, const struct provision_options *opt, GError **err)
{
	int rc = options_check(opt, err);
	if (rc != 0)
		return rc;
	rc = out_dir_prepare(opt->out_dir, opt->force, err);
	if (rc != 0)
		return rc;
	/* mosquitto.conf needs absolute paths: the broker may start from any directory. */
	char *dir = realpath(opt->out_dir, NULL);
	if (!dir) {
		int e = errno;
		g_set_error(err, PROVISION_ERROR, e, "%s: %s", opt->out_dir, g_strerror(e));
		return -e;
	}
	char *org = g_strdup_printf("evalroom site %s", site->id);
	char *ca_cn = g_strdup_printf("evalroom CA %s", site->id);
	char *ca_crt = g_build_filename(dir, "ca.crt", NULL);
	char *ca_key_path = g_build_filename(dir, "ca.key", NULL);
	GPtrArray *hosts = g_ptr_array_new();
	for (const char *const *h = opt->broker_hosts; h && *h; h++)
		g_ptr_array_add(hosts, (gpointer)*h);
	/* the secondary venues' bridges reach the main broker at the main venue's host */
	if (site_bridged(site) && site_main_venue(site)->host)
		g_ptr_array_add(hosts, site_main_venue(site)->host);
	g_ptr_array_add(hosts, NULL);
	char *san = broker_san((const char *const *)hosts->pdata);
	g_ptr_array_free(hosts, TRUE);
	X509 *ca = NULL;

	EVP_PKEY *ca_key = NULL;
	rc = opt->renew_ca ? -ENOENT : ca_load(ca_crt, ca_key_path, ca_cn, &ca, &ca_key, err);
	if (rc == -ENOENT)
		rc = ca_create(ca_cn, org, ca_crt, ca_key_path, &ca, &ca_key, err);
	if (rc != 0)
		goto err_names;

	struct cert_spec broker = {
	    .cn = "broker", .days = PROVISION_CERT_DAYS, .eku = "serverAuth", .san = san};
	char *broker_crt = g_build_filename(dir, "broker", "broker.crt", NULL);
	char *broker_key = g_build_filename(dir, "broker", "broker.key", NULL);
	rc = issue_and_write(&broker, org, ca, ca_key, broker_crt, broker_key, err);
	g_free(broker_key);
	g_free(broker_crt);
	if (rc == 0)
		rc = issue_console(opt, org, ca, ca_key, dir, err);
	if (rc == 0)
		rc = issue_clients(site, org, ca, ca_key, dir, err);
	if (rc == 0)
		rc = write_signing_key(dir, err);
	if (rc == 0) {
		/* The door credentials' digest key; kept when it exists (credential.h). */
		char *ck = g_build_filename(dir, "site-credential.key", NULL);
		rc = credential_key_write(ck, err);
		g_free(ck);
	}
	if (rc == 0)
		rc = write_text(dir, "broker/acl", acl_render(site, NULL), err);
	if (rc == 0)
		rc = write_text(dir, "broker/mosquitto.conf",
		                conf_render(site, opt, dir, "broker",
		                            opt->port ? opt->port : PROVISION_DEFAULT_PORT,
		                            opt->bind ? opt->bind : PROVISION_DEFAULT_BIND),
		                err);
	for (size_t i = 0; rc == 0 && site_bridged(site) && i < site->n_venues; i++)
		if (&site->venues[i] != site_main_venue(site))
			rc =
			    provision_venue(site, &site->venues[i], opt, org, ca, ca_key, dir, err);

	X509_free(ca);
	EVP_PKEY_free(ca_key);
err_names:
	g_free(san);
	g_free(ca_key_path);
	g_free(ca_crt);
	g_free(ca_cn);
	g_free(org);
	free(dir);
	return rc;
}

static size_t site_identity_count(const struct site *site)
{
	size_t n = 1 + site->n_rooms + site->n_operators + site->n_desks + site->n_auditors +
	           site->n_witnesses + site->n_supervisors + site->n_representatives;
	for (size_t i = 0; i < site->n_rooms; i++)
		n += site->rooms[i].n_seats;
	if (site_bridged(site))
		n += site->n_venues - 1; /* bridge-<venue> */
	return n;
}

/* lib/evalroom/<plugin> beside the bin/ this program runs from: the build tree's layout
 * and the installed one alike. Returns a new string, or NULL if /proc/self/exe is unreadable. */
static char *provision_default_plugin(void)
{
	char *exe = g_file_read_link("/proc/self/exe", NULL);
	if (!exe)
		return NULL;
	char *bin = g_path_get_dirname(exe);
	char *prefix = g_path_get_dirname(bin);
	char *path = g_build_filename(prefix, "lib", "evalroom", PROVISION_BROKER_PLUGIN, NULL);
	g_free(prefix);
	g_free(bin);
	g_free(exe);
	return path;
}

int provision_main(int argc, char **argv)
{
	char *site_path = NULL, *out = NULL, *bind = NULL, *user = NULL, *plugin = NULL;
	char **hosts = NULL, **console_hosts = NULL;
	int port = PROVISION_DEFAULT_PORT;
	gboolean force = FALSE, renew_ca = FALSE;
	GOptionEntry entries[] = {
	    {"site", 's', 0, G_OPTION_ARG_FILENAME, &site_path, N_("site description (JSON)"),
	     "SITE.json"},
	    {"out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("output directory"), "DIR"},
	    {"port", 'p', 0, G_OPTION_ARG_INT, &port, N_("broker TLS port (default 8883)"), "N"},
	    {"bind", 'b', 0, G_OPTION_ARG_STRING, &bind,
	     N_("broker listen address (default 0.0.0.0)"), "ADDR"},
	    {"broker-host", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &hosts,
	     N_("a name or IP address clients use for the broker (repeatable; localhost and "
	        "127.0.0.1 are always included)"),
	     "NAME"},
	    {"console-host", 0, 0, G_OPTION_ARG_STRING_ARRAY, &console_hosts,
	     N_("a name or IP address browsers use for the web console (repeatable; localhost "
	        "and 127.0.0.1 are always included)"),
	     "NAME"},
	    {"broker-user", 'u', 0, G_OPTION_ARG_STRING, &user,
	     N_("user mosquitto runs as (written as `user`; default: mosquitto's own)"), "USER"},
	    {"broker-plugin", 0, 0, G_OPTION_ARG_FILENAME, &plugin,
	     N_("the broker plugin that binds client ids to certificates (default: the one in "
	        "lib/evalroom/ beside this program's bin/)"),
	     "PATH"},
	    {"force", 'f', 0, G_OPTION_ARG_NONE, &force,
	     N_("re-provision a non-empty DIR: keeps its CA and signing key, issues the rest anew"),
	     NULL},
	    {"renew-ca", 0, 0, G_OPTION_ARG_NONE, &renew_ca,
	     N_("with --force: also replace the CA (every certificate must then be redistributed)"),
	     NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL},
	};
	GOptionContext *ctx =
	    g_option_context_new(N_("- provision a site's certificates and broker"));
	g_option_context_set_translation_domain(ctx, I18N_DOMAIN);
	g_option_context_set_summary(
	    ctx,
	    N_("Writes into DIR: ca.crt ca.key, "
	       "broker/{broker.crt,broker.key,mosquitto.conf,acl},\n"
	       "console/{console.crt,console.key} (the web console's HTTPS certificate),\n"
	       "clients/<identity>.{crt,key} for every identity of the site (controller,\n"
	       "agent-<room>, terminal-<room>-<seat>, operator-/desk-/auditor-<name>) and the\n"
	       "archive signing key pair controller-signing.{key,pub}, and the site credential\n"
	       "key site-credential.key (for the controller and every room agent with a door;\n"
	       "never for an archive). See docs/provisioning.md."));
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	int status = 1;
	struct site *site = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		fprintf(stderr, _("provision: %s (try --help)\n"), err->message);
		status = 2;
		goto out;
	}
	if (argc > 1 || !site_path || !out || port < 1 || port > 65535) {
		fprintf(stderr, _("provision: %s (try --help)\n"),
		        argc > 1     ? _("unexpected argument")
		        : !site_path ? _("--site is required")
		        : !out       ? _("--out is required")
		                     : _("--port must be 1 to 65535"));
		status = 2;
		goto out;
	}
	if (site_load(site_path, &site, &err) != 0) {
		fprintf(stderr, _("provision: %s\n"), err->message);
		goto out;
	}
	if (!plugin) {
		plugin = provision_default_plugin();
	} else {
		char *abs = g_canonicalize_filename(plugin, NULL);
		g_free(plugin);
		plugin = abs;
	}
	if (!plugin || !g_file_test(plugin, G_FILE_TEST_IS_REGULAR)) {
		fprintf(
		    stderr,
		    _("provision: the broker plugin %s is missing (it is built and installed with "
		      "evalroomctl; name it with --broker-plugin PATH)\n"),
		    plugin ? plugin : PROVISION_BROKER_PLUGIN);
		goto out;
	}
	struct provision_options opt = {
	    .out_dir = out,
	    .port = (unsigned)port,
	    .bind = bind,
	    .broker_hosts = (const char *const *)hosts,
	    .console_hosts = (const char *const *)console_hosts,
	    .broker_user = user,
	    .broker_plugin = plugin,
	    .force = force,
	    .renew_ca = renew_ca,
	};
	if (provision_site(site, &opt, &err) != 0) {
		fprintf(stderr, _("provision: %s\n"), err->message);
		goto out;
	}
	printf(_("provisioned site %s: %zu identities in %s\n"), site->id,
	       site_identity_count(site), out);
	status = 0;
out:
	g_clear_error(&err);
	site_free(site);
	g_option_context_free(ctx);
	g_strfreev(hosts);
	g_strfreev(console_hosts);
	g_free(site_path);
	g_free(out);
	g_free(bind);
	g_free(user);
	g_free(plugin);
	return status;
}
