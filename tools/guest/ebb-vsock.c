// SPDX-License-Identifier: GPL-2.0
/*
 * ebb-vsock: move bytes over a vsock, TCP or unix stream socket and say how
 * many, how fast and their checksum; the guest's (and the e2e tests' host
 * side) end of docs/net.md's transfers. Static, no dependencies.
 *
 *   ebb-vsock [-n COUNT] [-t SECONDS] listen|connect ADDRESS ACTION [ARG]
 *
 * ADDRESS:  vsock:CID:PORT (connect), vsock:PORT (listen)
 *           tcp:IP:PORT (connect), tcp:PORT or tcp:IP:PORT (listen)
 *           unix:PATH
 *           fc:PATH:PORT  connect to Firecracker's hybrid vsock socket PATH and
 *                         ask for guest port PORT ("CONNECT PORT\n", "OK N\n")
 * ACTION:   send BYTES      send BYTES of a fixed pseudo-random stream, then
 *                           shut down writing and read to EOF
 *           recv            read to EOF
 *           echo            send back what arrives, until EOF
 *           sendrecv BYTES  send BYTES and read the echo at the same time
 *           hold SECONDS    read nothing for SECONDS, then close
 * Each direction prints one line on stdout when it ends:
 *   EBB-VSOCK sent=N sum=HEX seconds=S mibps=R
 *   EBB-VSOCK recv=N sum=HEX seconds=S mibps=R
 * (sum: FNV-1a 64 over the bytes as 64-bit words). listen prints "EBB-VSOCK listening" once
 * it listens, serves COUNT connections (-n, default 1) one after the other,
 * and -t ends the process with status 3 after SECONDS. Status 0 when every
 * byte went, else 1 (2: bad usage).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 << 10)

struct stream {
	uint64_t bytes;
	uint64_t sum;
	uint8_t tail[8]; /* bytes of a word not complete yet */
	unsigned int nr_tail;
	uint64_t rng; /* the sender's pattern state */
};

static void stream_init(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	s->sum = 0xcbf29ce484222325ull;
	s->rng = 0x9e3779b97f4a7c15ull;
}

static uint64_t mix(uint64_t h, uint64_t word)
{
	return (h ^ word) * 0x100000001b3ull;
}

/* FNV-1a over 64-bit little-endian words (a guest under nested emulation is slow):
 * the same for the same bytes however the reads split them. */
static void stream_sum(struct stream *s, const uint8_t *p, size_t n)
{
	s->bytes += n;
	while (n && s->nr_tail) {
		s->tail[s->nr_tail++] = *p++;
		n--;
		if (s->nr_tail == 8) {
			uint64_t w;
			memcpy(&w, s->tail, 8);
			s->sum = mix(s->sum, w);
			s->nr_tail = 0;
		}
	}
	uint64_t h = s->sum;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = mix(h, w);
	}
	s->sum = h;
	memcpy(s->tail + s->nr_tail, p, n);
	s->nr_tail += (unsigned int)n;
}

static uint64_t stream_final(const struct stream *s)
{
	uint64_t h = s->sum;
	for (unsigned int i = 0; i < s->nr_tail; i++)
		h = mix(h, s->tail[i]);
	return h;
}

/* The next n bytes of the pattern (xorshift64*), n a multiple of 8. */
static void stream_fill(struct stream *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		s->rng ^= s->rng >> 12;
		s->rng ^= s->rng << 25;
		s->rng ^= s->rng >> 27;
		uint64_t v = s->rng * 0x2545f4914f6cdd1dull;
		memcpy(p + i, &v, 8);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const char *dir, const struct stream *s, double t0)
{
	double dt = now_s() - t0;
	printf("EBB-VSOCK %s=%llu sum=%016llx seconds=%.3f mibps=%.1f\n", dir,
	       (unsigned long long)s->bytes, (unsigned long long)stream_final(s), dt,
	       dt > 0 ? s->bytes / dt / (1 << 20) : 0.0);
	fflush(stdout);
}

static void die(const char *what)
{
	fprintf(stderr, "ebb-vsock: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: ebb-vsock [-n COUNT] [-t SECONDS] listen|connect ADDRESS "
			"send BYTES|recv|echo|sendrecv BYTES|hold SECONDS\n");
	exit(2);
}

