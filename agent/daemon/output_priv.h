/* output_priv.h - what output.c (queues, framing, files, the public calls)
 * shares with output_syslog.c (RFC 5424 headers, the TCP collector); not a
 * public header. */
#ifndef VIGIL_OUTPUT_PRIV_H
#define VIGIL_OUTPUT_PRIV_H

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "vigil/clock.h"
#include "vigil/event.h"
#include "vigil/output.h"

#define RETRY_MS 5000
#define BACKOFF_MAX_MS 60000
#define SYSLOG_PATH "/dev/log"

enum { S_FILE = 1, S_STDOUT, S_LOCAL, S_TCP };

struct qent {
	struct qent *next;
	size_t len;
	char data[];
};

struct sink {
	struct vigil_output_set *set;
	int kind;
	char *name; /* for messages: the file, or the target */
	int fd;
	int facility;
	/* tcp */
	char *host, *port;
	int connected;
	int connecting;
	unsigned backoff_ms;
	uint32_t epoll_events;
	/* queue */
	struct qent *head, *tail;
	size_t qn, qmax, off;
	int notice_at_head;
	uint64_t written, dropped, unreported;
	struct vigil_loop_timer *timer;
};

struct vigil_output_set {
	struct vigil_loop *loop;
	struct sink *s;
	size_t n;
	uint64_t emitted;
	char host[256];
	int pid;
};

/* output.c */
void output_set_epoll(struct sink *s, uint32_t ev);
int output_drain(struct sink *s);

/* output_syslog.c */
void output_tcp_disconnect(struct sink *s);
void output_tcp_ready(struct vigil_loop *loop, int fd, uint32_t events, void *ctx);
void output_tcp_connect(struct sink *s);
int output_parse_tcp(const char *t, char **host, char **port);

#endif
