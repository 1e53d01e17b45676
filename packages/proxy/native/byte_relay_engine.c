/* The relay threads: accept, upstream connect, byte relay, timeouts, reports (see byte_relay.h).
 * Engine 0 accepts; each pair lives on engine id % thread count, which alone touches it.
 *
 * Every socket is registered edge-triggered for IN|OUT|RDHUP once and never modified:
 * - readable side: recv into the thread's buffer, send to the peer at once; a short read means
 *   the socket is drained (unless RDHUP was seen: then read on to the EOF);
 * - a send that does not take everything parks the buffer with the direction (the thread takes a
 *   fresh one) and the direction stops reading until the peer's next EPOLLOUT flushes it;
 * - EOF on one side becomes shutdown(SHUT_WR) on the other once its parked bytes are out
 *   (half-close); the pair ends when both directions have seen EOF, or at the first error.
 * Pairs freed during an epoll batch are kept in a graveyard until the batch is done. */
#include "byte_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "decision_table.h"
#include "id_map.h"

#define SO_ORIGINAL_DST_OPT 80
#define TAG_LISTENER 2u
#define TAG_WAKE 3u
#define MAX_EVENTS 256
#define ACCEPT_BATCH 64
#define READS_PER_TURN 16
#define FREE_BUFFERS_KEPT 16
/* Reports wait for more to join them: until this many are queued or for at most a clock tick
 * (CLOCK_MONOTONIC_COARSE, a few ms). Nothing waits for them — connections are decided and
 * connected before JavaScript hears of them, or JavaScript is asked at once (below). */
#define REPORT_BATCH 128
#define REPORT_DELAY_MS 1

struct side {
  int fd;
  int rd_eof;
  int rdhup;
  char *pend; /* bytes read from this side, not yet written to the other */
  uint32_t pend_off, pend_len;
  int pend_pooled;
};

struct pair {
  uint64_t id;
  int state;
  int dead;
  struct side s[2]; /* 0: downstream (the workload), 1: upstream */
  double bytes[2];  /* bytes[d]: read from side d and written to the other */
  int64_t start_ms, last_ms, connect_deadline;
  uint32_t idle_ms, max_ms;
  char *initial;
  uint32_t initial_len;
  char up_local[ADDR_TEXT];
  int32_t slot;                    /* cluster slot counted in counters, when counters is set */
  struct relay_counters *counters; /* decided on the relay thread: one open connection counted */
  struct pair *prev, *next; /* live list */
  struct pair *grave_next;
};

struct test_route {
  uint32_t src;
  struct sockaddr_in dst;
};

struct listener {
  int id;
  int fd;
  int port;               /* the port it is bound to */
  struct dt_table *table; /* NULL: JavaScript decides every connection */
  int32_t gen;
  struct relay_counters *counters;
  struct test_route *routes; /* tests: original destinations by source address (else SO_ORIGINAL_DST) */
  uint32_t n_routes;
  int use_routes;
  struct listener *next;
};

struct again {
  struct pair *p;
  int d;
};

struct engine {
  int index;
  int ep, wake_fd;
  pthread_t thread;
  pthread_mutex_t lock;
  struct relay_cmd *cmd_head, *cmd_tail;
  /* this engine's thread only */
  struct id_map pairs;
  struct pair *live;
  struct pair *grave;
  struct listener *listeners;
  struct listener *dead_listeners;
  char *buf;
  char *free_bufs[FREE_BUFFERS_KEPT];
  int free_count;
  struct again *again;
  uint32_t again_count, again_cap;
  struct event_batch out;
  struct relay_cmd *handoff[RELAY_MAX_THREADS]; /* accepted pairs for other engines, submitted per batch */
  int64_t now_ms, next_check;
  int64_t events_since; /* when the oldest unreported event was queued (0: none) */
  int stopping;
  int ask_js; /* a queued report waits for JavaScript's answer: send the batch now */
};

/* Engine 0 owns the listeners; a pair lives on engine id % thread_count. */
static struct engine engines[RELAY_MAX_THREADS];
static int thread_count = 1;
static int running;
static relay_emit_fn emit_fn;
static void *emit_ctx;
static uint64_t next_id = 1;
static __thread struct engine *E; /* the engine whose thread this is */

static void submit_chain(struct engine *e, struct relay_cmd *head);

static int64_t clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct relay_counters *relay_counters_new(uint32_t n) {
  struct relay_counters *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->v = calloc(n ? n : 1, sizeof *c->v);
  if (!c->v) {
    free(c);
    return NULL;
  }
  c->n = n;
  c->refs = 1;
  return c;
}

