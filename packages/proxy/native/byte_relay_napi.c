/* The JavaScript surface of the byte relay (wrapped by src/native/byte-engine.ts):
 *   start(onEvents, threads?)           starts the relay threads (default 1); onEvents(nums, strs) gets each batch
 *   stop()                              ends every pair and listener, joins the thread
 *   listen(host, port, backlog)         -> [listenerId, port]  (throws with code EADDRINUSE…)
 *   unlisten(listenerId)
 *   connect(id, host, port, connectMs, idleMs, maxMs, keepaliveSec, initial?) -> false if host is no IP
 *   discard(id) / release(id) / close(id)
 *   adopt(downFd, upFd, idleMs, maxMs, initial?) -> id   (dup()s both fds; the caller closes its own)
 *   ref() / unref()                     whether the thread keeps the event loop alive */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "byte_relay.h"
#include "decision_table.h"

static napi_threadsafe_function tsfn;
static int next_listener_id = 1;

#define CHECK(call)                                                         \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error(env, "ERR_SLUICE_BYTE_RELAY", "N-API call failed"); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

/* A string for `text`, the one made for the previous event when the text is the same (a
 * workload's connections share their local and remote addresses). */
struct str_cache {
  char text[ADDR_TEXT];
  napi_value value;
};

static napi_value cached_str(napi_env env, struct str_cache *c, const char *text) {
  if (c->value && !strcmp(c->text, text)) return c->value;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &c->value);
  snprintf(c->text, sizeof c->text, "%s", text);
  return c->value;
}

/* One batch as onEvents(nums: Float64Array, strs: string[]): EVENT_NUMS numbers and EVENT_STRS
 * strings per event (layout in src/native/byte-engine.ts), no object per event. */
#define EVENT_NUMS 12
#define EVENT_STRS 3
static void call_js(napi_env env, napi_value cb, void *ctx, void *data) {
  (void)ctx;
  struct event_batch *b = data;
  if (env && cb) {
    napi_value ab, nums, strs, undef, argv[2];
    double *n = NULL;
    /* At teardown (the environment going away) these fail: the batch is dropped. */
    if (napi_create_arraybuffer(env, (size_t)b->count * EVENT_NUMS * sizeof(double), (void **)&n, &ab) != napi_ok ||
        !n ||
        napi_create_typedarray(env, napi_float64_array, (size_t)b->count * EVENT_NUMS, ab, 0, &nums) != napi_ok ||
        napi_create_array_with_length(env, (size_t)b->count * EVENT_STRS, &strs) != napi_ok) {
      free(b->ev);
      free(b);
      return;
    }
    struct str_cache peer = {{0}, NULL}, local = {{0}, NULL}, odst = {{0}, NULL}, up = {{0}, NULL};
    for (uint32_t i = 0; i < b->count; i++) {
      struct relay_event *e = &b->ev[i];
      double *o = n + (size_t)i * EVENT_NUMS;
      o[0] = e->type;
      o[1] = (double)e->id;
      if (e->type == EV_ACCEPTED) {
        o[2] = e->listener_id;
        o[3] = e->fd;
        o[4] = e->peer_port;
        o[5] = e->local_port;
        o[6] = e->odst_family;
        o[7] = e->odst_family ? e->odst_port : 0;
        o[8] = e->decided;
        o[9] = e->gen;
        o[10] = e->ep;
        o[11] = e->flags;
        napi_set_element(env, strs, i * EVENT_STRS, cached_str(env, &peer, e->peer));
        napi_set_element(env, strs, i * EVENT_STRS + 1, cached_str(env, &local, e->local));
        if (e->odst_family) napi_set_element(env, strs, i * EVENT_STRS + 2, cached_str(env, &odst, e->odst));
      } else {
        o[2] = e->reason;
        o[3] = e->err;
        o[4] = e->bytes_down_up;
        o[5] = e->bytes_up_down;
        for (int k = 6; k < EVENT_NUMS; k++) o[k] = 0;
        if (e->up_local[0]) napi_set_element(env, strs, i * EVENT_STRS, cached_str(env, &up, e->up_local));
      }
    }
    napi_get_undefined(env, &undef);
    argv[0] = nums;
    argv[1] = strs;
    napi_call_function(env, undef, cb, 2, argv, NULL);
  }
  free(b->ev);
  free(b);
}

