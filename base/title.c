/* SPDX-License-Identifier: MIT */
/* The title-from-file-name rule (fmd_title.h). Byte-level and ASCII-only on purpose: a title
 * must come out the same for any locale. */
#include "fmd_title.h"

#include <stdbool.h>
#include <string.h>

#include "fmd_utf8.h"

fmd_status fmd_title_from_path(const char *path, size_t len, fmd_arena *a, fmd_slice *out)
{
    /* The base name, and its directory's name for index pages. */
    size_t end = len, start;
    for (;;) {
        start = end;
        while (start > 0 && path[start - 1] != '/')
            start--;
        size_t stem = end;
        for (size_t i = start; i < end; i++)
            if (path[i] == '.' && i > start) /* "..md": the stem is "." */
                stem = i;
        if (end - start >= 3 && memcmp(path + stem, ".md", 3) == 0 && stem + 3 == end)
            end = stem;
        else if (stem + 9 == end && memcmp(path + stem, ".markdown", 9) == 0)
            end = stem;
        bool index = (end - start == 5 && memcmp(path + start, "index", 5) == 0) ||
                     (end - start == 6 && memcmp(path + start, "_index", 6) == 0);
        if (!index || start == 0)
            break;
        end = start - 1; /* the directory above */
    }
    /* Each invalid byte becomes U+FFFD (3 bytes), as the manifest writes such paths: a title
     * is JSON text, which must be UTF-8. */
    char *t = fmd_arena_alloc(a, 3 * (end - start) + 1);
    if (t == NULL)
        return FMD_E_NOMEM;
    const unsigned char *u = (const unsigned char *)path;
    size_t n = 0;
    bool pending_space = false;
    for (size_t i = start; i < end;) {
        char c = path[i];
        if (c == '-' || c == '_' || c == ' ') {
            pending_space = n != 0;
            i++;
            continue;
        }
        if (pending_space)
            t[n++] = ' ';
        pending_space = false;
        size_t l = fmd_utf8_decode(u + i, end - i, NULL);
        if (l == 0) {
            size_t bad = fmd_utf8_subpart(u + i, end - i);
            memcpy(t + n, "\xEF\xBF\xBD", 3);
            n += 3;
            i += bad;
            continue;
        }
        memcpy(t + n, path + i, l);
        n += l;
        i += l;
    }
    bool has_alnum = false;
    for (size_t i = 0; i < n; i++)
        if ((t[i] >= '0' && t[i] <= '9') || ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') ||
            (unsigned char)t[i] >= 0x80)
            has_alnum = true;
    if (!has_alnum)
        n = 0;
    if (n != 0 && t[0] >= 'a' && t[0] <= 'z')
        t[0] = (char)(t[0] - 'a' + 'A');
    out->ptr = t;
    out->len = n;
    return FMD_OK;
}

void fmd_title_fallback(fmd_slice *title, const char *path, fmd_arena *a)
{
    if (title->ptr != NULL || path == NULL)
        return;
    fmd_slice t;
    if (fmd_title_from_path(path, strlen(path), a, &t) == FMD_OK && t.len != 0)
        *title = t;
}