void relay_counters_ref(struct relay_counters *c) {
  if (c) __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void relay_counters_unref(struct relay_counters *c) {
  if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    free(c->v);
    free(c);
  }
}

/* Gives back the cluster slot a pair decided on the relay thread holds. */
static void release_slot(struct relay_counters **pc, int32_t slot) {
  if (!*pc) return;
  __atomic_sub_fetch(&(*pc)->v[slot], 1, __ATOMIC_RELAXED);
  relay_counters_unref(*pc);
  *pc = NULL;
}

static char *take_buffer(void) {
  if (E->free_count) return E->free_bufs[--E->free_count];
  return malloc(RELAY_BUF_SIZE);
}

static void give_buffer(char *b) {
  if (E->free_count < FREE_BUFFERS_KEPT) E->free_bufs[E->free_count++] = b;
  else free(b);
}

static struct relay_event *push_event(int type, uint64_t id) {
  struct event_batch *b = &E->out;
  if (b->count == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 32;
    b->ev = realloc(b->ev, b->cap * sizeof *b->ev);
  }
  struct relay_event *e = &b->ev[b->count++];
  e->type = type;
  e->id = id;
  return e;
}

static void flush_events(void) {
  if (!E->out.count) return;
  struct event_batch *b = malloc(sizeof *b);
  *b = E->out;
  memset(&E->out, 0, sizeof E->out);
  emit_fn(b, emit_ctx);
}

static void format_addr(const struct sockaddr_storage *ss, char *text, int *port) {
  text[0] = 0;
  *port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &a->sin_addr, text, ADDR_TEXT);
    *port = ntohs(a->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &a->sin6_addr, text, ADDR_TEXT);
    *port = ntohs(a->sin6_port);
  }
}

/* ---- pairs ---- */

static struct pair *pair_new(uint64_t id) {
  struct pair *p = calloc(1, sizeof *p);
  p->id = id;
  p->s[0].fd = p->s[1].fd = -1;
  p->start_ms = p->last_ms = E->now_ms;
  p->next = E->live;
  if (E->live) E->live->prev = p;
  E->live = p;
  id_map_put(&E->pairs, id, p);
  return p;
}

static void pair_unlink(struct pair *p) {
  if (p->prev) p->prev->next = p->next;
  else E->live = p->next;
  if (p->next) p->next->prev = p->prev;
  p->prev = p->next = NULL;
  id_map_del(&E->pairs, p->id);
  p->dead = 1;
  p->grave_next = E->grave;
  E->grave = p;
}

static void side_drop_pending(struct side *s) {
  if (!s->pend) return;
  if (s->pend_pooled) give_buffer(s->pend);
  else free(s->pend);
  s->pend = NULL;
  s->pend_len = s->pend_off = 0;
}

/* Ends a pair: closes both sockets and reports (unless report is 0). */
static void pair_end(struct pair *p, int reason, int err, int report) {
  if (p->dead) return;
  if (report) {
    struct relay_event *e = push_event(EV_ENDED, p->id);
    e->reason = reason;
    e->err = err;
    e->bytes_down_up = p->bytes[0];
    e->bytes_up_down = p->bytes[1];
    memcpy(e->up_local, p->up_local, ADDR_TEXT);
  }
  for (int i = 0; i < 2; i++) {
    if (p->s[i].fd >= 0) close(p->s[i].fd);
    p->s[i].fd = -1;
    side_drop_pending(&p->s[i]);
  }
  free(p->initial);
  p->initial = NULL;
  release_slot(&p->counters, p->slot);
  pair_unlink(p);
}

static void schedule(int64_t deadline) {
  if (deadline > 0 && (E->next_check == 0 || deadline < E->next_check)) E->next_check = deadline;
}

static void maybe_done(struct pair *p) {
  if (p->s[0].rd_eof && p->s[1].rd_eof && !p->s[0].pend_len && !p->s[1].pend_len) pair_end(p, END_CLOSED, 0, 1);
}

static void again_push(struct pair *p, int d) {
  if (E->again_count == E->again_cap) {
    E->again_cap = E->again_cap ? E->again_cap * 2 : 64;
    E->again = realloc(E->again, E->again_cap * sizeof *E->again);
  }
  E->again[E->again_count++] = (struct again){p, d};
}

static void pump(struct pair *p, int d);

