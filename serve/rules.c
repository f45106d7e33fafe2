/* SPDX-License-Identifier: MIT */
/* The compiled-rules cache of fastmd serve: custom rules are compiled once (PCRE2 + JIT, by the
 * kernel) per distinct rules list, kept for SERVE_RULES_CACHE lists, least recently used first
 * out, and shared read-only by every thread. Entries are reference counted, so one dropped from
 * the cache while a batch still uses it is freed by the batch's release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_internal.h"

struct serve_rules_entry {
    uint64_t hash;
    char *json; /* the rules' canonical JSON text: the key (the hash only finds it) */
    size_t len;
    fmd_rules *rules;
    int refs; /* users, plus one while it is in the cache */
    unsigned long last_use;
};

void serve_rules_init(serve_rules_cache *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
}

static void entry_free(serve_rules_entry *e)
{
    fmd_kernel_rules_destroy(e->rules);
    free(e->json);
    free(e);
}

void serve_rules_destroy(serve_rules_cache *c)
{
    for (int i = 0; i < SERVE_RULES_CACHE; i++)
        if (c->e[i] != NULL)
            entry_free(c->e[i]);
    pthread_mutex_destroy(&c->mu);
}

/* Under c->mu: the entry for this key, or NULL. */
static serve_rules_entry *find(serve_rules_cache *c, const fmd_rpc_options *o)
{
    for (int i = 0; i < SERVE_RULES_CACHE; i++) {
        serve_rules_entry *e = c->e[i];
        if (e != NULL && e->hash == o->rules_hash && e->len == o->rules_json.len &&
            memcmp(e->json, o->rules_json.ptr, e->len) == 0)
            return e;
    }
    return NULL;
}

/* Under c->mu: put @p e in the cache, dropping the least recently used entry if it is full. */
static void insert(serve_rules_cache *c, serve_rules_entry *e)
{
    int slot = -1;
    for (int i = 0; i < SERVE_RULES_CACHE && slot < 0; i++)
        if (c->e[i] == NULL)
            slot = i;
    if (slot < 0) {
        slot = 0;
        for (int i = 1; i < SERVE_RULES_CACHE; i++)
            if (c->e[i]->last_use < c->e[slot]->last_use)
                slot = i;
        serve_rules_entry *old = c->e[slot];
        if (--old->refs == 0)
            entry_free(old);
    }
    e->refs++;
    c->e[slot] = e;
}

fmd_status serve_rules_acquire(serve_rules_cache *c, fmd_rpc_request *req, const fmd_rules **out,
                               serve_rules_entry **handle)
{
    const fmd_rpc_options *o = &req->options;
    *out = NULL;
    *handle = NULL;
    if (o->n_rules == 0) {
        /* Replace, not merge: a request's own rules are the whole set it wants. */
        if (!o->rules_given)
            *out = c->defaults;
        return FMD_OK;
    }
    pthread_mutex_lock(&c->mu);
    serve_rules_entry *e = find(c, o);
    if (e != NULL) {
        e->refs++;
        e->last_use = ++c->tick;
        pthread_mutex_unlock(&c->mu);
        *out = e->rules;
        *handle = e;
        return FMD_OK;
    }
    pthread_mutex_unlock(&c->mu);

    /* Compile outside the lock: PCRE2's JIT takes a while, and other lookups need not wait. */
    fmd_rule_spec *specs = calloc(o->n_rules, sizeof *specs);
    fmd_arena *a = NULL;
    if (specs == NULL || fmd_arena_create(&a, 0) != FMD_OK) {
        free(specs);
        return FMD_E_NOMEM;
    }
    for (size_t i = 0; i < o->n_rules; i++) {
        specs[i].pattern = o->rules[i].pattern.ptr;
        specs[i].pattern_len = o->rules[i].pattern.len;
        specs[i].replacement = o->rules[i].replacement.ptr;
        specs[i].replacement_len = o->rules[i].replacement.len;
        specs[i].regex = o->rules[i].regex;
    }
    fmd_rules *rules = NULL;
    size_t bad = 0;
    fmd_buf msg;
    fmd_buf_reset(&msg, a);
    fmd_status st = fmd_kernel_rules_create(specs, o->n_rules, &rules, &bad, &msg);
    free(specs);
    if (st == FMD_E_RULE || st == FMD_E_USAGE) {
        char field[96], text[600], data[160];
        snprintf(field, sizeof field, "params.options.rules[%zu]", bad);
        snprintf(text, sizeof text, "%s: %.*s", field, (int)(msg.len < 400 ? msg.len : 400),
                 msg.len ? msg.ptr : "the rule does not compile");
        snprintf(data, sizeof data, "{\"field\":\"%s\",\"rule\":%zu}", field, bad);
        fmd_arena_destroy(a);
        if (fmd_rpc_request_fail(req, FMD_RPC_INVALID_PARAMS, text, data) != FMD_OK)
            return FMD_E_NOMEM;
        return FMD_E_RULE;
    }
    fmd_arena_destroy(a);
    if (st != FMD_OK)
        return st;

    e = calloc(1, sizeof *e);
    char *json = malloc(o->rules_json.len + 1);
    if (e == NULL || json == NULL) {
        free(e);
        free(json);
        fmd_kernel_rules_destroy(rules);
        return FMD_E_NOMEM;
    }
    memcpy(json, o->rules_json.ptr, o->rules_json.len);
    json[o->rules_json.len] = '\0';
    e->hash = o->rules_hash;
    e->json = json;
    e->len = o->rules_json.len;
    e->rules = rules;
    e->refs = 1; /* ours */

    pthread_mutex_lock(&c->mu);
    serve_rules_entry *other = find(c, o);
    if (other != NULL) {
        /* Another thread compiled the same rules meanwhile: use its set, drop ours. */
        other->refs++;
        other->last_use = ++c->tick;
        pthread_mutex_unlock(&c->mu);
        entry_free(e);
        *out = other->rules;
        *handle = other;
        return FMD_OK;
    }
    e->last_use = ++c->tick;
    insert(c, e);
    pthread_mutex_unlock(&c->mu);
    *out = e->rules;
    *handle = e;
    return FMD_OK;
}

void serve_rules_release(serve_rules_cache *c, serve_rules_entry *handle)
{
    if (handle == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    bool last = --handle->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        entry_free(handle);
}