/* ---- addresses ---- */

union addr {
	struct sockaddr sa;
	struct sockaddr_vm vm;
	struct sockaddr_in in;
	struct sockaddr_un un;
};

struct target {
	union addr a;
	socklen_t len;
	int family;
	long fc_port; /* fc: the guest port to ask for, else -1 */
};

static unsigned long number(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		usage();
	return v;
}

static void parse_target(const char *spec, bool listening, struct target *t)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", spec);
	memset(t, 0, sizeof(*t));
	t->fc_port = -1;
	char *rest = strchr(buf, ':');
	if (!rest)
		usage();
	*rest++ = '\0';
	char *last = strrchr(rest, ':');
	if (!strcmp(buf, "vsock")) {
		t->family = AF_VSOCK;
		t->a.vm.svm_family = AF_VSOCK;
		t->a.vm.svm_cid = VMADDR_CID_ANY;
		if (last) {
			*last = '\0';
			t->a.vm.svm_cid = (unsigned int)number(rest);
			rest = last + 1;
		} else if (!listening) {
			usage();
		}
		t->a.vm.svm_port = (unsigned int)number(rest);
		t->len = sizeof(t->a.vm);
	} else if (!strcmp(buf, "tcp")) {
		t->family = AF_INET;
		t->a.in.sin_family = AF_INET;
		t->a.in.sin_addr.s_addr = htonl(INADDR_ANY);
		if (last) {
			*last = '\0';
			if (inet_pton(AF_INET, rest, &t->a.in.sin_addr) != 1)
				usage();
			rest = last + 1;
		} else if (!listening) {
			usage();
		}
		t->a.in.sin_port = htons((uint16_t)number(rest));
		t->len = sizeof(t->a.in);
	} else if (!strcmp(buf, "unix") || !strcmp(buf, "fc")) {
		t->family = AF_UNIX;
		if (!strcmp(buf, "fc")) {
			if (!last || listening)
				usage();
			*last = '\0';
			t->fc_port = (long)number(last + 1);
		}
		t->a.un.sun_family = AF_UNIX;
		if (strlen(rest) >= sizeof(t->a.un.sun_path))
			usage();
		strcpy(t->a.un.sun_path, rest);
		t->len = sizeof(t->a.un);
	} else {
		usage();
	}
}

/* Firecracker's handshake: "CONNECT PORT\n", then "OK N\n" read a byte at a time. */
static void fc_handshake(int fd, long port)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "CONNECT %ld\n", port);
	if (write(fd, line, n) != n)
		die("writing CONNECT");
	size_t len = 0;
	while (len < sizeof(line) - 1) {
		ssize_t r = read(fd, line + len, 1);
		if (r <= 0) {
			fprintf(stderr,
				"ebb-vsock: the host end closed before OK (nobody listens on "
				"guest port %ld?)\n",
				port);
			exit(1);
		}
		if (line[len++] == '\n')
			break;
	}
	line[len] = '\0';
	if (strncmp(line, "OK ", 3) != 0) {
		fprintf(stderr, "ebb-vsock: unexpected answer: %s", line);
		exit(1);
	}
	printf("EBB-VSOCK connected %s", line);
	fflush(stdout);
}

/* ---- the actions ---- */

enum action { SEND, RECV, ECHO, SENDRECV, HOLD };