/* Writes the bytes parked for direction d; resumes reading once they are out. */
static void flush(struct pair *p, int d) {
  struct side *src = &p->s[d], *dst = &p->s[!d];
  while (src->pend_len) {
    ssize_t w = send(dst->fd, src->pend + src->pend_off, src->pend_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR) continue;
      pair_end(p, END_IO_ERROR, errno, 1);
      return;
    }
    p->last_ms = E->now_ms;
    src->pend_off += (uint32_t)w;
    src->pend_len -= (uint32_t)w;
  }
  side_drop_pending(src);
  if (src->rd_eof) {
    shutdown(dst->fd, SHUT_WR);
    maybe_done(p);
    return;
  }
  pump(p, d);
}

/* Moves bytes from side d to the other side until side d has nothing more to give or the other side is full. */
static void pump(struct pair *p, int d) {
  struct side *src = &p->s[d], *dst = &p->s[!d];
  if (p->dead || p->state != PS_RELAYING || src->pend_len || src->rd_eof) return;
  for (int turn = 0; turn < READS_PER_TURN; turn++) {
    ssize_t n = recv(src->fd, E->buf, RELAY_BUF_SIZE, 0);
    if (n > 0) {
      p->bytes[d] += (double)n;
      p->last_ms = E->now_ms;
      ssize_t w = send(dst->fd, E->buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) {
        if (errno != EAGAIN) {
          pair_end(p, END_IO_ERROR, errno, 1);
          return;
        }
        w = 0;
      }
      if (w < n) {
        /* Park the rest with this direction; the peer's EPOLLOUT edge resumes it. */
        src->pend = E->buf;
        src->pend_pooled = 1;
        src->pend_off = (uint32_t)w;
        src->pend_len = (uint32_t)(n - w);
        E->buf = take_buffer();
        if (w > 0) flush(p, d); /* a partial write may leave room: try once more so an edge is armed */
        return;
      }
      if (n < RELAY_BUF_SIZE && !src->rdhup) return; /* drained */
      continue;
    }
    if (n == 0) {
      src->rd_eof = 1;
      shutdown(dst->fd, SHUT_WR);
      maybe_done(p);
      return;
    }
    if (errno == EAGAIN) return;
    if (errno == EINTR) continue;
    pair_end(p, END_IO_ERROR, errno, 1);
    return;
  }
  again_push(p, d); /* still readable: continue after the other ready sockets had their turn */
}

static int watch(int fd, struct pair *p, int side) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = (uint64_t)(uintptr_t)p | (unsigned)side};
  return epoll_ctl(E->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void start_relaying(struct pair *p) {
  p->state = PS_RELAYING;
  p->last_ms = E->now_ms;
  if (watch(p->s[0].fd, p, 0) < 0) {
    pair_end(p, END_IO_ERROR, errno, 1);
    return;
  }
  if (p->initial) {
    p->s[0].pend = p->initial;
    p->s[0].pend_pooled = 0;
    p->s[0].pend_off = 0;
    p->s[0].pend_len = p->initial_len;
    p->bytes[0] += p->initial_len;
    p->initial = NULL;
    flush(p, 0);
  }
  if (p->idle_ms) schedule(p->last_ms + p->idle_ms);
}

static void on_connected(struct pair *p, uint32_t events) {
  int err = 0;
  socklen_t len = sizeof err;
  /* A failed connect always raises EPOLLERR; writable without it means connected. */
  if ((events & (EPOLLERR | EPOLLHUP)) && getsockopt(p->s[1].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) {
    pair_end(p, END_CONNECT_ERROR, err, 1);
    return;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(p->s[1].fd, (struct sockaddr *)&ss, &sl) == 0) {
    char text[ADDR_TEXT];
    int port;
    format_addr(&ss, text, &port);
    snprintf(p->up_local, ADDR_TEXT, "%s:%d", text, port);
  }
  start_relaying(p);
  if (!p->dead && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) {
    if (events & (EPOLLRDHUP | EPOLLHUP)) p->s[1].rdhup = 1;
    pump(p, 1);
  }
}

static void on_pair_event(struct pair *p, int side, uint32_t events) {
  if (p->dead) return;
  if (p->state == PS_CONNECTING) {
    if (side == 1 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) on_connected(p, events);
    return;
  }
  struct side *s = &p->s[side];
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) s->rdhup = 1;
  if ((events & EPOLLOUT) && p->s[!side].pend_len) flush(p, !side);
  if (p->dead) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) pump(p, side);
}

/* ---- accept ---- */

static void accept_some(struct listener *l);

