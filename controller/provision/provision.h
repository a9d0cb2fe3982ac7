/* Provisioning: from a site description to a CA, certificates, keys, broker config and ACL.
 *
 * Output layout under opt->out_dir (docs/provisioning.md):
 *   ca.crt ca.key                      the site CA (EC P-256, self-signed)
 *   broker/broker.crt broker/broker.key the broker's TLS server certificate
 *   broker/mosquitto.conf broker/acl   mosquitto 2.0 configuration and ACL
 *   broker/data/                       mosquitto's persistence directory
 *   console/console.crt console.key    the web console's HTTPS server certificate
 *   clients/<cn>.crt clients/<cn>.key  one client certificate per identity (CN = identity)
 *   controller-signing.key/.pub        Ed25519 archive-signing key pair (PKCS#8 / SPKI)
 *   venues/<v>/broker/...              per secondary venue: its broker's certificate,
 *                                      configuration (with the bridge) and ACL; the
 *                                      bridge's certificate is clients/bridge-<v>.*
 * Private keys are written with mode 0600, every file atomically (write + rename).
 */
#ifndef EVALROOM_PROVISION_H
#define EVALROOM_PROVISION_H

#include <glib.h>

#include "site.h"

#define PROVISION_DEFAULT_PORT 8883
#define PROVISION_DEFAULT_BIND "0.0.0.0"
#define PROVISION_CA_DAYS      3650
#define PROVISION_CERT_DAYS    825
/* The mosquitto plugin that binds client ids to certificate identities (broker/). */
#define PROVISION_BROKER_PLUGIN "mosquitto-evalroom-auth.so"
/* A secondary venue's bridge: its keepalive (a cut link is seen within 1.5 times this at
 * both ends) and the longest wait between reconnection attempts. */
#define PROVISION_BRIDGE_KEEPALIVE_S 10u
#define PROVISION_BRIDGE_RETRY_MAX_S 10u

struct provision_options {
	const char *out_dir;             /* required */
	unsigned port;                   /* listener port; 0 means PROVISION_DEFAULT_PORT */
	const char *bind;                /* listener IP address; NULL means 0.0.0.0 */
	const char *const *broker_hosts; /* extra broker names/IPs for the SAN, NULL-terminated */
	const char *const *console_hosts; /* web console names/IPs for its SAN, NULL-terminated */
	const char *broker_user;         /* mosquitto `user` line; NULL writes none */
	const char *broker_plugin;       /* required: absolute path of PROVISION_BROKER_PLUGIN */
	gboolean force;                  /* overwrite files in a non-empty out_dir */
	gboolean renew_ca; /* with force: make a new CA even when out_dir holds this site's CA */
};

/* Writes everything listed above for site into opt->out_dir (created if missing).
 * Refuses a non-empty out_dir unless opt->force (-EEXIST). With force, the CA already in
 * out_dir is reused, so certificates handed out earlier stay valid (-EINVAL if it is not
 * this site's CA), unless opt->renew_ca; an existing Ed25519 signing key is always kept;
 * everything else is issued anew. Options are validated before anything is written
 * (-EINVAL, the option named in *err). Returns 0 or -errno with *err set (OpenSSL
 * failures give -EIO with OpenSSL's reason). Nothing in site is kept. */
int provision_site(const struct site *site, const struct provision_options *opt, GError **err);

/* The `provision` command line: provision --site SITE.json --out DIR [--port N]
 * [--bind ADDR] [--broker-host NAME]... [--console-host NAME]... [--broker-user USER]
 * [--broker-plugin PATH] [--force [--renew-ca]].
 * argv[0] is the command's name. Prints errors to stderr; returns the process exit status
 * (0 ok, 1 failure, 2 usage). */
int provision_main(int argc, char **argv);

#endif
