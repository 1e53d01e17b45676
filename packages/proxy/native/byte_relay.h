/* The native byte path of the Sluice proxy: one or more epoll threads per process (the first
 * accepts captured connections and hands each to the thread its id names) that connect upstream
 * and relay bytes both ways (recv/send through one reused buffer; a direction that cannot write
 * parks its buffer and stops reading, so backpressure holds by construction). The accepting thread
 * decides a connection itself when its listener holds a decision table compiled by TypeScript
 * (decision_table.h) and the table can answer; otherwise TypeScript decides and says what to do.
 * Every connection is reported either way. See byte_relay_engine.c (threads) and
 * byte_relay_napi.c (the JavaScript surface). */
#ifndef SLUICE_BYTE_RELAY_H
#define SLUICE_BYTE_RELAY_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#define RELAY_BUF_SIZE (256 * 1024)
#define ADDR_TEXT 64
#define RELAY_MAX_THREADS 16

enum pair_state { PS_ACCEPTED = 0, PS_CONNECTING = 1, PS_RELAYING = 2 };

/* Why a pair ended (mirrored in src/native/byte-engine.ts). */
enum end_reason {
  END_CLOSED = 0,          /* both directions finished (FIN each way) */
  END_CONNECT_TIMEOUT = 1, /* upstream connect did not complete in time */
  END_CONNECT_ERROR = 2,   /* upstream connect failed (errno) */
  END_IDLE_TIMEOUT = 3,    /* no byte either way for idle_ms */
  END_MAX_DURATION = 4,    /* the connection lived max_ms */
  END_TERMINATED = 5,      /* JavaScript asked to close it */
  END_IO_ERROR = 6,        /* a read or write failed (reset, broken pipe) */
  END_ENGINE_STOPPED = 7   /* the engine stopped */
};

enum event_type { EV_ACCEPTED = 1, EV_ENDED = 2 };

/* relay_event.flags of an accept decided on the relay thread */
enum accept_flags { AF_BLACKHOLED = 1, AF_OVERFLOW = 2, AF_CONNECTING = 4 };

/* Open upstream connections per cluster slot, shared with JavaScript (an external ArrayBuffer that
 * src/upstream/cluster-table.ts counts in too); freed when JavaScript and every user let go. */
struct relay_counters {
  int refs;
  uint32_t n;
  int32_t *v;
};
struct relay_counters *relay_counters_new(uint32_t n);
void relay_counters_ref(struct relay_counters *c);
void relay_counters_unref(struct relay_counters *c);

struct dt_table;

/* One report to JavaScript. Strings are formatted on the relay thread. */
struct relay_event {
  int type;
  uint64_t id;
  /* EV_ACCEPTED */
  int listener_id;
  int fd;
  char peer[ADDR_TEXT];
  int peer_port;
  char local[ADDR_TEXT];
  int local_port;
  char odst[ADDR_TEXT];
  int odst_port;
  int odst_family; /* 0: not redirected */
  /* decided on the relay thread: the decision index in table generation `gen`, else -1 */
  int32_t decided, gen, ep, flags;
  /* EV_ENDED */
  int reason;
  int err;
  double bytes_down_up;
  double bytes_up_down;
  char up_local[ADDR_TEXT];
};

struct event_batch {
  struct relay_event *ev;
  uint32_t count, cap;
};

enum cmd_type {
  CMD_CONNECT,
  CMD_DISCARD,  /* close an accepted, undecided connection without a report */
  CMD_RELEASE,  /* forget an accepted connection: JavaScript owns its fd now */
  CMD_CLOSE,    /* terminate a connecting or relaying pair (reported: END_TERMINATED) */
  CMD_ADOPT,    /* relay two already connected fds (dup'ed on the JavaScript thread) */
  CMD_LISTEN,   /* start accepting on a listening fd */
  CMD_UNLISTEN, /* stop accepting and close the listening fd */
  CMD_STOP,
  CMD_OWN,       /* engine 0 hands an accepted connection to the engine that owns its id */
  CMD_TABLE,     /* a listener's decision table (NULL: JavaScript decides) */
  CMD_TEST_ROUTE /* tests: the original destination of connections from a source address */
};

struct relay_cmd {
  int type;
  uint64_t id;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  uint32_t connect_ms, idle_ms, max_ms;
  int keepalive_s; /* -1: leave keepalive off */
  char *initial;   /* bytes to send upstream first (malloc'ed), or NULL */
  uint32_t initial_len;
  int fd_down, fd_up;
  int listener_id;
  /* CMD_OWN with connect_now: connect at once (decided on the accepting thread) */
  int connect_now;
  int32_t slot;
  struct relay_counters *counters; /* CMD_OWN, CMD_TABLE: one reference each */
  struct dt_table *table;          /* CMD_TABLE */
  int32_t gen;                     /* CMD_TABLE */
  uint32_t src_ip;                 /* CMD_TEST_ROUTE (host order) */
  struct relay_cmd *next;
};

/* Engine lifecycle and commands, callable from the JavaScript thread. */
typedef void (*relay_emit_fn)(struct event_batch *batch, void *ctx);

/* threads: relay threads (1..RELAY_MAX_THREADS); engine 0 accepts, pair id % threads relays. */
int relay_engine_start(relay_emit_fn emit, void *ctx, int threads);
int relay_engine_threads(void);
void relay_engine_stop(void);
int relay_engine_running(void);
void relay_engine_submit(struct relay_cmd *cmd);
uint64_t relay_engine_next_id(void);

#endif