static void hand_off(void) {
  for (int t = 0; t < thread_count; t++) {
    if (!E->handoff[t]) continue;
    struct relay_cmd *head = NULL, *c = E->handoff[t];
    while (c) { /* back to accept order */
      struct relay_cmd *next = c->next;
      c->next = head;
      head = c;
      c = next;
    }
    E->handoff[t] = NULL;
    submit_chain(&engines[t], head);
  }
}

static void do_connect(struct relay_cmd *c);

/* The original destination of an accepted connection: SO_ORIGINAL_DST, or the listener's test
 * routes. 0 when the connection was not redirected. */
static int original_dst(struct listener *l, int fd, const struct sockaddr_storage *peer, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (l->use_routes) {
    if (peer->ss_family != AF_INET) return 0;
    uint32_t src = ntohl(((const struct sockaddr_in *)peer)->sin_addr.s_addr);
    for (uint32_t i = 0; i < l->n_routes; i++) {
      if (l->routes[i].src != src) continue;
      memcpy(out, &l->routes[i].dst, sizeof l->routes[i].dst);
      return 4;
    }
    return 0;
  }
  struct sockaddr_in v4;
  socklen_t l4 = sizeof v4;
  struct sockaddr_in6 v6;
  socklen_t l6 = sizeof v6;
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST_OPT, &v4, &l4) == 0 && v4.sin_family == AF_INET) {
    memcpy(out, &v4, sizeof v4);
    return 4;
  }
  if (getsockopt(fd, SOL_IPV6, SO_ORIGINAL_DST_OPT, &v6, &l6) == 0 && v6.sin6_family == AF_INET6) {
    memcpy(out, &v6, sizeof v6);
    return 6;
  }
  return 0;
}

static int same_endpoint(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
  if (a->ss_family != b->ss_family) return 0;
  if (a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
  return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
}

/* The IPv4 address (host order) of an original destination, IPv4-mapped IPv6 included; 0 when IPv6. */
static int odst_v4(const struct sockaddr_storage *ss, uint32_t *ip, int *port) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const void *)ss;
    *ip = ntohl(a->sin_addr.s_addr);
    *port = ntohs(a->sin_port);
    return 1;
  }
  const struct sockaddr_in6 *a = (const void *)ss;
  if (!IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) return 0;
  memcpy(ip, &a->sin6_addr.s6_addr[12], 4);
  *ip = ntohl(*ip);
  *port = ntohs(a->sin6_port);
  return 1;
}

/* Decides an accepted connection with the listener's table. Returns the decision index (event
 * fields set, the connection closed or connecting), or -1 when JavaScript decides. */
static int32_t decide_here(struct listener *l, uint64_t id, int fd, int redirected, const struct sockaddr_storage *odst,
                           struct relay_event *e) {
  const struct dt_table *t = l->table;
  int32_t idx;
  uint32_t ip = 0;
  int port = 0;
  if (!redirected) idx = t->capture_idx;
  else if (!odst_v4(odst, &ip, &port)) return -1;
  else idx = dt_decide(t, ip, port);
  if (idx < 0) return -1;
  struct dt_decision *d = &t->decisions[idx];
  if (d->action == DA_JS) return -1;
  e->decided = idx;
  e->gen = l->gen;
  if (d->action == DA_BLACKHOLE) {
    close(fd);
    e->flags = AF_BLACKHOLED;
    return idx;
  }
  struct relay_counters *counters = NULL;
  if (d->slot >= 0 && l->counters && (uint32_t)d->slot < l->counters->n) {
    int32_t open = __atomic_add_fetch(&l->counters->v[d->slot], 1, __ATOMIC_RELAXED);
    if (open > d->max_conn) {
      __atomic_sub_fetch(&l->counters->v[d->slot], 1, __ATOMIC_RELAXED);
      close(fd);
      e->flags = AF_OVERFLOW;
      return idx;
    }
    counters = l->counters;
    relay_counters_ref(counters);
  }
  struct relay_cmd c;
  memset(&c, 0, sizeof c);
  c.id = id;
  c.fd_down = fd;
  c.connect_now = 1;
  c.slot = d->slot;
  c.counters = counters;
  c.connect_ms = (uint32_t)d->connect_ms;
  c.idle_ms = (uint32_t)d->idle_ms;
  c.max_ms = (uint32_t)d->max_ms;
  c.keepalive_s = d->keepalive_s;
  struct sockaddr_in *a = (struct sockaddr_in *)&c.addr;
  if (d->action == DA_ORIGINAL) {
    if (odst->ss_family == AF_INET6 && redirected) {
      memcpy(&c.addr, odst, sizeof(struct sockaddr_in6));
      c.addr_len = sizeof(struct sockaddr_in6);
    } else {
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(ip);
      a->sin_port = htons((uint16_t)port);
      c.addr_len = sizeof *a;
    }
  } else {
    uint32_t k = d->rr++ % (uint32_t)d->ep_count;
    const struct dt_endpoint *ep = &t->endpoints[d->ep_start + (int32_t)k];
    e->ep = d->ep_start + (int32_t)k;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(ep->ip);
    a->sin_port = htons((uint16_t)ep->port);
    c.addr_len = sizeof *a;
  }
  e->flags = AF_CONNECTING;
  int owner = (int)(id % (uint64_t)thread_count);
  if (owner == E->index) {
    struct pair *p = pair_new(id);
    p->s[0].fd = fd;
    p->slot = c.slot;
    p->counters = c.counters;
    do_connect(&c);
  } else {
    struct relay_cmd *h = malloc(sizeof *h);
    *h = c;
    h->type = CMD_OWN;
    h->next = E->handoff[owner];
    E->handoff[owner] = h;
  }
  return idx;
}

