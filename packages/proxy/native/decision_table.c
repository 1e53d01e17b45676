/* The relay thread's copy of the egress decision table (see decision_table.h). */
#include "decision_table.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY_SLOT INT32_MIN
#define HEADER 8
#define DECISION_INTS 10

static uint32_t mix(uint32_t k) {
  /* the same spreading as src/decision/host-table.ts */
  uint32_t h = (k ^ (k >> 16)) * 0x45d9f3bu;
  h = (h ^ (h >> 16)) * 0x45d9f3bu;
  return h ^ (h >> 16);
}

void dt_free(struct dt_table *t) {
  if (!t) return;
  for (uint32_t i = 0; i < t->n_all; i++) {
    free(t->all[i].host_keys);
    free(t->all[i].host_vals);
    free(t->all[i].cidrs);
  }
  free(t->all);
  free(t->decisions);
  free(t->endpoints);
  free(t);
}

static int valid_idx(const struct dt_table *t, int32_t v, int allow_js) {
  if (v == DT_NONE) return 1;
  if (v == DT_ASK_JS) return allow_js;
  return v >= 0 && (uint32_t)v < t->n_decisions;
}

static int cmp_port(const void *a, const void *b) {
  return ((const struct dt_port_table *)a)->port - ((const struct dt_port_table *)b)->port;
}

struct dt_table *dt_build(const int32_t *spec, uint32_t len, const char **why) {
  *why = "malformed decision table";
  if (len < HEADER || spec[0] != 1) return NULL;
  struct dt_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->capture_port = spec[1];
  t->capture_idx = spec[2];
  t->no_filter_idx = spec[3];
  t->virtual_default_idx = spec[4];
  t->n_decisions = (uint32_t)spec[5];
  t->n_endpoints = (uint32_t)spec[6];
  uint32_t n_pt = (uint32_t)spec[7];
  uint64_t pos = HEADER;
  if (spec[5] < 0 || spec[6] < 0 || spec[7] < 0) goto bad;
  if (pos + (uint64_t)t->n_decisions * DECISION_INTS + (uint64_t)t->n_endpoints * 2 > len) goto bad;
  t->decisions = calloc(t->n_decisions ? t->n_decisions : 1, sizeof *t->decisions);
  t->endpoints = calloc(t->n_endpoints ? t->n_endpoints : 1, sizeof *t->endpoints);
  t->all = calloc(n_pt ? n_pt : 1, sizeof *t->all);
  if (!t->decisions || !t->endpoints || !t->all) goto bad;
  for (uint32_t i = 0; i < t->n_decisions; i++, pos += DECISION_INTS) {
    const int32_t *d = spec + pos;
    struct dt_decision *o = &t->decisions[i];
    o->action = d[0];
    o->slot = d[1];
    o->max_conn = d[2];
    o->connect_ms = d[3];
    o->idle_ms = d[4];
    o->max_ms = d[5];
    o->keepalive_s = d[6];
    o->ep_start = d[7];
    o->ep_count = d[8];
    if (o->action < DA_JS || o->action > DA_ENDPOINTS) goto bad;
    if (o->action == DA_ENDPOINTS &&
        (o->ep_start < 0 || o->ep_count <= 0 || (uint64_t)o->ep_start + (uint64_t)o->ep_count > t->n_endpoints))
      goto bad;
  }
  for (uint32_t i = 0; i < t->n_endpoints; i++, pos += 2) {
    t->endpoints[i].ip = (uint32_t)spec[pos];
    t->endpoints[i].port = spec[pos + 1];
  }
  if (!valid_idx(t, t->capture_idx, 0) || !valid_idx(t, t->no_filter_idx, 0) ||
      !valid_idx(t, t->virtual_default_idx, 0) || t->capture_idx < 0 || t->no_filter_idx < 0)
    goto bad;
  uint32_t n_out = 0, n_virt = 0;
  for (uint32_t i = 0; i < n_pt; i++) {
    if (pos + 7 > len) goto bad;
    const int32_t *h = spec + pos;
    struct dt_port_table *pt = &t->all[i];
    t->n_all = i + 1;
    int32_t kind = h[0];
    pt->port = h[1];
    pt->port_only = h[2];
    pt->claims_all = h[3];
    pt->default_idx = h[4];
    uint32_t n_hosts = (uint32_t)h[5], n_cidrs = (uint32_t)h[6];
    pos += 7;
    if (kind < 0 || kind > 2 || h[5] < 0 || h[6] < 0) goto bad;
    if (pt->port_only != EMPTY_SLOT && !valid_idx(t, pt->port_only, 1)) goto bad;
    if (!valid_idx(t, pt->default_idx, 0)) goto bad;
    if (pos + (uint64_t)n_hosts * 3 + (uint64_t)n_cidrs * 4 > len) goto bad;
    if (kind == 0) n_out++;
    else if (kind == 1) n_virt++;
    else if (t->virtual_any) goto bad;
    else t->virtual_any = pt;
    pt->port = kind == 2 ? -1 : pt->port;
    /* kind is kept in the sign of host_mask's neighbour: sort below groups by kind then port */
    pt->claims_all = (pt->claims_all ? 1 : 0) | (kind << 1);
    if (n_hosts) {
      uint32_t cap = 16;
      while (cap < n_hosts * 2) cap <<= 1;
      pt->host_mask = cap - 1;
      pt->host_keys = calloc(cap, sizeof *pt->host_keys);
      pt->host_vals = malloc(cap * sizeof *pt->host_vals);
      if (!pt->host_keys || !pt->host_vals) goto bad;
      for (uint32_t s = 0; s < cap; s++) pt->host_vals[s].plain = EMPTY_SLOT;
      for (uint32_t k = 0; k < n_hosts; k++, pos += 3) {
        uint32_t ip = (uint32_t)spec[pos];
        struct dt_group g = {spec[pos + 1], spec[pos + 2]};
        if (!valid_idx(t, g.plain, 1) || !valid_idx(t, g.fallback, 0)) goto bad;
        uint32_t s = mix(ip) & pt->host_mask;
        while (pt->host_vals[s].plain != EMPTY_SLOT && pt->host_keys[s] != ip) s = (s + 1) & pt->host_mask;
        pt->host_keys[s] = ip;
        pt->host_vals[s] = g;
      }
    }
    if (n_cidrs) {
      pt->cidrs = calloc(n_cidrs, sizeof *pt->cidrs);
      if (!pt->cidrs) goto bad;
      pt->n_cidrs = n_cidrs;
      int32_t last_len = 33;
      for (uint32_t k = 0; k < n_cidrs; k++, pos += 4) {
        int32_t plen = spec[pos + 1];
        if (plen < 0 || plen > 31 || plen > last_len) goto bad;
        last_len = plen;
        uint32_t mask = plen == 0 ? 0 : ~0u << (32 - plen);
        pt->cidrs[k].ip = (uint32_t)spec[pos] & mask;
        pt->cidrs[k].mask = mask;
        pt->cidrs[k].g.plain = spec[pos + 2];
        pt->cidrs[k].g.fallback = spec[pos + 3];
        if (!valid_idx(t, pt->cidrs[k].g.plain, 1) || !valid_idx(t, pt->cidrs[k].g.fallback, 0)) goto bad;
      }
    }
  }
  if (pos != len) goto bad;
  /* Port tables sorted: outbound ones by port, then virtual ones by port (binary search). */
  t->outbound = malloc((n_out ? n_out : 1) * sizeof *t->outbound);
  t->virtual_ports = malloc((n_virt ? n_virt : 1) * sizeof *t->virtual_ports);
  if (!t->outbound || !t->virtual_ports) goto bad_sorted;
  {
    uint32_t o = 0, v = 0;
    for (uint32_t i = 0; i < t->n_all; i++) {
      int kind = t->all[i].claims_all >> 1;
      t->all[i].claims_all &= 1;
      if (kind == 0) t->outbound[o++] = t->all[i];
      else if (kind == 1) t->virtual_ports[v++] = t->all[i];
    }
    t->n_outbound = o;
    t->n_virtual = v;
  }
  qsort(t->outbound, t->n_outbound, sizeof *t->outbound, cmp_port);
  qsort(t->virtual_ports, t->n_virtual, sizeof *t->virtual_ports, cmp_port);
  for (uint32_t i = 1; i < t->n_outbound; i++)
    if (t->outbound[i].port == t->outbound[i - 1].port) goto bad_sorted;
  for (uint32_t i = 1; i < t->n_virtual; i++)
    if (t->virtual_ports[i].port == t->virtual_ports[i - 1].port) goto bad_sorted;
  /* The sorted arrays are shallow copies: `all` keeps owning the hash and CIDR arrays. */
  *why = NULL;
  return t;
bad_sorted:
  free(t->outbound);
  free(t->virtual_ports);
  t->outbound = t->virtual_ports = NULL;
bad:
  dt_free(t);
  return NULL;
}