static void emit(struct event_batch *b, void *ctx) {
  (void)ctx;
  if (napi_call_threadsafe_function(tsfn, b, napi_tsfn_nonblocking) != napi_ok) {
    free(b->ev);
    free(b);
  }
}

static void stop_engine(void) {
  if (!relay_engine_running()) return;
  relay_engine_stop();
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  tsfn = NULL;
}

static void cleanup_hook(void *arg) {
  (void)arg;
  stop_engine();
}

static int get_u32(napi_env env, napi_value v, uint32_t *out);

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t threads = 1;
  if (argc > 1 && !get_u32(env, argv[1], &threads)) threads = 1;
  if (relay_engine_running()) {
    napi_throw_error(env, "ERR_SLUICE_BYTE_RELAY_RUNNING", "the byte relay is already running");
    return NULL;
  }
  CHECK(napi_create_string_utf8(env, "sluice-byte-relay", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &tsfn));
  napi_unref_threadsafe_function(env, tsfn);
  int rc = relay_engine_start(emit, NULL, (int)threads);
  if (rc < 0) {
    napi_release_threadsafe_function(tsfn, napi_tsfn_abort);
    tsfn = NULL;
    napi_throw_error(env, "ERR_SLUICE_BYTE_RELAY_START", strerror(-rc));
  }
  return NULL;
}

static napi_value js_stop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  stop_engine();
  return NULL;
}

static napi_value js_ref(napi_env env, napi_callback_info info) {
  (void)info;
  if (tsfn) napi_ref_threadsafe_function(env, tsfn);
  return NULL;
}

static napi_value js_unref(napi_env env, napi_callback_info info) {
  (void)info;
  if (tsfn) napi_unref_threadsafe_function(env, tsfn);
  return NULL;
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    return 1;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return 1;
  }
  return 0;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0) return 0;
  *out = d > 4294967295.0 ? 4294967295u : (uint32_t)d;
  return 1;
}

static int get_id(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 1) return 0;
  *out = (uint64_t)d;
  return 1;
}

static int get_initial(napi_env env, napi_value v, char **data, uint32_t *len) {
  napi_valuetype t;
  *data = NULL;
  *len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_undefined || t == napi_null) return 1;
  void *p;
  size_t n;
  if (napi_get_buffer_info(env, v, &p, &n) != napi_ok) return 0;
  if (!n) return 1;
  *data = malloc(n);
  memcpy(*data, p, n);
  *len = (uint32_t)n;
  return 1;
}

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  const char *code = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EAFNOSUPPORT ? "EAFNOSUPPORT" : "ERR_SLUICE_BYTE_RELAY_SYSCALL";
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
}

static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char host[ADDR_TEXT];
  uint32_t port, backlog;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, NULL) != napi_ok ||
      !get_u32(env, argv[1], &port) || !get_u32(env, argv[2], &backlog)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "listen(host, port, backlog)");
    return NULL;
  }
  if (!relay_engine_running()) {
    napi_throw_error(env, "ERR_SLUICE_BYTE_RELAY_STOPPED", "the byte relay is not running");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t len;
  if (!parse_addr(host, (int)port, &ss, &len)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "listen: host must be an IP address");
    return NULL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, (int)backlog) < 0) {
    int err = errno;
    close(fd);
    throw_errno(env, "listen", err);
    return NULL;
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bl);
  int bound_port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                    : ((struct sockaddr_in6 *)&bound)->sin6_port);
  struct relay_cmd *c = calloc(1, sizeof *c);
  c->type = CMD_LISTEN;
  c->listener_id = next_listener_id++;
  c->fd_down = fd;
  int id = c->listener_id;
  relay_engine_submit(c);
  napi_value out, a, b;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, id, &a);
  napi_create_int32(env, bound_port, &b);
  napi_set_element(env, out, 0, a);
  napi_set_element(env, out, 1, b);
  return out;
}