static void run_commands(void);

static void accept_some(struct listener *l) {
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    /* A table or test route submitted before this connection was made must decide it: commands
     * that arrived since this batch's epoll_wait run first (they may close this listener). */
    if (__atomic_load_n(&E->cmd_head, __ATOMIC_ACQUIRE)) run_commands();
    if (l->fd < 0) return;
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or a transient error (EMFILE, ECONNABORTED): try at the next edge */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint64_t id = relay_engine_next_id();
    struct relay_event *e = push_event(EV_ACCEPTED, id);
    e->listener_id = l->id;
    e->fd = fd;
    e->decided = e->gen = e->ep = -1;
    e->flags = 0;
    format_addr(&peer, e->peer, &e->peer_port);
    struct sockaddr_storage odst;
    e->odst_family = original_dst(l, fd, &peer, &odst);
    if (e->odst_family) format_addr(&odst, e->odst, &e->odst_port);
    /* The local address matters when the connection may not have been redirected (no original
     * destination, or one on the listener's own port); the thread deciding skips it otherwise. */
    struct sockaddr_storage local;
    socklen_t ll = sizeof local;
    local.ss_family = AF_UNSPEC;
    e->local[0] = 0;
    e->local_port = l->port;
    if (!l->table || !e->odst_family || e->odst_port == l->port) {
      if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0) format_addr(&local, e->local, &e->local_port);
      else local.ss_family = AF_UNSPEC;
    }
    if (l->table) {
      int redirected = e->odst_family != 0 && !same_endpoint(&odst, &local);
      if (decide_here(l, id, fd, redirected, &odst, e) >= 0) continue;
    }
    E->ask_js = 1;
    int owner = (int)(id % (uint64_t)thread_count);
    if (owner == E->index) {
      pair_new(id)->s[0].fd = fd;
    } else {
      /* The owner creates the pair from this command before JavaScript can name the id (its
       * command queue is FIFO and the accept report leaves after this batch's handoff). */
      struct relay_cmd *c = calloc(1, sizeof *c);
      c->type = CMD_OWN;
      c->id = id;
      c->fd_down = fd;
      c->next = E->handoff[owner];
      E->handoff[owner] = c;
    }
  }
}

/* ---- commands ---- */

static void do_connect(struct relay_cmd *c) {
  struct pair *p = id_map_get(&E->pairs, c->id);
  if (!p || p->state != PS_ACCEPTED) {
    free(c->initial);
    return;
  }
  p->initial = c->initial;
  p->initial_len = c->initial_len;
  p->idle_ms = c->idle_ms;
  p->max_ms = c->max_ms;
  if (p->max_ms) schedule(p->start_ms + p->max_ms);
  int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    pair_end(p, END_CONNECT_ERROR, errno, 1);
    return;
  }
  p->s[1].fd = fd;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (c->keepalive_s >= 0) {
    int idle = c->keepalive_s > 0 ? c->keepalive_s : 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  }
  if (connect(fd, (struct sockaddr *)&c->addr, c->addr_len) < 0 && errno != EINPROGRESS) {
    pair_end(p, END_CONNECT_ERROR, errno, 1);
    return;
  }
  p->state = PS_CONNECTING;
  p->connect_deadline = E->now_ms + (c->connect_ms ? c->connect_ms : 10000);
  schedule(p->connect_deadline);
  if (watch(fd, p, 1) < 0) pair_end(p, END_CONNECT_ERROR, errno, 1);
}

