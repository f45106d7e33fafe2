/* SPDX-License-Identifier: MIT */
/* Enumeration: walk SRC with directory descriptors (openat, fdopendir, d_type), collect the pages
 * in path order, size them with one parallel fstatat each, and detect output collisions.
 * Opens no page; reads no page byte. */
#include "io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/** Directories nested deeper than this are not entered (a warning with ELOOP). The walk recurses
 * once per level, so this bounds its stack use on a hostile tree built with openat(). */
#define MAX_DEPTH 1024

/** size of a page whose fstatat has not run yet (only io/ ever sees it). */
#define SIZE_PENDING SIZE_MAX
/** status of a page that turned out not to be a regular file; removed before return. */
#define STATUS_DROP FMD_STATUS_COUNT

/*** Small helpers ***/

const char *fmd_io_warning_str(fmd_io_warning_kind kind)
{
    switch (kind) {
    case FMD_IO_WARN_UNREADABLE_DIR: return "directory cannot be read";
    case FMD_IO_WARN_LINK_OUTSIDE:
        return "symbolic link leads out of the source tree, not followed";
    case FMD_IO_WARN_LINK_BROKEN: return "symbolic link leads nowhere";
    case FMD_IO_WARN_CYCLE: return "directory link leads back to one of its parents, not followed";
    case FMD_IO_WARN_SPECIAL: return "named like a page but not a regular file, skipped";
    case FMD_IO_WARN_NAME_CASE:
        return "extension is not lower-case .md or .markdown: not a page, skipped";
    case FMD_IO_WARN_NAME_UTF8: return "path is not valid UTF-8: page refused";
    }
    return "unknown warning";
}

/* The length of ".md" or ".markdown" ending @p name, or 0 when it is not a page name. */
static size_t page_ext_len(const char *name, size_t len)
{
    if (len >= 3 && memcmp(name + len - 3, ".md", 3) == 0)
        return 3;
    if (len >= 9 && memcmp(name + len - 9, ".markdown", 9) == 0)
        return 9;
    return 0;
}

/* Whether @p name ends in ".md" or ".markdown" in some other case (".MD", ".Markdown"). */
static bool page_ext_other_case(const char *name, size_t len)
{
    return (len >= 3 && strncasecmp(name + len - 3, ".md", 3) == 0) ||
           (len >= 9 && strncasecmp(name + len - 9, ".markdown", 9) == 0);
}

/* Whether @p s (n bytes) is valid UTF-8: no stray continuation byte, no overlong form, no
 * surrogate, nothing above U+10FFFF. */