static napi_value js_unlisten(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t id;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &id) != napi_ok) return NULL;
  if (!relay_engine_running()) return NULL;
  struct relay_cmd *c = calloc(1, sizeof *c);
  c->type = CMD_UNLISTEN;
  c->listener_id = id;
  relay_engine_submit(c);
  return NULL;
}

static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], result;
  char host[ADDR_TEXT];
  uint64_t id;
  uint32_t port, connect_ms, idle_ms, max_ms;
  int32_t keepalive;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8 || !get_id(env, argv[0], &id) ||
      napi_get_value_string_utf8(env, argv[1], host, sizeof host, NULL) != napi_ok || !get_u32(env, argv[2], &port) ||
      !get_u32(env, argv[3], &connect_ms) || !get_u32(env, argv[4], &idle_ms) || !get_u32(env, argv[5], &max_ms) ||
      napi_get_value_int32(env, argv[6], &keepalive) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                          "connect(id, host, port, connectMs, idleMs, maxMs, keepaliveSec, initial)");
    return NULL;
  }
  struct relay_cmd *c = calloc(1, sizeof *c);
  if (!parse_addr(host, (int)port, &c->addr, &c->addr_len) || !get_initial(env, argv[7], &c->initial, &c->initial_len)) {
    free(c);
    napi_get_boolean(env, 0, &result);
    return result;
  }
  c->type = CMD_CONNECT;
  c->id = id;
  c->connect_ms = connect_ms;
  c->idle_ms = idle_ms;
  c->max_ms = max_ms;
  c->keepalive_s = keepalive;
  relay_engine_submit(c);
  napi_get_boolean(env, 1, &result);
  return result;
}

static napi_value simple_cmd(napi_env env, napi_callback_info info, int type) {
  size_t argc = 1;
  napi_value argv[1];
  uint64_t id;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_id(env, argv[0], &id)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "a connection id is required");
    return NULL;
  }
  if (!relay_engine_running()) return NULL;
  struct relay_cmd *c = calloc(1, sizeof *c);
  c->type = type;
  c->id = id;
  relay_engine_submit(c);
  return NULL;
}

static napi_value js_discard(napi_env env, napi_callback_info info) { return simple_cmd(env, info, CMD_DISCARD); }
static napi_value js_release(napi_env env, napi_callback_info info) { return simple_cmd(env, info, CMD_RELEASE); }
static napi_value js_close(napi_env env, napi_callback_info info) { return simple_cmd(env, info, CMD_CLOSE); }

static napi_value js_adopt(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], out;
  int32_t down, up;
  uint32_t idle_ms, max_ms;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || napi_get_value_int32(env, argv[0], &down) != napi_ok ||
      napi_get_value_int32(env, argv[1], &up) != napi_ok || !get_u32(env, argv[2], &idle_ms) ||
      !get_u32(env, argv[3], &max_ms) || down < 0 || up < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "adopt(downFd, upFd, idleMs, maxMs, initial)");
    return NULL;
  }
  if (!relay_engine_running()) {
    napi_throw_error(env, "ERR_SLUICE_BYTE_RELAY_STOPPED", "the byte relay is not running");
    return NULL;
  }
  struct relay_cmd *c = calloc(1, sizeof *c);
  if (!get_initial(env, argv[4], &c->initial, &c->initial_len)) {
    free(c);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "adopt: initial must be a Buffer");
    return NULL;
  }
  c->fd_down = fcntl(down, F_DUPFD_CLOEXEC, 0);
  c->fd_up = c->fd_down < 0 ? -1 : fcntl(up, F_DUPFD_CLOEXEC, 0);
  if (c->fd_down < 0 || c->fd_up < 0) {
    int err = errno;
    if (c->fd_down >= 0) close(c->fd_down);
    free(c->initial);
    free(c);
    throw_errno(env, "dup", err);
    return NULL;
  }
  fcntl(c->fd_down, F_SETFL, fcntl(c->fd_down, F_GETFL) | O_NONBLOCK);
  fcntl(c->fd_up, F_SETFL, fcntl(c->fd_up, F_GETFL) | O_NONBLOCK);
  c->type = CMD_ADOPT;
  c->id = relay_engine_next_id();
  c->idle_ms = idle_ms;
  c->max_ms = max_ms;
  double id = (double)c->id;
  relay_engine_submit(c);
  napi_create_double(env, id, &out);
  return out;
}