static void do_adopt(struct relay_cmd *c) {
  struct pair *p = pair_new(c->id);
  p->s[0].fd = c->fd_down;
  p->s[1].fd = c->fd_up;
  p->idle_ms = c->idle_ms;
  p->max_ms = c->max_ms;
  p->initial = c->initial;
  p->initial_len = c->initial_len;
  if (p->max_ms) schedule(p->start_ms + p->max_ms);
  if (watch(p->s[1].fd, p, 1) < 0) {
    pair_end(p, END_IO_ERROR, errno, 1);
    return;
  }
  start_relaying(p);
}

static void listener_free(struct listener *l) {
  dt_free(l->table);
  relay_counters_unref(l->counters);
  free(l->routes);
  free(l);
}

static void run_command(struct relay_cmd *c) {
  struct pair *p;
  switch (c->type) {
    case CMD_CONNECT:
      do_connect(c);
      return;
    case CMD_ADOPT:
      do_adopt(c);
      return;
    case CMD_OWN:
      p = pair_new(c->id);
      p->s[0].fd = c->fd_down;
      if (c->connect_now) {
        p->slot = c->slot;
        p->counters = c->counters;
        c->counters = NULL;
        do_connect(c);
      }
      return;
    case CMD_TABLE:
      for (struct listener *l = E->listeners; l; l = l->next) {
        if (l->id != c->listener_id) continue;
        dt_free(l->table);
        relay_counters_unref(l->counters);
        l->table = c->table;
        l->gen = c->gen;
        l->counters = c->counters;
        c->table = NULL;
        c->counters = NULL;
        break;
      }
      dt_free(c->table); /* the listener is gone */
      relay_counters_unref(c->counters);
      return;
    case CMD_TEST_ROUTE:
      for (struct listener *l = E->listeners; l; l = l->next) {
        if (l->id != c->listener_id) continue;
        l->use_routes = 1;
        if (c->addr.ss_family != AF_INET) return; /* only switches the listener to test routes */
        uint32_t i = 0;
        while (i < l->n_routes && l->routes[i].src != c->src_ip) i++;
        if (i == l->n_routes) {
          struct test_route *r = realloc(l->routes, (l->n_routes + 1) * sizeof *r);
          if (!r) return;
          l->routes = r;
          l->n_routes++;
        }
        l->routes[i].src = c->src_ip;
        memcpy(&l->routes[i].dst, &c->addr, sizeof l->routes[i].dst);
        return;
      }
      return;
    case CMD_DISCARD:
      p = id_map_get(&E->pairs, c->id);
      if (p) pair_end(p, END_TERMINATED, 0, 0);
      return;
    case CMD_RELEASE:
      p = id_map_get(&E->pairs, c->id);
      if (p && p->state == PS_ACCEPTED) {
        p->s[0].fd = -1; /* JavaScript owns it now */
        pair_end(p, END_TERMINATED, 0, 0);
      }
      return;
    case CMD_CLOSE:
      p = id_map_get(&E->pairs, c->id);
      if (p) pair_end(p, END_TERMINATED, 0, 1);
      return;
    case CMD_LISTEN: {
      struct listener *l = calloc(1, sizeof *l);
      l->id = c->listener_id;
      l->fd = c->fd_down;
      struct sockaddr_storage bound;
      socklen_t bl = sizeof bound;
      char text[ADDR_TEXT];
      if (getsockname(l->fd, (struct sockaddr *)&bound, &bl) == 0) format_addr(&bound, text, &l->port);
      l->next = E->listeners;
      E->listeners = l;
      struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(uintptr_t)l | TAG_LISTENER};
      epoll_ctl(E->ep, EPOLL_CTL_ADD, l->fd, &ev);
      return;
    }
    case CMD_UNLISTEN:
      for (struct listener **pl = &E->listeners; *pl; pl = &(*pl)->next) {
        if ((*pl)->id != c->listener_id) continue;
        struct listener *l = *pl;
        *pl = l->next;
        close(l->fd); /* also leaves the epoll set */
        l->fd = -1;   /* an event of this batch may still name it: freed after the batch */
        l->next = E->dead_listeners;
        E->dead_listeners = l;
        return;
      }
      return;
    case CMD_STOP:
      E->stopping = 1;
      return;
  }
}

