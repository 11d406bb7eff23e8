/*
 * The client security settings on raw connections (rn__cli_connect, rn__cli_raw_open): what
 * librdkafka does for its own connections, done here from the same properties (-X,
 * --command-config): security.protocol PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; TLS 1.2+
 * through OpenSSL with ssl.ca.location / ssl.ca.pem, ssl.certificate.location /
 * ssl.key.location / ssl.key.password (or the .pem forms),
 * enable.ssl.certificate.verification and ssl.endpoint.identification.algorithm; SASL
 * (SaslHandshake v1, SaslAuthenticate v1) with sasl.mechanisms PLAIN, SCRAM-SHA-256 or
 * SCRAM-SHA-512 and sasl.username / sasl.password, the exchange itself being
 * auth/sasl_client.c's (the one runnel's own connections use). Private to src/cli.
 */
#ifndef RN_CLI_RAW_SEC_H
#define RN_CLI_RAW_SEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct rn_cli_common;

/* Makes the connected socket fd what c's settings ask for (TLS handshake, then SASL), host
 * being the name it was reached by (TLS hostname check). Returns 0, or -1 after printing
 * "<cmd>: HOST:PORT: <reason>" (fd is then closed). */
int rn__cli_sec_setup(const struct rn_cli_common *c, int fd, const char *host, int port);
/* One read or write on fd, through its TLS session when it has one; as read(2)/write(2). */
ssize_t rn__cli_sec_io(int fd, void *p, size_t n, bool wr);
/* Drops fd's TLS session (if any) and closes fd. */
void rn__cli_sec_close(int fd);

#endif
