/*
 * Real etcd servers for unit tests: fork/exec /usr/bin/etcd with a temp data dir on free
 * 127.0.0.1 ports, wait for /health, kill and remove at the end. One member or a cluster of n.
 * Header-only: each test binary includes it once.
 */
#ifndef RN_TEST_ETCD_PROC_H
#define RN_TEST_ETCD_PROC_H

#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ETCD_BIN "/usr/bin/etcd"
#define ETCD_MAX 5

struct etcd_proc {
	pid_t pid;
	int client_port, peer_port;
	char name[16];
	char dir[256];
};

struct etcd_cluster {
	struct etcd_proc m[ETCD_MAX];
	int n;
	char root[96];
	char initial[1024];  /* --initial-cluster */
	char endpoints[256]; /* "127.0.0.1:p,127.0.0.1:q" */
};

static int etcd_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static size_t etcd_sink(char *p, size_t s, size_t n, void *arg)
{
	(void)p, (void)arg;
	return s * n;
}

static bool etcd_healthy(int port)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, etcd_sink);
	long status = 0;
	bool ok = curl_easy_perform(h) == CURLE_OK &&
		  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
		  status == 200;
	curl_easy_cleanup(h);
	return ok;
}

static void etcd_sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* Starts member i of c (its data dir kept across restarts). */
static int etcd_member_start(struct etcd_cluster *c, int i)
{
	struct etcd_proc *p = &c->m[i];
	char curl_[64], purl[64], log[200];
	snprintf(curl_, sizeof(curl_), "http://127.0.0.1:%d", p->client_port);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", p->peer_port);
	snprintf(log, sizeof(log), "%s.log", p->dir);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(ETCD_BIN, ETCD_BIN, "--name", p->name, "--data-dir", p->dir,
		      "--listen-client-urls", curl_, "--advertise-client-urls", curl_,
		      "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
		      "--initial-cluster", c->initial, "--initial-cluster-token", c->root,
		      "--heartbeat-interval", "100", "--election-timeout", "1000", (char *)NULL);
		_exit(127);
	}
	p->pid = pid;
	return 0;
}

static bool etcd_member_wait(struct etcd_cluster *c, int i, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 100) {
		if (etcd_healthy(c->m[i].client_port))
			return true;
		etcd_sleep_ms(100);
	}
	fprintf(stderr, "etcd member %d did not become healthy (log %s.log)\n", i, c->m[i].dir);
	return false;
}

static void etcd_member_kill(struct etcd_cluster *c, int i)
{
	if (c->m[i].pid > 0) {
		kill(c->m[i].pid, SIGKILL);
		waitpid(c->m[i].pid, NULL, 0);
		c->m[i].pid = 0;
	}
}

/* Starts an n-member cluster and waits until every member is healthy. Returns 0 or -1. */
static int etcd_cluster_start(struct etcd_cluster *c, int n)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->root, sizeof(c->root), "/tmp/rn-etcd-XXXXXX");
	if (!mkdtemp(c->root) || n > ETCD_MAX)
		return -1;
	c->n = n;
	size_t o = 0, e = 0;
	for (int i = 0; i < n; i++) {
		struct etcd_proc *p = &c->m[i];
		p->client_port = etcd_free_port();
		p->peer_port = etcd_free_port();
		snprintf(p->name, sizeof(p->name), "m%d", i);
		snprintf(p->dir, sizeof(p->dir), "%s/%s", c->root, p->name);
		o += (size_t)snprintf(c->initial + o, sizeof(c->initial) - o,
				      "%s%s=http://127.0.0.1:%d", i ? "," : "", p->name,
				      p->peer_port);
		e += (size_t)snprintf(c->endpoints + e, sizeof(c->endpoints) - e, "%s127.0.0.1:%d",
				      i ? "," : "", p->client_port);
	}
	for (int i = 0; i < n; i++)
		if (etcd_member_start(c, i) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		if (!etcd_member_wait(c, i, 30000))
			return -1;
	return 0;
}

static void etcd_cluster_stop(struct etcd_cluster *c)
{
	for (int i = 0; i < c->n; i++)
		etcd_member_kill(c, i);
	if (c->root[0]) {
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", c->root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", c->root);
	}
}

/* A poll with a deadline: true as soon as cond holds. */
#define ETCD_WAIT_UNTIL(cond, timeout_ms)                                                          \
	({                                                                                         \
		bool ok_ = false;                                                                  \
		for (int t_ = 0; t_ < (timeout_ms) && !(ok_ = (cond)); t_ += 20)                   \
			etcd_sleep_ms(20);                                                         \
		ok_ || (cond);                                                                     \
	})

#endif