static void run_commands(void) {
  uint64_t v;
  if (read(E->wake_fd, &v, sizeof v) < 0) { /* nothing pending */
  }
  pthread_mutex_lock(&E->lock);
  struct relay_cmd *c = E->cmd_head;
  E->cmd_head = E->cmd_tail = NULL;
  pthread_mutex_unlock(&E->lock);
  while (c) {
    struct relay_cmd *next = c->next;
    run_command(c);
    free(c);
    c = next;
  }
}

/* ---- timers ---- */

static void sweep(void) {
  int64_t now = E->now_ms;
  E->next_check = 0;
  for (struct pair *p = E->live, *next; p; p = next) {
    next = p->next;
    if (p->state == PS_CONNECTING) {
      if (now >= p->connect_deadline) {
        pair_end(p, END_CONNECT_TIMEOUT, 0, 1);
        continue;
      }
      schedule(p->connect_deadline);
    } else if (p->state == PS_RELAYING && p->idle_ms) {
      if (now >= p->last_ms + p->idle_ms) {
        pair_end(p, END_IDLE_TIMEOUT, 0, 1);
        continue;
      }
      schedule(p->last_ms + p->idle_ms);
    }
    if (p->max_ms && p->state != PS_ACCEPTED) {
      if (now >= p->start_ms + p->max_ms) {
        pair_end(p, END_MAX_DURATION, 0, 1);
        continue;
      }
      schedule(p->start_ms + p->max_ms);
    }
  }
}

/* ---- the thread ---- */

static void *engine_main(void *arg) {
  E = arg;
  struct epoll_event evs[MAX_EVENTS];
  E->buf = take_buffer();
  while (!E->stopping) {
    E->now_ms = clock_ms();
    int timeout = -1;
    if (E->again_count) timeout = 0;
    else if (E->next_check) timeout = E->next_check > E->now_ms ? (int)(E->next_check - E->now_ms) + 1 : 0;
    if (E->out.count && (timeout < 0 || timeout > REPORT_DELAY_MS)) timeout = REPORT_DELAY_MS;
    int n = epoll_wait(E->ep, evs, MAX_EVENTS, timeout);
    E->now_ms = clock_ms();
    /* Commands first: a table or test route submitted before a client connected applies to it. */
    for (int i = 0; i < n; i++)
      if ((unsigned)(evs[i].data.u64 & 3u) == TAG_WAKE) run_commands();
    for (int i = 0; i < n; i++) {
      uint64_t data = evs[i].data.u64;
      unsigned tag = (unsigned)(data & 3u);
      void *ptr = (void *)(uintptr_t)(data & ~(uint64_t)3u);
      if (tag == TAG_WAKE) continue;
      else if (tag == TAG_LISTENER) accept_some(ptr);
      else on_pair_event(ptr, (int)tag, evs[i].events);
    }
    hand_off();
    if (E->again_count) {
      uint32_t count = E->again_count;
      struct again *list = malloc(count * sizeof *list);
      memcpy(list, E->again, count * sizeof *list);
      E->again_count = 0;
      for (uint32_t i = 0; i < count; i++) pump(list[i].p, list[i].d);
      free(list);
    }
    if (E->next_check && E->now_ms >= E->next_check) sweep();
    while (E->grave) {
      struct pair *p = E->grave;
      E->grave = p->grave_next;
      free(p);
    }
    while (E->dead_listeners) {
      struct listener *l = E->dead_listeners;
      E->dead_listeners = l->next;
      listener_free(l);
    }
    if (E->out.count) {
      if (!E->events_since) E->events_since = E->now_ms;
      if (E->out.count >= REPORT_BATCH || E->now_ms - E->events_since >= REPORT_DELAY_MS || E->ask_js) {
        flush_events();
        E->events_since = 0;
        E->ask_js = 0;
      }
    }
  }
  /* Stopping: every remaining pair ends, every listener closes. */
  for (struct pair *p = E->live, *next; p; p = next) {
    next = p->next;
    pair_end(p, END_ENGINE_STOPPED, 0, p->state != PS_ACCEPTED);
  }
  while (E->grave) {
    struct pair *p = E->grave;
    E->grave = p->grave_next;
    free(p);
  }
  while (E->dead_listeners) {
    struct listener *l = E->dead_listeners;
    E->dead_listeners = l->next;
    listener_free(l);
  }
  while (E->listeners) {
    struct listener *l = E->listeners;
    E->listeners = l->next;
    close(l->fd);
    listener_free(l);
  }
  flush_events();
  free(E->buf);
  E->buf = NULL;
  while (E->free_count) free(E->free_bufs[--E->free_count]);
  free(E->again);
  E->again = NULL;
  E->again_count = E->again_cap = 0;
  free(E->pairs.slots);
  memset(&E->pairs, 0, sizeof E->pairs);
  return NULL;
}

