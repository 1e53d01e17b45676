/*
 * Load generator and servers for the proxy benchmark. One epoll thread each, so the numbers
 * measure the proxy, not the client. Every loop is bounded by a duration or a byte count.
 *
 *   loadgen echo PORT                       echo server (127.0.0.1)
 *   loadgen sink PORT                       reads to EOF, answers the byte count (8 bytes), closes
 *   loadgen bulk PORT BYTES                 one connection sends BYTES, waits for the count; prints Gbit/s
 *   loadgen rr PORT CONNS SECONDS SIZE      CONNS connections doing SIZE-byte request/response; req/s, p50, p99 (µs)
 *   loadgen churn PORT CONC SECONDS         CONC parallel loops of connect, 64 B echo, close; conn/s, p50, p99 (µs)
 * Output: one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static struct sockaddr_in addr_of(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = addr_of(port);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(fd, 4096) < 0) die("listen");
  return fd;
}

static int connect_blocking(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = addr_of(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) return -1;
  return fd;
}

/* ---- servers ---- */
struct conn { int fd; uint64_t count; };

static void serve(int port, int sink) {
  int lfd = listen_on(port);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static char buf[262144];
  struct epoll_event evs[256];
  printf("{\"listening\":%d}\n", port);
  fflush(stdout);
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (cfd < 0) break;
          int one = 1;
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *nc = calloc(1, sizeof *nc);
          nc->fd = cfd;
          struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r > 0) {
          c->count += r;
          if (!sink) {
            ssize_t off = 0;
            while (off < r) {
              ssize_t w = write(c->fd, buf + off, r - off);
              if (w < 0) { if (errno == EAGAIN) continue; break; }
              off += w;
            }
          }
          continue;
        }
        if (r == 0) {
          if (sink) {
            uint64_t total = c->count;
            int fl = fcntl(c->fd, F_GETFL);
            fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
            if (write(c->fd, &total, sizeof total) < 0) { /* peer gone */ }
          }
          close(c->fd);
          free(c);
        } else if (errno != EAGAIN) {
          close(c->fd);
          free(c);
        }
        break;
      }
    }
  }
}

/* ---- clients ---- */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void bulk(int port, uint64_t bytes) {
  int fd = connect_blocking(port);
  if (fd < 0) die("connect");
  static char buf[262144];
  memset(buf, 'x', sizeof buf);
  double t0 = now_us();
  uint64_t sent = 0;
  while (sent < bytes) {
    size_t want = bytes - sent < sizeof buf ? bytes - sent : sizeof buf;
    ssize_t w = write(fd, buf, want);
    if (w < 0) die("write");
    sent += w;
  }
  shutdown(fd, SHUT_WR);
  uint64_t got = 0;
  size_t have = 0;
  while (have < sizeof got) {
    ssize_t r = read(fd, (char *)&got + have, sizeof got - have);
    if (r <= 0) die("read count");
    have += r;
  }
  double secs = (now_us() - t0) / 1e6;
  close(fd);
  printf("{\"bytes\":%llu,\"received\":%llu,\"seconds\":%.4f,\"gbps\":%.3f}\n", (unsigned long long)bytes,
         (unsigned long long)got, secs, bytes * 8 / secs / 1e9);
}

#define MAX_SAMPLES 2000000
static double *samples;
static size_t nsamples;

static void record(double us) {
  if (nsamples < MAX_SAMPLES) samples[nsamples++] = us;
}

static void print_latency(const char *rate_name, double count, double secs) {
  qsort(samples, nsamples, sizeof(double), cmp_double);
  double p50 = nsamples ? samples[nsamples / 2] : 0, p99 = nsamples ? samples[(size_t)(nsamples * 0.99)] : 0;
  printf("{\"%s\":%.1f,\"count\":%.0f,\"seconds\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n", rate_name, count / secs, count,
         secs, p50, p99);
}

struct rr { int fd; double start; size_t got; };