static int get_table_spec(napi_env env, napi_value v, int32_t **data, uint32_t *len) {
  napi_typedarray_type type;
  size_t n;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, &n, &p, NULL, NULL) != napi_ok || type != napi_int32_array) return 0;
  *data = p;
  *len = (uint32_t)n;
  return 1;
}

static void counters_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  relay_counters_unref(hint);
}

/* createCounters(n) -> { buffer: ArrayBuffer (n int32), handle } : open connections per cluster slot. */
static napi_value js_create_counters(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], buf, handle, out;
  uint32_t n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !get_u32(env, argv[0], &n) || n == 0 || n > (1u << 24)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "createCounters(slots)");
    return NULL;
  }
  struct relay_counters *c = relay_counters_new(n);
  if (!c) {
    napi_throw_error(env, "ERR_SLUICE_BYTE_RELAY", "out of memory");
    return NULL;
  }
  /* One reference for the ArrayBuffer (dropped by its finalizer), one for the handle. */
  relay_counters_ref(c);
  CHECK(napi_create_external_arraybuffer(env, c->v, (size_t)n * sizeof *c->v, counters_finalize, c, &buf));
  CHECK(napi_create_external(env, c, counters_finalize, c, &handle));
  CHECK(napi_create_object(env, &out));
  napi_set_named_property(env, out, "buffer", buf);
  napi_set_named_property(env, out, "handle", handle);
  return out;
}

/* setTable(listenerId, gen, spec: Int32Array | null, countersHandle | null) */
/* Builds the decision table from its spec; on failure throws ERR_SLUICE_DECISION_TABLE and returns NULL. */
static struct dt_table *build_table(napi_env env, const int32_t *spec, uint32_t len) {
  const char *why = NULL;
  struct dt_table *t = dt_build(spec, len, &why);
  if (!t) napi_throw_error(env, "ERR_SLUICE_DECISION_TABLE", why ? why : "out of memory");
  return t;
}

static napi_value js_set_table(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t listener, gen;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || napi_get_value_int32(env, argv[0], &listener) != napi_ok ||
      napi_get_value_int32(env, argv[1], &gen) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "setTable(listenerId, gen, spec, counters)");
    return NULL;
  }
  struct dt_table *table = NULL;
  int32_t *spec;
  uint32_t len;
  if (get_table_spec(env, argv[2], &spec, &len)) {
    table = build_table(env, spec, len);
    if (!table) return NULL;
  }
  struct relay_counters *counters = NULL;
  void *ext;
  if (napi_get_value_external(env, argv[3], &ext) == napi_ok) counters = ext;
  if (!relay_engine_running()) {
    dt_free(table);
    return NULL;
  }
  struct relay_cmd *c = calloc(1, sizeof *c);
  c->type = CMD_TABLE;
  c->listener_id = listener;
  c->gen = gen;
  c->table = table;
  c->counters = table ? counters : NULL;
  relay_counters_ref(c->counters);
  relay_engine_submit(c);
  return NULL;
}

/* testRoutes(listenerId, sourceIp?, dstIp?, dstPort?): the listener takes original destinations from
 * routes by source address (tests); with a source, adds or replaces that route (IPv4 only). */