uint64_t relay_engine_next_id(void) { return __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED); }

int relay_engine_running(void) { return running; }

int relay_engine_threads(void) { return thread_count; }

static void close_engine_fds(struct engine *e) {
  close(e->ep);
  close(e->wake_fd);
}

int relay_engine_start(relay_emit_fn emit, void *ctx, int threads) {
  if (running) return 0;
  if (threads < 1) threads = 1;
  if (threads > RELAY_MAX_THREADS) threads = RELAY_MAX_THREADS;
  emit_fn = emit;
  emit_ctx = ctx;
  for (int t = 0; t < threads; t++) {
    struct engine *e = &engines[t];
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->lock, NULL);
    e->index = t;
    e->ep = epoll_create1(EPOLL_CLOEXEC);
    e->wake_fd = e->ep < 0 ? -1 : eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e->wake_fd < 0) {
      int err = errno;
      if (e->ep >= 0) close(e->ep);
      for (int u = 0; u < t; u++) close_engine_fds(&engines[u]);
      return -err;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_WAKE};
    epoll_ctl(e->ep, EPOLL_CTL_ADD, e->wake_fd, &ev);
    e->now_ms = clock_ms();
  }
  thread_count = threads;
  for (int t = 0; t < threads; t++) {
    int rc = pthread_create(&engines[t].thread, NULL, engine_main, &engines[t]);
    if (rc) {
      for (int u = 0; u < t; u++) {
        struct relay_cmd *c = calloc(1, sizeof *c);
        c->type = CMD_STOP;
        submit_chain(&engines[u], c);
        pthread_join(engines[u].thread, NULL);
      }
      for (int u = 0; u < threads; u++) close_engine_fds(&engines[u]);
      return -rc;
    }
  }
  running = 1;
  return 0;
}

static void submit_chain(struct engine *e, struct relay_cmd *head) {
  struct relay_cmd *tail = head;
  while (tail->next) tail = tail->next;
  pthread_mutex_lock(&e->lock);
  int was_empty = e->cmd_head == NULL;
  if (e->cmd_tail) e->cmd_tail->next = head;
  else __atomic_store_n(&e->cmd_head, head, __ATOMIC_RELEASE);
  e->cmd_tail = tail;
  pthread_mutex_unlock(&e->lock);
  if (was_empty) {
    uint64_t one = 1;
    if (write(e->wake_fd, &one, sizeof one) < 0) { /* the counter is already non-zero */
    }
  }
}

void relay_engine_submit(struct relay_cmd *cmd) {
  cmd->next = NULL;
  int t = 0;
  if (cmd->type != CMD_LISTEN && cmd->type != CMD_UNLISTEN && cmd->type != CMD_STOP && cmd->type != CMD_TABLE &&
      cmd->type != CMD_TEST_ROUTE)
    t = (int)(cmd->id % (uint64_t)thread_count);
  submit_chain(&engines[t], cmd);
}

static void free_commands(struct relay_cmd *rest) {
  while (rest) {
    struct relay_cmd *next = rest->next;
    if (rest->type == CMD_ADOPT) {
      close(rest->fd_down);
      close(rest->fd_up);
    } else if (rest->type == CMD_LISTEN || rest->type == CMD_OWN) {
      close(rest->fd_down);
    }
    if (rest->type == CMD_OWN && rest->counters) __atomic_sub_fetch(&rest->counters->v[rest->slot], 1, __ATOMIC_RELAXED);
    relay_counters_unref(rest->counters);
    dt_free(rest->table);
    free(rest->initial);
    free(rest);
    rest = next;
  }
}

void relay_engine_stop(void) {
  if (!running) return;
  /* Engine 0 first: once it has stopped nothing hands pairs to the others. */
  for (int t = 0; t < thread_count; t++) {
    struct relay_cmd *c = calloc(1, sizeof *c);
    c->type = CMD_STOP;
    submit_chain(&engines[t], c);
    pthread_join(engines[t].thread, NULL);
  }
  for (int t = 0; t < thread_count; t++) {
    struct engine *e = &engines[t];
    /* Commands that arrived after the stop: free them (their fds are closed). */
    free_commands(e->cmd_head);
    e->cmd_head = e->cmd_tail = NULL;
    close_engine_fds(e);
    pthread_mutex_destroy(&e->lock);
  }
  running = 0;
}
