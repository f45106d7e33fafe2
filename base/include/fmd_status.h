/* SPDX-License-Identifier: MIT */
/* fmd_status: the one status type of every fastmd module, and its text.
 * Part of the libc-only fmd_arena target so that every module can use it. */
#ifndef FMD_STATUS_H
#define FMD_STATUS_H

#include <stdbool.h>

/** Status of a call or of one page. FMD_OK is 0; every other value is a failure. */
typedef enum fmd_status {
    FMD_OK = 0,
    FMD_E_NOMEM,        /**< an allocation failed */
    FMD_E_INPUT_LIMIT,  /**< the page is larger than the input limit */
    FMD_E_OUTPUT_LIMIT, /**< the page's HTML grew past the output limit */
    FMD_E_FRONTMATTER,  /**< the YAML front matter does not parse */
    FMD_E_PARSE,        /**< md4c gave up on the page */
    FMD_E_IO,           /**< reading or writing a file failed (detail in errno copy) */
    FMD_E_USAGE,        /**< bad arguments from the caller */
    FMD_E_NOINPUT,      /**< an input path does not exist or cannot be opened */
    FMD_E_CANTCREATE,   /**< an output file or directory cannot be created */
    FMD_E_COLLISION,    /**< two pages map to the same output path */
    FMD_E_UTF8,         /**< invalid UTF-8 (a warning unless strict) */
    FMD_E_CANCELLED,    /**< the batch was cancelled before this page ran */
    FMD_E_RULE,         /**< a custom rule does not compile */
    FMD_E_DEADLINE,     /**< rendering the page took longer than its deadline */
    FMD_E_CRASHED,      /**< the page ended the worker process twice (a crash, the OOM killer) */
    FMD_E_TIMEOUT,      /**< the page outlived its deadline and a grace period: its worker was
                             killed */
    FMD_STATUS_COUNT
} fmd_status;

/** One cleanup path per function: run @p e, and on failure store its status in the local `st`
 * and jump to the function's `fail:` label. */
#define FMD_TRY(e)                                                                                 \
    do {                                                                                           \
        st = (e);                                                                                  \
        if (st != FMD_OK)                                                                          \
            goto fail;                                                                             \
    } while (0)

/** fmd_status_str(FMD_E_NOMEM), for messages put together at compile time: the one
 * out-of-memory text ("Internal error: " FMD_NOMEM_TEXT). */
#define FMD_NOMEM_TEXT "out of memory"

/** Whether a page that failed with @p st may succeed when rendered again: FMD_E_NOMEM only
 * (memory depends on what else runs). Never a failure of the page's own bytes, and never
 * FMD_E_DEADLINE: the parser's work on a page is deterministic, so a page over its deadline would
 * only cost the same time again. The one rule behind every retry of a render (I/O failures are
 * retried when the page is read, not rendered).
 * @return true for a transient failure. Threads: reentrant. */
bool fmd_status_is_transient(fmd_status st);

/** A short English sentence for @p st ("out of memory").
 * @return a static string, never NULL (unknown values give "unknown status").
 * Threads: reentrant. */
const char *fmd_status_str(fmd_status st);

/** A stable machine name for @p st ("output-limit"), used in manifests and JSON-RPC errors.
 * @return a static string, never NULL. Threads: reentrant. */
const char *fmd_status_name(fmd_status st);

#endif
