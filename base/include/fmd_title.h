/* SPDX-License-Identifier: MIT */
/* The title-from-file-name rule: the title of a page that has no front matter title and no
 * heading is its file name, made readable, as static site tools do. libc only; no state. */
#ifndef FMD_TITLE_H
#define FMD_TITLE_H

#include <stddef.h>

#include "fmd_arena.h"

/** A page's file name as a title. The base name loses its extension (".md", ".markdown");
 * "index" and "_index" take their directory's name instead; '-', '_' and ' ' become one space
 * between words; the first letter is upper-cased (ASCII). "docs/ref-and-relref.md" gives
 * "Ref and relref", "guide/_index.md" gives "Guide". A name with no letter or digit (any byte of
 * 0x80 or more counts as a letter) gives an empty title. The title is always UTF-8: each
 * ill-formed sequence of the name becomes one U+FFFD, as paths do in the manifest.
 * @param path a relative path with '/' separators, @p len bytes (need not be NUL-terminated).
 * @param out receives the title.
 * @return FMD_OK or FMD_E_NOMEM.
 * Ownership: out points into @p a, valid until fmd_arena_reset(a). Threads: reentrant. */
fmd_status fmd_title_from_path(const char *path, size_t len, fmd_arena *a, fmd_slice *out);

/** The fallback rule every output uses: when @p title has no bytes (ptr NULL) and @p path is not
 * NULL, set it to fmd_title_from_path(path) if that is not empty. Otherwise, or when memory runs
 * out, @p title is left as it is (the page then has no title: never a failure).
 * Ownership: a new title points into @p a. Threads: reentrant. */
void fmd_title_fallback(fmd_slice *title, const char *path, fmd_arena *a);

/* Thread safety: reentrant; all state is in the arena passed in. */

#endif