static const struct dt_port_table *find_port(const struct dt_port_table *arr, uint32_t n, int port) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (arr[mid].port == port) return &arr[mid];
    if (arr[mid].port < port) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* locateIn + decideInLocated of table.ts: 1 when the port table located the address (result in
 * *out: a decision index, DT_ASK_JS or DT_NONE), 0 when it does not claim it. */
static int decide_in(const struct dt_port_table *pt, uint32_t ip, int32_t *out) {
  if (!pt) return 0;
  const struct dt_group *g = NULL;
  int has_group = 0;
  if (pt->host_mask) {
    uint32_t s = mix(ip) & pt->host_mask;
    for (;;) {
      const struct dt_group *v = &pt->host_vals[s];
      if (v->plain == EMPTY_SLOT) break;
      if (pt->host_keys[s] == ip) {
        g = v;
        has_group = 1;
        break;
      }
      s = (s + 1) & pt->host_mask;
    }
  }
  if (!has_group) {
    for (uint32_t i = 0; i < pt->n_cidrs; i++) {
      if ((ip & pt->cidrs[i].mask) == pt->cidrs[i].ip) {
        g = &pt->cidrs[i].g;
        has_group = 1;
        break;
      }
    }
  }
  int32_t dflt;
  if (has_group) {
    dflt = g->fallback != DT_NONE ? g->fallback : pt->default_idx;
    if (g->plain == DT_ASK_JS) {
      *out = DT_ASK_JS;
      return 1;
    }
    if (g->plain >= 0) {
      *out = g->plain;
      return 1;
    }
  } else if (pt->port_only != EMPTY_SLOT) {
    dflt = pt->default_idx;
    if (pt->port_only == DT_ASK_JS || pt->port_only >= 0) {
      *out = pt->port_only;
      return 1;
    }
  } else if (pt->claims_all) {
    dflt = pt->default_idx;
  } else {
    return 0;
  }
  *out = dflt;
  return 1;
}

int32_t dt_decide(const struct dt_table *t, uint32_t ip, int port) {
  if (port == t->capture_port) return t->capture_idx;
  int32_t d;
  if (decide_in(find_port(t->outbound, t->n_outbound, port), ip, &d) && d != DT_NONE) return d;
  if (!decide_in(find_port(t->virtual_ports, t->n_virtual, port), ip, &d) && !decide_in(t->virtual_any, ip, &d))
    d = t->virtual_default_idx;
  if (d != DT_NONE) return d;
  return t->virtual_default_idx != DT_NONE ? t->virtual_default_idx : t->no_filter_idx;
}