/* Sends `total` bytes of the pattern and/or reads until EOF, whatever the action asks. */
static int run(int fd, enum action act, uint64_t arg)
{
	static uint8_t out[CHUNK], in[CHUNK];
	struct stream tx, rx;
	stream_init(&tx);
	stream_init(&rx);
	uint64_t total = act == SEND || act == SENDRECV ? arg : 0;
	size_t out_off = 0, out_len = 0;
	bool writing = act != RECV && act != HOLD, reading = true, shut = false;
	double t0 = now_s();
	if (act == HOLD) {
		sleep((unsigned int)arg);
		return 0;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		die("fcntl");
	while (reading || (writing && !shut)) {
		/* What to send next: the pattern, or what arrived (echo). */
		if (writing && out_off == out_len && act != ECHO && tx.bytes < total) {
			size_t n = total - tx.bytes < CHUNK ? (size_t)(total - tx.bytes) : CHUNK;
			stream_fill(&tx, out, (n + 7) & ~(size_t)7);
			out_off = 0;
			out_len = n;
			stream_sum(&tx, out, n);
		}
		bool pending = out_off < out_len;
		if (writing && !pending && !shut && (act != ECHO ? tx.bytes >= total : !reading)) {
			shutdown(fd, SHUT_WR);
			shut = true;
			if (act != ECHO)
				report("sent", &tx, t0);
		}
		struct pollfd p = { .fd = fd };
		if (reading && !(act == ECHO && pending))
			p.events |= POLLIN;
		if (pending)
			p.events |= POLLOUT;
		if (!p.events)
			break;
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pending && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(fd, out + out_off, out_len - out_off);
			if (w < 0 && errno != EAGAIN)
				die("write");
			if (w > 0)
				out_off += (size_t)w;
		}
		if ((p.events & POLLIN) && (p.revents & (POLLIN | POLLERR | POLLHUP))) {
			ssize_t r = read(fd, in, sizeof(in));
			if (r < 0 && errno != EAGAIN && errno != ECONNRESET)
				die("read");
			if (r == 0 || (r < 0 && errno == ECONNRESET)) {
				reading = false;
				report("recv", &rx, t0);
			} else if (r > 0) {
				stream_sum(&rx, in, (size_t)r);
				if (act == ECHO) {
					memcpy(out, in, (size_t)r);
					out_off = 0;
					out_len = (size_t)r;
					stream_sum(&tx, in, (size_t)r);
				}
			}
		}
	}
	if (act == ECHO)
		report("sent", &tx, t0);
	return (act == SEND || act == SENDRECV) && tx.bytes < total ? 1 : 0;
}

static void on_alarm(int sig __attribute__((unused)))
{
	static const char msg[] = "ebb-vsock: timed out\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	(void)w;
	_exit(3);
}

int main(int argc, char **argv)
{
	int count = 1, opt;
	unsigned int timeout = 0;
	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		if (opt == 'n')
			count = (int)number(optarg);
		else if (opt == 't')
			timeout = (unsigned int)number(optarg);
		else
			usage();
	}
	if (argc - optind < 3)
		usage();
	bool listening = !strcmp(argv[optind], "listen");
	if (!listening && strcmp(argv[optind], "connect"))
		usage();
	struct target t;
	parse_target(argv[optind + 1], listening, &t);
	const char *a = argv[optind + 2];
	enum action act = !strcmp(a, "send")	   ? SEND
			  : !strcmp(a, "recv")	   ? RECV
			  : !strcmp(a, "echo")	   ? ECHO
			  : !strcmp(a, "sendrecv") ? SENDRECV
			  : !strcmp(a, "hold")	   ? HOLD
						   : (usage(), RECV);
	uint64_t arg = 0;
	if (act == SEND || act == SENDRECV || act == HOLD) {
		if (argc - optind < 4)
			usage();
		arg = number(argv[optind + 3]);
	}
	signal(SIGPIPE, SIG_IGN);
	if (timeout) {
		signal(SIGALRM, on_alarm);
		alarm(timeout);
	}

	int status = 0;
	if (!listening) {
		int fd = socket(t.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		/* The kernel gives a vsock connect 2 s; a slow host can answer later than that. */
		struct timeval wait = { .tv_sec = 60 };
		if (t.family == AF_VSOCK && setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT,
						       &wait, sizeof(wait)) < 0)
			die("setsockopt SO_VM_SOCKETS_CONNECT_TIMEOUT");
		if (connect(fd, &t.a.sa, t.len) < 0)
			die("connect");
		if (t.fc_port >= 0)
			fc_handshake(fd, t.fc_port);
		status = run(fd, act, arg);
		close(fd);
		return status;
	}
	int ls = socket(t.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket");
	int one = 1;
	if (t.family == AF_INET)
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (t.family == AF_UNIX)
		unlink(t.a.un.sun_path);
	if (bind(ls, &t.a.sa, t.len) < 0)
		die("bind");
	if (listen(ls, 16) < 0)
		die("listen");
	printf("EBB-VSOCK listening\n");
	fflush(stdout);
	for (int i = 0; i < count; i++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			die("accept");
		status |= run(fd, act, arg);
		close(fd);
	}
	if (t.family == AF_UNIX)
		unlink(t.a.un.sun_path);
	return status;
}
