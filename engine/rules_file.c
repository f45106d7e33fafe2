/* SPDX-License-Identifier: MIT */
/* A rules file (--rules FILE): a JSON array of {pattern, replacement, regex?}, read with jansson
 * and compiled once by the kernel for the whole run. Never prints: what is wrong comes back as
 * text for the caller to show. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "fmd_engine.h"

fmd_status fmd_engine_rules_load(const char *path, fmd_rules **out, char *msg, size_t msg_len)
{
    *out = NULL;
    msg[0] = '\0';
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(msg, msg_len, ":%d:%d: %s", jerr.line, jerr.column, jerr.text);
        return jerr.line > 0 ? FMD_E_USAGE : FMD_E_NOINPUT;
    }
    fmd_status st = FMD_OK;
    fmd_rule_spec *specs = NULL;
    fmd_arena *a = NULL;
    size_t n = json_array_size(root);
    if (!json_is_array(root)) {
        snprintf(msg, msg_len, ": expected a JSON array of rules");
        st = FMD_E_USAGE;
        goto done;
    }
    if (n > FMD_MAX_RULES) {
        snprintf(msg, msg_len, ": %zu rules, at most %d", n, FMD_MAX_RULES);
        st = FMD_E_USAGE;
        goto done;
    }
    specs = calloc(n ? n : 1, sizeof *specs);
    if (specs == NULL) {
        st = FMD_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(root, i);
        json_t *pat = json_object_get(r, "pattern"), *rep = json_object_get(r, "replacement");
        json_t *rx = json_object_get(r, "regex");
        if (!json_is_object(r) || !json_is_string(pat) || !json_is_string(rep) ||
            (rx != NULL && !json_is_boolean(rx))) {
            snprintf(msg, msg_len,
                     ": rule %zu needs string \"pattern\" and \"replacement\" and an optional "
                     "boolean \"regex\"",
                     i);
            st = FMD_E_USAGE;
            goto done;
        }
        specs[i].pattern = json_string_value(pat);
        specs[i].pattern_len = json_string_length(pat);
        specs[i].replacement = json_string_value(rep);
        specs[i].replacement_len = json_string_length(rep);
        specs[i].regex = json_is_true(rx);
    }
    if (fmd_arena_create(&a, 0) != FMD_OK) {
        st = FMD_E_NOMEM;
        goto done;
    }
    fmd_buf why;
    fmd_buf_reset(&why, a);
    size_t bad = 0;
    st = fmd_kernel_rules_create(specs, n, out, &bad, &why);
    if (st != FMD_OK && st != FMD_E_NOMEM)
        snprintf(msg, msg_len, ": %.*s", (int)why.len, why.ptr ? why.ptr : fmd_status_str(st));
done:
    fmd_arena_destroy(a);
    free(specs);
    json_decref(root);
    return st;
}
