/* Where a migration goes or comes from: "unix:PATH" (a Unix stream socket; local migration needs
 * one) or "tcp:HOST:PORT" (HOST a name, an IPv4 address or a bracketed IPv6 address). TCP carries
 * guest memory and state unencrypted and unauthenticated: trusted networks only. A destination
 * binds exactly where it is told, accepts one connection and closes the listener. */
#ifndef VMM_MIGRATION_MIG_URL_H
#define VMM_MIGRATION_MIG_URL_H

#include <stddef.h>
#include <sys/un.h>

enum mig_url_kind { MIG_URL_UNIX, MIG_URL_TCP };

struct mig_url {
	enum mig_url_kind kind;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix */
	char host[256], port[8];				/* tcp */
};

/* Parses `s`. Returns 0 or -EINVAL with the reason ("unknown scheme", "path too long", "port
 * must be 1..65535" (0 is allowed when `listen`: any free port)). */
int mig_url_parse(const char *s, int listen, struct mig_url *u, char *err, size_t errlen);

/* Connects to the destination within `timeout_ms`. Returns the socket or -errno with a
 * message. */
int mig_url_connect(const struct mig_url *u, int timeout_ms, char *err, size_t errlen);

/* Binds and listens (a Unix path must not exist yet: a stale socket is not removed for the
 * caller). Returns the listening socket or -errno with a message. */
int mig_url_listen(const struct mig_url *u, char *err, size_t errlen);

/* Waits up to `timeout_ms` (-1: forever) for one connection on `lfd`, then closes `lfd` (and
 * removes a Unix socket's path). Returns the connection or -errno with a message. */
int mig_url_accept_one(int lfd, const struct mig_url *u, int timeout_ms, char *err, size_t errlen);

#endif
