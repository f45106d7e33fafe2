/* SPDX-License-Identifier: MIT */
/* Assets: the files under SRC that are not pages (images, style sheets, downloads), copied into
 * OUT beside the pages, incrementally. Recorded in OUT/.fastmd/assets so that a later build
 * copies only what changed and removes the copies of assets that are gone, and only those. */
#ifndef FMD_IO_ASSETS_H
#define FMD_IO_ASSETS_H

#include <stddef.h>

#include "fmd_status.h"

/** The record file under OUT/.fastmd/. */
#define FMD_IO_ASSETS_NAME "assets"

/** What one fmd_io_assets_sync() did. */
typedef struct fmd_io_assets_result {
    size_t found;     /**< assets under SRC */
    size_t copied;    /**< copied (new or changed) this run */
    size_t cloned;    /**< of those, made as reflinks (shared blocks, no bytes copied) */
    size_t unchanged; /**< recorded with the same size, mtime and inode, and still in OUT */
    size_t removed;   /**< copies of assets that are gone, removed from OUT */
    size_t skipped;   /**< not copied: a symbolic link out of SRC or to a directory, a special
                           file, a name with a newline, or a path a page's output takes */
    char what[512];   /**< on failure: the path (relative to SRC or OUT) that failed */
    int err;          /**< on failure: errno */
} fmd_io_assets_result;

/** Copy every file under @p src that is not a page (a name not ending in ".md" or ".markdown",
 * in any case) to the same path under @p out. A file whose record in OUT/.fastmd/assets matches
 * its size, mtime and inode, and whose copy is still in OUT, is left alone; the others are
 * copied to a temporary file (FMD_IO_TMP_PREFIX, so a killed run's leftovers are swept by the
 * next build) as a reflink where the file system can (FICLONE), else by copy_file_range(), and
 * renamed into place. Copies are not hard links: a link would let an edit in OUT change SRC.
 * Symbolic links are followed only to regular files inside SRC; OUT itself is skipped when it lies
 * inside SRC; a path ending in ".html" whose page ("x.md" or "x.markdown" beside it) writes it is
 * skipped. Then every path recorded by the last run and not copied by this one is removed from
 * OUT (nothing else ever is), and the record is rewritten.
 * @pre OUT/.fastmd exists (the build holds its lock: call this between fmd_engine_render() and
 * fmd_engine_close()).
 * @return FMD_OK; FMD_E_NOINPUT (SRC cannot be opened); FMD_E_CANTCREATE (a directory or file in
 * OUT cannot be created); FMD_E_IO (a read, copy or rename failed); FMD_E_NOMEM. r->what and
 * r->err say where and why; assets copied before the failure stay, and the record is left as
 * the last run wrote it, so nothing it names is forgotten.
 * Threads: call from one thread; it starts none. */
fmd_status fmd_io_assets_sync(const char *src, const char *out, fmd_io_assets_result *r);

#endif
