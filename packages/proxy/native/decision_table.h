/* The egress decision table, compiled in TypeScript (src/native/native-table.ts) and handed to the
 * relay thread that accepts, so it can decide an IPv4 connection and connect it without a round
 * trip through the JavaScript event loop. It mirrors decideEgress (src/decision/table.ts) for what
 * needs no ClientHello; every other case answers DT_ASK_JS and JavaScript decides as before.
 *
 * Layout of the Int32Array TypeScript passes (all values int32):
 *   header  [version=1, capture_port, capture_idx, no_filter_idx, virtual_default_idx,
 *            n_decisions, n_endpoints, n_port_tables]
 *   decision × n_decisions: [action, slot, max_conn, connect_ms, idle_ms, max_ms, keepalive_s,
 *                            ep_start, ep_count, 0]
 *   endpoint × n_endpoints: [ipv4 (host order), port]
 *   port table × n_port_tables: [kind, port, port_only_plain, claims_all, default_idx, n_hosts,
 *                                n_cidrs], then n_hosts × [ipv4, plain, fallback],
 *                                then n_cidrs × [ipv4, prefix_len, plain, fallback] (longest first)
 * port_only_plain is INT32_MIN when the port has no chains without an address match.
 * kind: 0 per-port outbound listener, 1 virtualOutbound chains of one port, 2 virtualOutbound chains
 * of any port. plain: a decision index, DT_NONE (no chain of the group matches) or DT_ASK_JS (the
 * group tells chains apart by SNI/transport). fallback / default_idx: decision index or DT_NONE. */
#ifndef SLUICE_DECISION_TABLE_H
#define SLUICE_DECISION_TABLE_H

#include <stdint.h>

#define DT_NONE (-1)
#define DT_ASK_JS (-2)

/* What the relay thread does with a decided connection. */
enum dt_action {
  DA_JS = 0,        /* JavaScript serves it (HTTP chain, weighted clusters, host names, no endpoint…) */
  DA_BLACKHOLE = 1, /* close at once */
  DA_ORIGINAL = 2,  /* connect to the original destination */
  DA_ENDPOINTS = 3  /* connect to the decision's endpoints, round robin */
};

struct dt_decision {
  int32_t action, slot, max_conn, connect_ms, idle_ms, max_ms, keepalive_s, ep_start, ep_count;
  uint32_t rr; /* round-robin cursor (accepting thread only) */
};

struct dt_endpoint {
  uint32_t ip;
  int32_t port;
};

struct dt_group {
  int32_t plain, fallback;
};

struct dt_cidr {
  uint32_t ip, mask;
  struct dt_group g;
};

struct dt_port_table {
  int32_t port;
  int32_t port_only; /* plain of the port-only group; INT32_MIN: none */
  int32_t claims_all, default_idx;
  uint32_t host_mask; /* hash of exact addresses: capacity host_mask + 1 (power of two), 0 when empty */
  uint32_t *host_keys;
  struct dt_group *host_vals; /* plain == INT32_MIN marks an empty slot */
  uint32_t n_cidrs;
  struct dt_cidr *cidrs;
};

struct dt_table {
  int32_t capture_port, capture_idx, no_filter_idx, virtual_default_idx;
  uint32_t n_decisions, n_endpoints;
  struct dt_decision *decisions;
  struct dt_endpoint *endpoints;
  /* sorted by port */
  uint32_t n_outbound, n_virtual;
  struct dt_port_table *outbound, *virtual_ports;
  struct dt_port_table *virtual_any; /* NULL when none */
  struct dt_port_table *all;         /* backing array of every port table */
  uint32_t n_all;
};

/* Builds a table from the layout above; NULL (and *why set) when it is malformed. */
struct dt_table *dt_build(const int32_t *spec, uint32_t len, const char **why);
void dt_free(struct dt_table *t);
/* The decision index for an IPv4 destination (host order), or DT_ASK_JS. */
int32_t dt_decide(const struct dt_table *t, uint32_t ip, int port);

#endif
