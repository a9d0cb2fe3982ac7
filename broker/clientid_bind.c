/* mosquitto plugin: the MQTT client id belongs to the certificate's identity.
 *
 * mosquitto 2.0 lets a client pick any client id, and a CONNECT with the id of a
 * connected client takes that client's session over (MQTT 5, 3.1.4-3). With
 * `use_identity_as_username` the broker never asks a plugin, so this plugin does the
 * certificate-to-username step itself, in the basic-auth event:
 *
 *   - the username becomes the CN of the client certificate the TLS listener already
 *     verified (whatever username the client sent is ignored);
 *   - the client id must be that CN, or start with the CN followed by ':' (evalroomctl
 *     and test clients run several connections per identity: "operator-alice:4711-...").
 *     A CN never holds ':' (site identifiers are A-Z a-z 0-9 _ -), so no identity can
 *     name another's session;
 *   - anything else (no certificate, no CN, a CN with a NUL, a foreign client id) is
 *     refused with "not authorized" before the session is looked up, so the client that
 *     holds the id is never disconnected.
 *
 * Loaded by `plugin PATH` in the broker configuration that `evalroomctl provision`
 * writes (docs/provisioning.md); the ACL file still applies to the username set here. */
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <string.h>

#include "clientid_rule.h"

static mosquitto_plugin_id_t *plugin_id;

/* The CN of CERT copied into BUF (size LEN); false if absent, too long or with a NUL. */
static bool cert_common_name(X509 *cert, char *buf, size_t len)
{
	X509_NAME *name = X509_get_subject_name(cert);
	if (!name)
		return false;
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return false; /* none, or two: ambiguous */
	ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if (!data)
		return false;
	int n = ASN1_STRING_length(data);
	const unsigned char *p = ASN1_STRING_get0_data(data);
	if (n <= 0 || (size_t)n >= len || memchr(p, '\0', (size_t)n))
		return false;
	memcpy(buf, p, (size_t)n);
	buf[n] = '\0';
	return true;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *id = mosquitto_client_id(ed->client);
	const char *addr = mosquitto_client_address(ed->client);
	char cn[256];

	X509 *cert = mosquitto_client_certificate(ed->client);
	if (!cert) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
		                     "evalroom: refused %s (client id %s): no client certificate",
		                     addr ? addr : "?", id ? id : "?");
		return MOSQ_ERR_AUTH;
	}
	bool have_cn = cert_common_name(cert, cn, sizeof(cn));
	X509_free(cert);
	if (!have_cn) {
		mosquitto_log_printf(MOSQ_LOG_NOTICE,
		                     "evalroom: refused %s (client id %s): no single plain CN",
		                     addr ? addr : "?", id ? id : "?");
		return MOSQ_ERR_AUTH;
	}
	if (!clientid_rule_allowed(cn, id)) {
		mosquitto_log_printf(MOSQ_LOG_WARNING,
		                     "evalroom: refused %s: certificate %s may not use client id "
		                     "\"%s\" (only \"%s\" or \"%s%c...\")",
		                     addr ? addr : "?", cn, id ? id : "", cn, cn,
		                     CLIENTID_SEPARATOR);
		return MOSQ_ERR_AUTH;
	}
	if (mosquitto_set_username(ed->client, cn) != MOSQ_ERR_SUCCESS)
		return MOSQ_ERR_AUTH;
	return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++)
		if (supported_versions[i] == 5)
			return 5;
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL,
	                                   NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
}
