/*
 * xs-rtt: round-trip latency of one xenstore request type over the unix socket,
 * with one request in flight, the way a libxenstore client waits for each reply.
 * A C client keeps the measuring side cheap and identical for every daemon.
 *
 *   xs-rtt SOCKET TYPE PAYLOAD COUNT   (PAYLOAD may use \0 for NUL)
 * Prints: average, median, p99 and maximum in ns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int readn(int fd, void *buf, size_t n) {
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0) return -1;
		got += (size_t)r;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 5) { fprintf(stderr, "usage: xs-rtt SOCKET TYPE PAYLOAD COUNT\n"); return 2; }
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strncpy(sa.sun_path, argv[1], sizeof(sa.sun_path) - 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { perror("connect"); return 1; }
	char payload[4096];
	size_t len = 0;
	for (const char *p = argv[3]; *p && len < sizeof(payload); p++) {
		if (p[0] == '\\' && p[1] == '0') { payload[len++] = 0; p++; } else payload[len++] = *p;
	}
	uint32_t type = (uint32_t)atoi(argv[2]);
	long count = atol(argv[4]);
	uint64_t *t = malloc(sizeof(*t) * (size_t)count);
	char msg[16 + 4096], reply[4096];
	memcpy(msg + 16, payload, len);
	for (long i = 0; i < count; i++) {
		uint32_t hdr[4] = { type, (uint32_t)i + 1, 0, (uint32_t)len };
		memcpy(msg, hdr, 16);
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (write(fd, msg, 16 + len) != (ssize_t)(16 + len)) { perror("write"); return 1; }
		uint32_t rh[4];
		if (readn(fd, rh, 16) || rh[3] > sizeof(reply) || readn(fd, reply, rh[3])) { fprintf(stderr, "short reply\n"); return 1; }
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)(b.tv_nsec - a.tv_nsec);
	}
	uint64_t sum = 0;
	for (long i = 0; i < count; i++) sum += t[i];
	qsort(t, (size_t)count, sizeof(*t), cmp);
	printf("avg %llu median %llu p99 %llu max %llu\n", (unsigned long long)(sum / (uint64_t)count), (unsigned long long)t[count / 2],
	       (unsigned long long)t[count * 99 / 100], (unsigned long long)t[count - 1]);
	return 0;
}
