/*
 * xs-load: request throughput of a xenstored socket under concurrent clients. Forks
 * CLIENTS processes, each with its own connection and one request in flight (as a
 * libxenstore client has), doing OPS requests over KEYS keys, WRITE_PCT percent of
 * them WRITEs and the rest READs, in a fixed pseudo-random order. A C client keeps the
 * load generator cheaper than either daemon, so the daemon is what gets measured.
 *
 *   xs-load SOCKET CLIENTS OPS KEYS WRITE_PCT
 * Prints: requests per second over all clients.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int readn(int fd, void *buf, size_t n) {
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0) return -1;
		got += (size_t)r;
	}
	return 0;
}

static int open_socket(const char *path) {
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
	for (int attempt = 0; attempt < 10000; attempt++) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) return fd;
		close(fd);
		usleep(1000); /* oxenstored listens with a backlog of 1 */
	}
	return -1;
}

static int client(const char *path, int id, long ops, int keys, int write_pct, int ready_fd, int go_fd) {
	int fd = open_socket(path);
	if (fd < 0) return 1;
	char c = 1;
	if (write(ready_fd, &c, 1) != 1 || read(go_fd, &c, 1) != 1) return 1;
	uint32_t seed = (uint32_t)id * 2654435761u + 1;
	char msg[16 + 256], reply[4096];
	for (long i = 0; i < ops; i++) {
		seed = seed * 1664525u + 1013904223u;
		int key = (int)((seed >> 8) % (uint32_t)keys);
		seed = seed * 1664525u + 1013904223u;
		int is_write = (int)((seed >> 8) % 100) < write_pct;
		int len = is_write ? snprintf(msg + 16, 256, "/bench/k%d%cw%ld", key, 0, i) : snprintf(msg + 16, 256, "/bench/k%d%c", key, 0);
		if (!is_write) len = (int)strlen(msg + 16) + 1;
		uint32_t hdr[4] = { is_write ? 11u : 2u, (uint32_t)i + 1, 0, (uint32_t)len };
		memcpy(msg, hdr, 16);
		uint32_t rh[4];
		if (write(fd, msg, 16 + (size_t)len) != 16 + len || readn(fd, rh, 16) || rh[3] > sizeof(reply) || readn(fd, reply, rh[3])) return 1;
		if (rh[0] == 16) { fprintf(stderr, "xs-load: error reply %.*s\n", (int)rh[3], reply); return 1; }
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 6) { fprintf(stderr, "usage: xs-load SOCKET CLIENTS OPS KEYS WRITE_PCT\n"); return 2; }
	int clients = atoi(argv[2]), keys = atoi(argv[4]), write_pct = atoi(argv[5]);
	long ops = atol(argv[3]);
	int ready[2], go[2];
	if (pipe(ready) || pipe(go)) return 1;
	for (int i = 0; i < clients; i++) {
		if (fork() == 0) _exit(client(argv[1], i, ops, keys, write_pct, ready[1], go[0]));
	}
	/* Start the clock once every client is connected. */
	char c;
	for (int i = 0; i < clients; i++) if (read(ready[0], &c, 1) != 1) return 1;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < clients; i++) if (write(go[1], &c, 1) != 1) return 1;
	int failed = 0, status;
	while (wait(&status) > 0) failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (failed) { fprintf(stderr, "xs-load: a client failed\n"); return 1; }
	double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.0f\n", (double)clients * (double)ops / secs);
	return 0;
}