static napi_value js_test_route(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t listener;
  char src[ADDR_TEXT], dst[ADDR_TEXT];
  uint32_t port = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &listener) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "testRoute(listenerId, source, dst, port)");
    return NULL;
  }
  if (!relay_engine_running()) return NULL;
  struct relay_cmd *c = calloc(1, sizeof *c);
  c->type = CMD_TEST_ROUTE;
  c->listener_id = listener;
  if (argc >= 4 && napi_get_value_string_utf8(env, argv[1], src, sizeof src, NULL) == napi_ok &&
      napi_get_value_string_utf8(env, argv[2], dst, sizeof dst, NULL) == napi_ok && get_u32(env, argv[3], &port)) {
    struct in_addr s4;
    struct sockaddr_in *a = (struct sockaddr_in *)&c->addr;
    if (inet_pton(AF_INET, src, &s4) == 1 && inet_pton(AF_INET, dst, &a->sin_addr) == 1) {
      c->src_ip = ntohl(s4.s_addr);
      a->sin_family = AF_INET;
      a->sin_port = htons((uint16_t)port);
    }
  }
  relay_engine_submit(c);
  return NULL;
}

/* decideForTesting(spec: Int32Array, ipv4 (uint32), port) -> decision index or -2 (JavaScript decides) */
static napi_value js_decide_for_testing(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int32_t *spec;
  uint32_t len, ip, port;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !get_table_spec(env, argv[0], &spec, &len) || !get_u32(env, argv[1], &ip) ||
      !get_u32(env, argv[2], &port)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "decideForTesting(spec, ip, port)");
    return NULL;
  }
  struct dt_table *t = build_table(env, spec, len);
  if (!t) return NULL;
  int32_t idx = dt_decide(t, ip, (int)port);
  dt_free(t);
  napi_create_int32(env, idx, &out);
  return out;
}

/* decideManyForTesting(spec, ips: Uint32Array, ports: Int32Array, lookups) -> ns spent on `lookups`
 * lookups cycling through the destinations (the table is built once, outside the timing). Bench. */
static napi_value js_decide_many_for_testing(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  int32_t *spec;
  uint32_t len, lookups;
  napi_typedarray_type t1, t2;
  size_t n_ips, n_ports;
  void *ips, *ports;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !get_table_spec(env, argv[0], &spec, &len) ||
      napi_get_typedarray_info(env, argv[1], &t1, &n_ips, &ips, NULL, NULL) != napi_ok || t1 != napi_uint32_array ||
      napi_get_typedarray_info(env, argv[2], &t2, &n_ports, &ports, NULL, NULL) != napi_ok || t2 != napi_int32_array ||
      n_ips != n_ports || n_ips == 0 || !get_u32(env, argv[3], &lookups)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "decideManyForTesting(spec, ips, ports, lookups)");
    return NULL;
  }
  struct dt_table *t = build_table(env, spec, len);
  if (!t) return NULL;
  const uint32_t *ip = ips;
  const int32_t *port = ports;
  struct timespec a, b;
  volatile int64_t sink = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (uint32_t i = 0, k = 0; i < lookups; i++) {
    sink += dt_decide(t, ip[k], port[k]);
    if (++k == n_ips) k = 0;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  dt_free(t);
  napi_create_double(env, (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec), &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, js_stop, NULL, NULL, NULL, napi_default, NULL},
      {"ref", NULL, js_ref, NULL, NULL, NULL, napi_default, NULL},
      {"unref", NULL, js_unref, NULL, NULL, NULL, napi_default, NULL},
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_default, NULL},
      {"unlisten", NULL, js_unlisten, NULL, NULL, NULL, napi_default, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_default, NULL},
      {"discard", NULL, js_discard, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, js_release, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"adopt", NULL, js_adopt, NULL, NULL, NULL, napi_default, NULL},
      {"createCounters", NULL, js_create_counters, NULL, NULL, NULL, napi_default, NULL},
      {"setTable", NULL, js_set_table, NULL, NULL, NULL, napi_default, NULL},
      {"testRoute", NULL, js_test_route, NULL, NULL, NULL, napi_default, NULL},
      {"decideForTesting", NULL, js_decide_for_testing, NULL, NULL, NULL, napi_default, NULL},
      {"decideManyForTesting", NULL, js_decide_many_for_testing, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_add_env_cleanup_hook(env, cleanup_hook, NULL);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
