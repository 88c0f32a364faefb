#include "store/strtab.h"

#include <stdlib.h>
#include <string.h>

struct strtab_chunk {
    struct strtab_chunk *next;
    size_t used;
    char data[];
};

uint64_t strtab_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

void strtab_free(struct strtab *t)
{
    free(t->slots);
    for (struct strtab_chunk *c = t->chunks, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    memset(t, 0, sizeof(*t));
}

static int grow(struct strtab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    struct strtab_entry *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].s == NULL)
            continue;
        size_t k = t->slots[i].hash & (cap - 1);
        while (slots[k].s != NULL)
            k = (k + 1) & (cap - 1);
        slots[k] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

struct strtab_entry *strtab_intern(struct strtab *t, const char *s, size_t len)
{
    if (len > 255 || (2 * (t->n + 1) > t->cap && grow(t) != 0))
        return NULL;
    uint64_t h = strtab_hash(s, len);
    size_t k = h & (t->cap - 1);
    for (; t->slots[k].s != NULL; k = (k + 1) & (t->cap - 1))
        if (t->slots[k].hash == h && t->slots[k].len == len && memcmp(t->slots[k].s, s, len) == 0)
            return &t->slots[k];
    struct strtab_chunk *c = t->chunks;
    if (c == NULL || STRTAB_CHUNK - c->used < len + 1) {
        if ((c = malloc(sizeof(*c) + STRTAB_CHUNK)) == NULL)
            return NULL;
        c->used = 0;
        c->next = t->chunks;
        t->chunks = c;
    }
    char *copy = c->data + c->used;
    memcpy(copy, s, len);
    copy[len] = '\0';
    c->used += len + 1;
    t->n++;
    t->slots[k] = (struct strtab_entry){.s = copy, .hash = h, .len = (uint8_t)len};
    return &t->slots[k];
}