static void rr(int port, int conns, double seconds, int size) {
  int ep = epoll_create1(0);
  struct rr *cs = calloc(conns, sizeof *cs);
  char req[65536], buf[65536];
  memset(req, 'q', sizeof req);
  for (int i = 0; i < conns; i++) {
    cs[i].fd = connect_blocking(port);
    if (cs[i].fd < 0) die("connect");
    fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  double t0 = now_us(), end = t0 + seconds * 1e6;
  for (int i = 0; i < conns; i++) {
    cs[i].start = now_us();
    if (write(cs[i].fd, req, size) != size) die("write");
  }
  double done = 0;
  struct epoll_event evs[512];
  while (now_us() < end) {
    int n = epoll_wait(ep, evs, 512, 100);
    for (int i = 0; i < n; i++) {
      struct rr *c = evs[i].data.ptr;
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r <= 0) { if (r < 0 && errno == EAGAIN) continue; die("rr read"); }
      c->got += r;
      if (c->got >= (size_t)size) {
        double t = now_us();
        record(t - c->start);
        done++;
        c->got = 0;
        c->start = t;
        if (write(c->fd, req, size) != size) die("write");
      }
    }
  }
  double secs = (now_us() - t0) / 1e6;
  print_latency("rps", done, secs);
}

static void churn(int port, int conc, double seconds) {
  int ep = epoll_create1(0);
  char req[64], buf[256];
  memset(req, 'c', sizeof req);
  struct sockaddr_in a = addr_of(port);
  struct rr *cs = calloc(conc, sizeof *cs);
  double t0 = now_us(), end = t0 + seconds * 1e6, done = 0, failed = 0;
  for (int i = 0; i < conc; i++) {
    cs[i].fd = -1;
  }
  for (;;) {
    double t = now_us();
    for (int i = 0; i < conc; i++) {
      if (cs[i].fd >= 0 || t >= end) continue;
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      struct linger lg = {1, 0}; /* RST on close: no TIME_WAIT pile-up in a bounded run */
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      cs[i].fd = fd;
      cs[i].start = t;
      cs[i].got = 0;
      connect(fd, (struct sockaddr *)&a, sizeof a);
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = &cs[i]};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    int active = 0;
    for (int i = 0; i < conc; i++) active += cs[i].fd >= 0;
    if (!active && now_us() >= end) break;
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, 100);
    for (int i = 0; i < n; i++) {
      struct rr *c = evs[i].data.ptr;
      if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
        failed++;
        close(c->fd);
        c->fd = -1;
        continue;
      }
      if ((evs[i].events & EPOLLOUT) && c->got == 0) {
        if (write(c->fd, req, sizeof req) != sizeof req) { failed++; close(c->fd); c->fd = -1; continue; }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->got = 1; /* marks "request sent" */
        continue;
      }
      if (evs[i].events & EPOLLIN) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) { failed++; close(c->fd); c->fd = -1; continue; }
        c->got += r;
        if (c->got >= 1 + sizeof req) {
          record(now_us() - c->start);
          done++;
          close(c->fd);
          c->fd = -1;
        }
      }
    }
  }
  double secs = (now_us() - t0) / 1e6;
  qsort(samples, nsamples, sizeof(double), cmp_double);
  double p50 = nsamples ? samples[nsamples / 2] : 0, p99 = nsamples ? samples[(size_t)(nsamples * 0.99)] : 0;
  printf("{\"cps\":%.1f,\"count\":%.0f,\"failed\":%.0f,\"seconds\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f}\n", done / secs, done,
         failed, secs, p50, p99);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
    return 2;
  }
  samples = malloc(sizeof(double) * MAX_SAMPLES);
  const char *mode = argv[1];
  int port = atoi(argv[2]);
  if (!strcmp(mode, "echo")) serve(port, 0);
  else if (!strcmp(mode, "sink")) serve(port, 1);
  else if (!strcmp(mode, "bulk") && argc >= 4) bulk(port, strtoull(argv[3], NULL, 10));
  else if (!strcmp(mode, "rr") && argc >= 6) rr(port, atoi(argv[3]), atof(argv[4]), atoi(argv[5]));
  else if (!strcmp(mode, "churn") && argc >= 5) churn(port, atoi(argv[3]), atof(argv[4]));
  else {
    fprintf(stderr, "unknown mode or missing arguments\n");
    return 2;
  }
  return 0;
}