static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (i + k >= n) /* truncated sequence */
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (s[i + j] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* "dir/name", or "name" when dir is empty, NUL-terminated, in @p a. NULL when out of memory. */
static char *join(fmd_arena *a, const char *dir, size_t dir_len, const char *name, size_t name_len)
{
    size_t sep = dir_len != 0;
    char *p = fmd_arena_alloc(a, dir_len + sep + name_len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, dir_len);
    if (sep)
        p[dir_len] = '/';
    memcpy(p + dir_len + sep, name, name_len);
    p[dir_len + sep + name_len] = '\0';
    return p;
}

static fmd_status add_warning(fmd_io_batch *b, fmd_io_warning_kind kind, const char *dir,
                              size_t dir_len, const char *name, int err)
{
    if (b->n_warnings == b->cap_warnings) {
        size_t cap = b->cap_warnings ? b->cap_warnings * 2 : 8;
        fmd_io_warning *w = realloc(b->warnings, cap * sizeof *w);
        if (w == NULL)
            return FMD_E_NOMEM;
        b->warnings = w;
        b->cap_warnings = cap;
    }
    const char *path = name ? join(b->strings, dir, dir_len, name, strlen(name))
                            : fmd_arena_dup(b->strings, dir, dir_len + 1);
    if (path == NULL)
        return FMD_E_NOMEM;
    b->warnings[b->n_warnings++] = (fmd_io_warning){kind, path, err};
    return FMD_OK;
}

/*** The walk ***/

/* One entry of the directory being walked. Names live in the walk's scratch arena. */
typedef struct entry {
    const char *name;
    size_t len;
    bool is_dir;
    size_t size;      /* SIZE_PENDING unless a stat already told it */
    const char *real; /* for an entry reached through a link: its resolved path (strings arena) */
    int64_t mtime_ns, ctime_ns; /* from that stat, when size is not SIZE_PENDING */
    uint64_t ino;
} entry;

/* Copy the stat data that incremental builds compare (fmd_io_page). */
static void take_stat(const struct stat *st, int64_t *mtime_ns, int64_t *ctime_ns, uint64_t *ino)
{
    *mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    *ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    *ino = (uint64_t)st->st_ino;
}

/* The (dev, ino) of each directory from SRC down to the one being walked: a link leading to one
 * of them would make the walk loop. */
typedef struct ancestors {
    struct stat *v;
    size_t n, cap;
} ancestors;

typedef struct walker {
    fmd_io_batch *b;
    fmd_arena *scratch; /* entry names; rewound after each directory */
    ancestors anc;
} walker;

/* Sort key: a directory's name compares as if followed by '/', a file's as itself. Walking each
 * directory in this order emits the pages in strcmp order of their full paths ("a-b.md" <
 * "a/x.md" because '-' < '/'), so no global sort is needed. */
static int entry_cmp(const void *pa, const void *pb)
{
    const entry *x = pa, *y = pb;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    int cx = x->len > n ? (unsigned char)x->name[n] : (x->is_dir ? '/' : 0);
    int cy = y->len > n ? (unsigned char)y->name[n] : (y->is_dir ? '/' : 0);
    return cx - cy;
}

/* A symbolic link @p name in directory @p di: decide whether it is a page or a directory to walk,
 * and whether its target stays inside SRC. *keep is false when the entry is to be ignored. */
static fmd_status resolve_link(walker *w, size_t di, const char *name, size_t len, bool page,
                               entry *e, bool *keep)
{
    fmd_io_batch *b = w->b;
    const fmd__io_dir *d = &b->dirs[di];
    struct stat st;
    *keep = false;
    if (fstatat(d->fd, name, &st, 0) != 0) {
        int e0 = errno;
        /* A dangling link matters only if it is named like a page. */
        return page ? add_warning(b, FMD_IO_WARN_LINK_BROKEN, d->path, d->path_len, name, e0)
                    : FMD_OK;
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (page && !is_dir && !S_ISREG(st.st_mode)) /* a link to /dev/zero named x.md */
        return add_warning(b, FMD_IO_WARN_SPECIAL, d->path, d->path_len, name, 0);
    if (!is_dir && !(S_ISREG(st.st_mode) && page))
        return FMD_OK;

    /* realpath() of SRC's real path + the link's relative path: the directories above the link
     * may be links themselves, and realpath resolves all of them. */
    char *abs = malloc(b->src_real_len + d->path_len + len + 3);
    if (abs == NULL)
        return FMD_E_NOMEM;
    char *p = abs;
    memcpy(p, b->src_real, b->src_real_len);
    p += b->src_real_len;
    *p++ = '/';
    memcpy(p, d->path, d->path_len);
    p += d->path_len;
    if (d->path_len != 0)
        *p++ = '/';
    memcpy(p, name, len);
    p[len] = '\0';
    char *real = realpath(abs, NULL);
    int e0 = errno;
    free(abs);
    if (real == NULL)
        return add_warning(b, FMD_IO_WARN_LINK_BROKEN, d->path, d->path_len, name, e0);

    size_t rl = strlen(real), sl = b->src_real_len;
    /* Inside: SRC itself or below it (src_real is "" when SRC is "/"). */
    bool inside =
        rl >= sl && memcmp(real, b->src_real, sl) == 0 && (real[sl] == '\0' || real[sl] == '/');
    fmd_status st2 = FMD_OK;
    if (!inside) {
        st2 = add_warning(b, FMD_IO_WARN_LINK_OUTSIDE, d->path, d->path_len, name, 0);
    } else {
        /* Kept relative to SRC's real path: opened later component-wise from SRC's descriptor
         * (load.c open_page(), enter_dir()), never by absolute path. */
        const char *rel = rl == sl ? "." : real + sl + 1;
        e->real = fmd_arena_dup(b->strings, rel, strlen(rel) + 1);
        if (e->real == NULL) {
            st2 = FMD_E_NOMEM;
        } else {
            e->is_dir = is_dir;
            e->size = is_dir ? 0 : (size_t)st.st_size;
            take_stat(&st, &e->mtime_ns, &e->ctime_ns, &e->ino);
            *keep = true;
        }
    }
    free(real);
    return st2;
}

static fmd_status add_page(fmd_io_batch *b, size_t di, const entry *e)
{
    if (b->n_pages == b->cap_pages) {
        size_t cap = b->cap_pages ? b->cap_pages * 2 : 256;
        fmd_io_page *p = realloc(b->pages, cap * sizeof *p);
        if (p == NULL)
            return FMD_E_NOMEM;
        b->pages = p;
        fmd__io_page_src *s = realloc(b->srcs, cap * sizeof *s);
        if (s == NULL)
            return FMD_E_NOMEM;
        b->srcs = s;
        b->cap_pages = cap;
    }
    const fmd__io_dir *d = &b->dirs[di];
    char *path = join(b->strings, d->path, d->path_len, e->name, e->len);
    if (path == NULL)
        return FMD_E_NOMEM;
    size_t plen = d->path_len + (d->path_len != 0) + e->len;
    size_t stem = plen - page_ext_len(e->name, e->len);
    char *out = fmd_arena_alloc(b->strings, stem + sizeof ".html");
    if (out == NULL)
        return FMD_E_NOMEM;
    memcpy(out, path, stem);
    memcpy(out + stem, ".html", sizeof ".html");
    if (di > UINT32_MAX || plen - e->len > UINT32_MAX)
        return FMD_E_NOMEM; /* 4 billion directories: out of any sane memory budget */
    /* Refused rather than renamed: a path with U+FFFD in the manifest would not name the file,
     * and two such names could come out the same. */
    bool utf8 = valid_utf8((const unsigned char *)path, plen);
    if (!utf8) {
        fmd_status ws = add_warning(b, FMD_IO_WARN_NAME_UTF8, d->path, d->path_len, e->name, 0);
        if (ws != FMD_OK)
            return ws;
    }
    b->srcs[b->n_pages] = (fmd__io_page_src){
        .dir = (uint32_t)di, .name_off = (uint32_t)(plen - e->len), .real = e->real};
    b->pages[b->n_pages++] = (fmd_io_page){
        .path = path,
        .output = out,
        .size = e->size,
        .status = utf8 ? FMD_OK : FMD_E_UTF8,
        .err = utf8 ? 0 : EILSEQ,
        .mtime_ns = e->mtime_ns,
        .ctime_ns = e->ctime_ns,
        .ino = e->ino,
    };
    return FMD_OK;
}

static fmd_status add_dir(fmd_io_batch *b, const char *path, size_t len, int fd, size_t *index)
{
    if (b->n_dirs == b->cap_dirs) {
        size_t cap = b->cap_dirs ? b->cap_dirs * 2 : 32;
        fmd__io_dir *d = realloc(b->dirs, cap * sizeof *d);
        if (d == NULL)
            return FMD_E_NOMEM;
        b->dirs = d;
        b->cap_dirs = cap;
    }
    *index = b->n_dirs;
    b->dirs[b->n_dirs++] = (fmd__io_dir){path, len, fd};
    b->fds_open++;
    return FMD_OK;
}

static fmd_status walk_dir(walker *w, size_t di, size_t depth);

/* Open the subdirectory @p e of directory @p di, check it for a cycle, and walk it. */
static fmd_status enter_dir(walker *w, size_t di, const entry *e, size_t depth)
{
    fmd_io_batch *b = w->b;
    const char *dpath = b->dirs[di].path;
    size_t dlen = b->dirs[di].path_len;
    if (depth >= MAX_DEPTH)
        return add_warning(b, FMD_IO_WARN_UNREADABLE_DIR, dpath, dlen, e->name, ELOOP);
    /* A real directory is opened without following a link swapped in since readdir; a link's
     * target was checked to be inside SRC and is opened by its resolved path, one component at a
     * time from SRC's descriptor, so that a swap since the check cannot lead out of SRC. */
    int fd, open_err = 0;
    if (e->real != NULL) {
        bool outside = false;
        fd = fmd__io_open_beneath_walk(b->dirs[0].fd, e->real, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                                       &open_err, &outside);
    } else {
        fd = openat(b->dirs[di].fd, e->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        open_err = errno;
    }
    if (fd < 0 && open_err == ENOMEM)
        return FMD_E_NOMEM;
    if (fd < 0)
        return add_warning(b, FMD_IO_WARN_UNREADABLE_DIR, dpath, dlen, e->name, open_err);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e0 = errno;
        close(fd);
        return add_warning(b, FMD_IO_WARN_UNREADABLE_DIR, dpath, dlen, e->name, e0);
    }
    for (size_t i = 0; i < w->anc.n; i++) {
        if (w->anc.v[i].st_dev == st.st_dev && w->anc.v[i].st_ino == st.st_ino) {
            close(fd);
            return add_warning(b, FMD_IO_WARN_CYCLE, dpath, dlen, e->name, ELOOP);
        }
    }
    char *path = join(b->strings, dpath, dlen, e->name, e->len);
    if (path == NULL) {
        close(fd);
        return FMD_E_NOMEM;
    }
    if (w->anc.n == w->anc.cap) {
        size_t cap = w->anc.cap ? w->anc.cap * 2 : 16;
        struct stat *v = realloc(w->anc.v, cap * sizeof *v);
        if (v == NULL) {
            close(fd);
            return FMD_E_NOMEM;
        }
        w->anc.v = v;
        w->anc.cap = cap;
    }
    size_t child;
    fmd_status st2 = add_dir(b, path, dlen + (dlen != 0) + e->len, fd, &child);
    if (st2 != FMD_OK) {
        close(fd);
        return st2;
    }
    w->anc.v[w->anc.n++] = st;
    st2 = walk_dir(w, child, depth + 1);
    w->anc.n--;
    /* Keep the descriptor for loading unless the budget is spent; the pages of a directory
     * without one are opened by their path from SRC's descriptor. */
    if (b->fds_open > b->fd_budget) {
        close(b->dirs[child].fd);
        b->dirs[child].fd = -1;
        b->fds_open--;
    }
    return st2;
}

/* Read directory @p di, then emit its pages and walk its subdirectories in sorted order. */
static fmd_status walk_dir(walker *w, size_t di, size_t depth)
{
    fmd_io_batch *b = w->b;
    fmd_status st = FMD_OK;
    entry *v = NULL;
    size_t n = 0, cap = 0;
    fmd_arena_mark mark = fmd_arena_get_mark(w->scratch);
    int fd = b->dirs[di].fd;

    /* fdopendir() takes over the descriptor it is given; the directory's own one stays open for
     * loading, so give it a duplicate. */
    int dfd = dup(fd);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (dir == NULL) {
        int e0 = errno;
        if (dfd >= 0)
            close(dfd);
        return add_warning(b, FMD_IO_WARN_UNREADABLE_DIR, b->dirs[di].path, b->dirs[di].path_len,
                           NULL, e0);
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (de == NULL) {
            int e0 = errno;
            if (e0 != 0) /* keep what was read; the rest of the directory is lost */
                st = add_warning(b, FMD_IO_WARN_UNREADABLE_DIR, b->dirs[di].path,
                                 b->dirs[di].path_len, NULL, e0);
            break;
        }
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        size_t len = strlen(name);
        bool page = page_ext_len(name, len) != 0;
        entry e = {NULL, len, false, SIZE_PENDING, NULL, 0, 0, 0};
        bool keep = false;
        unsigned char type = de->d_type;
        struct stat sb;
        if (type == DT_UNKNOWN) {
            /* Some file systems do not fill d_type: one lstat tells, and gives the size too. */
            if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
                keep = page; /* keep its place; the size pass will record why */
                type = DT_REG;
            } else if (S_ISDIR(sb.st_mode)) {
                type = DT_DIR;
            } else if (S_ISLNK(sb.st_mode)) {
                type = DT_LNK;
            } else if (S_ISREG(sb.st_mode)) {
                type = DT_REG;
                e.size = (size_t)sb.st_size;
                take_stat(&sb, &e.mtime_ns, &e.ctime_ns, &e.ino);
            } else {
                type = DT_FIFO; /* some special file: told apart below */
            }
        }
        if (type != DT_DIR && type != DT_REG && type != DT_LNK) {
            if (page) /* a FIFO, socket or device named like a page */
                st = add_warning(b, FMD_IO_WARN_SPECIAL, b->dirs[di].path, b->dirs[di].path_len,
                                 name, 0);
            if (st != FMD_OK)
                break;
            continue;
        }
        if (!page && type == DT_REG && page_ext_other_case(name, len)) {
            st = add_warning(b, FMD_IO_WARN_NAME_CASE, b->dirs[di].path, b->dirs[di].path_len, name,
                             0);
            if (st != FMD_OK)
                break;
            continue;
        }
        if (type == DT_DIR) {
            e.is_dir = true;
            keep = true;
        } else if (type == DT_REG) {
            keep = page;
        } else if (type == DT_LNK) {
            st = resolve_link(w, di, name, len, page, &e, &keep);
            if (st != FMD_OK)
                break;
        }
        if (!keep)
            continue;
        e.name = fmd_arena_dup(w->scratch, name, len + 1);
        if (e.name == NULL) {
            st = FMD_E_NOMEM;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            entry *nv = realloc(v, ncap * sizeof *nv);
            if (nv == NULL) {
                st = FMD_E_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = e;
    }
    closedir(dir);

    if (st == FMD_OK) {
        if (n > 1)
            qsort(v, n, sizeof *v, entry_cmp);
        for (size_t i = 0; i < n && st == FMD_OK; i++)
            st = v[i].is_dir ? enter_dir(w, di, &v[i], depth) : add_page(b, di, &v[i]);
    }
    free(v);
    fmd_arena_rewind(w->scratch, mark);
    return st;
}

/*** After the walk: sizes, then collisions ***/

/* One fstatat per page not sized by the walk, in parallel: on a warm cache this is the walk's
 * main cost, and each call is independent. */
static void size_pages(fmd_io_batch *b, int nthreads)
{
    fmd_io_page *pages = b->pages;
    const fmd__io_dir *dirs = b->dirs;
    const fmd__io_page_src *srcs = b->srcs;
    const int root = b->dirs[0].fd;
    const long n = (long)b->n_pages;
#pragma omp parallel for schedule(dynamic, 16) num_threads(nthreads) if (n > 16) default(none)     \
    shared(pages, srcs, dirs, root, n)
    for (long i = 0; i < n; i++) {
        fmd_io_page *p = &pages[i];
        if (p->size != SIZE_PENDING)
            continue;
        struct stat st;
        int fd = dirs[srcs[i].dir].fd;
        int rc = fd >= 0 ? fstatat(fd, p->path + srcs[i].name_off, &st, AT_SYMLINK_NOFOLLOW)
                         : fstatat(root, p->path, &st, AT_SYMLINK_NOFOLLOW);
        if (rc != 0) {
            p->err = errno;
            p->status = FMD_E_NOINPUT;
            p->size = 0;
        } else if (!S_ISREG(st.st_mode)) {
            p->status = STATUS_DROP; /* replaced by something else since readdir */
            p->size = 0;
        } else {
            p->size = (size_t)st.st_size;
            take_stat(&st, &p->mtime_ns, &p->ctime_ns, &p->ino);
        }
    }
}

/* Mark the later of two pages with one output path as FMD_E_COLLISION. Output directories are
 * claimed too, so a page "x.html" (from x.md) collides with the pages in a directory "x.html"
 * (which sort first: 'h' < 'm'). Only pages that can still be written claim anything. */
static fmd_status find_collisions(fmd_io_batch *b)
{
    enum { CLAIM_FILE = 0, CLAIM_DIR = 1 };
    fmd__io_set set = {0};
    /* Each page claims its file and each directory claims itself once: size the set for all of
     * them up front rather than doubling it eight times or more. */
    fmd_status st = fmd__io_set_reserve(&set, b->n_pages + b->n_dirs);
    const char *prev_dir = NULL;
    size_t prev_len = 0;
    for (size_t i = 0; i < b->n_pages && st == FMD_OK; i++) {
        fmd_io_page *p = &b->pages[i];
        if (p->status != FMD_OK)
            continue;
        const char *slash = strrchr(p->output, '/');
        size_t dlen = slash ? (size_t)(slash - p->output) : 0;
        fmd__io_set_entry *e;
        bool ins;
        if (dlen != 0 && !(dlen == prev_len && memcmp(prev_dir, p->output, dlen) == 0)) {
            /* A new output directory: claim it and each directory above it. */
            bool clash = false;
            for (size_t k = 1; k <= dlen && st == FMD_OK; k++) {
                if (k != dlen && p->output[k] != '/')
                    continue;
                st = fmd__io_set_insert(&set, p->output, k, CLAIM_DIR, &e, &ins);
                if (st == FMD_OK && e->value == CLAIM_FILE)
                    clash = true;
            }
            if (st != FMD_OK)
                break;
            if (clash) {
                p->status = FMD_E_COLLISION;
                prev_dir = NULL, prev_len = 0;
                continue;
            }
            prev_dir = p->output;
            prev_len = dlen;
        }
        st = fmd__io_set_insert(&set, p->output, strlen(p->output), CLAIM_FILE, &e, &ins);
        if (st == FMD_OK && !ins)
            p->status = FMD_E_COLLISION;
    }
    fmd__io_set_free(&set);
    return st;
}

/*** API ***/

fmd_status fmd_io_tree_enumerate(const char *src, int nthreads, fmd_io_batch **out, int *err)
{
    fmd_status st = FMD_OK;
    int e0 = 0;
    walker w = {0};
    fmd_io_batch *b = NULL;
    if (err)
        *err = 0;
    if (out == NULL)
        return FMD_E_USAGE;
    *out = NULL;
    if (src == NULL)
        return FMD_E_USAGE;

    b = calloc(1, sizeof *b);
    if (b == NULL)
        return FMD_E_NOMEM;
    w.b = b;
    FMD_TRY(fmd_arena_create(&b->strings, 0));
    FMD_TRY(fmd_arena_create(&w.scratch, 64 * 1024));
    b->fd_budget = fmd__io_fd_budget();

    int root = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        e0 = errno;
        st = FMD_E_NOINPUT;
        goto fail;
    }
    size_t idx;
    st = add_dir(b, "", 0, root, &idx);
    if (st != FMD_OK) {
        close(root);
        goto fail;
    }
    b->src_real = realpath(src, NULL);
    if (b->src_real == NULL) {
        e0 = errno;
        st = FMD_E_NOINPUT;
        goto fail;
    }
    b->src_real_len = strlen(b->src_real);
    if (b->src_real_len == 1) { /* "/": compare links against "", then '/' */
        b->src_real_len = 0;
        b->src_real[0] = '\0';
    }

    w.anc.v = malloc(16 * sizeof *w.anc.v);
    if (w.anc.v == NULL) {
        st = FMD_E_NOMEM;
        goto fail;
    }
    w.anc.cap = 16;
    if (fstat(root, &w.anc.v[0]) != 0) {
        e0 = errno;
        st = FMD_E_NOINPUT;
        goto fail;
    }
    w.anc.n = 1;
    FMD_TRY(walk_dir(&w, 0, 0));

    size_pages(b, fmd__io_threads(nthreads));
    size_t k = 0;
    for (size_t i = 0; i < b->n_pages; i++) {
        if (b->pages[i].status != STATUS_DROP) {
            b->srcs[k] = b->srcs[i];
            b->pages[k++] = b->pages[i];
        }
    }
    b->n_pages = k;
    FMD_TRY(find_collisions(b));
    for (size_t i = 0; i < b->n_pages; i++) {
        b->srcs[i].status0 = b->pages[i].status;
        b->srcs[i].err0 = b->pages[i].err;
    }

    free(w.anc.v);
    fmd_arena_destroy(w.scratch);
    *out = b;
    return FMD_OK;

fail:
    if (err)
        *err = e0;
    free(w.anc.v);
    fmd_arena_destroy(w.scratch);
    fmd_io_batch_destroy(b);
    return st;
}

void fmd_io_batch_destroy(fmd_io_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n_dirs; i++) {
        if (b->dirs[i].fd >= 0)
            close(b->dirs[i].fd);
    }
    free(b->dirs);
    free(b->pages);
    free(b->srcs);
    free(b->warnings);
    free(b->src_real);
    fmd_arena_destroy(b->strings);
    free(b);
}

fmd_io_page *fmd_io_batch_pages(fmd_io_batch *b, size_t *n)
{
    *n = b->n_pages;
    return b->pages;
}

const fmd_io_warning *fmd_io_batch_warnings(const fmd_io_batch *b, size_t *n)
{
    *n = b->n_warnings;
    return b->warnings;
}

void fmd_io_batch_reset_status(fmd_io_batch *b)
{
    for (size_t i = 0; i < b->n_pages; i++) {
        b->pages[i].status = b->srcs[i].status0;
        b->pages[i].err = b->srcs[i].err0;
    }
}

size_t fmd_io_batch_bytes(const fmd_io_batch *b)
{
    size_t sum = 0;
    for (size_t i = 0; i < b->n_pages; i++) {
        if (b->pages[i].status == FMD_OK)
            sum += b->pages[i].size;
    }
    return sum;
}
