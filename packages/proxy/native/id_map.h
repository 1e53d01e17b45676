/* Open-addressing hash map from a 64-bit connection id to a pointer (relay thread only).
 * Linear probing with backward-shift deletion: no tombstones, lookups stay short. */
#ifndef SLUICE_ID_MAP_H
#define SLUICE_ID_MAP_H

#include <stdint.h>
#include <stdlib.h>

struct id_slot {
  uint64_t id; /* 0: empty */
  void *value;
};

struct id_map {
  struct id_slot *slots;
  uint32_t cap; /* power of two */
  uint32_t size;
};

static inline uint32_t id_hash(uint64_t id, uint32_t mask) {
  id ^= id >> 33;
  id *= 0xff51afd7ed558ccdULL;
  id ^= id >> 33;
  return (uint32_t)id & mask;
}

static void id_map_put(struct id_map *m, uint64_t id, void *value);

static void id_map_grow(struct id_map *m) {
  struct id_slot *old = m->slots;
  uint32_t old_cap = m->cap;
  m->cap = old_cap ? old_cap * 2 : 1024;
  m->slots = calloc(m->cap, sizeof *m->slots);
  m->size = 0;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old[i].id) id_map_put(m, old[i].id, old[i].value);
  free(old);
}

static void id_map_put(struct id_map *m, uint64_t id, void *value) {
  if ((m->size + 1) * 2 > m->cap) id_map_grow(m);
  uint32_t mask = m->cap - 1, i = id_hash(id, mask);
  while (m->slots[i].id && m->slots[i].id != id) i = (i + 1) & mask;
  if (!m->slots[i].id) m->size++;
  m->slots[i].id = id;
  m->slots[i].value = value;
}

static void *id_map_get(const struct id_map *m, uint64_t id) {
  if (!m->cap) return NULL;
  uint32_t mask = m->cap - 1, i = id_hash(id, mask);
  while (m->slots[i].id) {
    if (m->slots[i].id == id) return m->slots[i].value;
    i = (i + 1) & mask;
  }
  return NULL;
}

static void id_map_del(struct id_map *m, uint64_t id) {
  if (!m->cap) return;
  uint32_t mask = m->cap - 1, i = id_hash(id, mask);
  while (m->slots[i].id && m->slots[i].id != id) i = (i + 1) & mask;
  if (!m->slots[i].id) return;
  m->size--;
  /* Backward shift: move later entries of the run into the hole when their home allows it. */
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & mask; m->slots[j].id; j = (j + 1) & mask) {
    uint32_t home = id_hash(m->slots[j].id, mask);
    int between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (between) continue;
    m->slots[hole] = m->slots[j];
    hole = j;
  }
  m->slots[hole].id = 0;
  m->slots[hole].value = NULL;
}

#endif
