/* SPDX-License-Identifier: MIT */
/* The file walk shared by the whole-process baselines (md4c_loop, cmark_loop, io_floor): visit
 * every *.md / *.markdown file under a folder with directory descriptors and d_type (a stat only
 * where the file system leaves d_type unknown), and read each page in one read call. Benchmark
 * code, not part of fastmd: a page that cannot be read is skipped with a message on stderr.
 * Threads: one walk per process; the page buffer is the walk's own. */
#ifndef FMD_BENCH_PAGE_WALK_H
#define FMD_BENCH_PAGE_WALK_H

#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** Called once per page: its directory descriptor, name, path relative to the root, bytes. */
typedef void (*page_fn)(int dirfd, const char *name, const char *rel, const char *text, size_t len,
                        void *ud);

typedef struct page_walk {
    char *buf; /* grows to the largest page, reused */
    size_t cap;
    size_t pages, bytes;
    page_fn fn;
    void *ud;
} page_walk;

static int is_page(const char *n)
{
    size_t l = strlen(n);
    return (l >= 3 && strcmp(n + l - 3, ".md") == 0) ||
           (l >= 9 && strcmp(n + l - 9, ".markdown") == 0);
}

/* openat + read + close, as md4c's own md2html would, plus growth for pages over the buffer.
 * A regular file's read returns less than asked only at end of file, so a page that fits costs
 * one read. */
static void read_page(page_walk *w, int dfd, const char *name, const char *rel)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(rel);
        return;
    }
    size_t len = 0;
    for (;;) {
        if (w->cap - len < 4096) {
            w->cap = w->cap ? w->cap * 2 : (size_t)1 << 20;
            if ((w->buf = realloc(w->buf, w->cap)) == NULL)
                abort();
        }
        ssize_t r = read(fd, w->buf + len, w->cap - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if ((size_t)r < w->cap - (len - (size_t)r))
            break; /* short read: end of file */
    }
    close(fd);
    w->pages++;
    w->bytes += len;
    w->fn(dfd, name, rel, w->buf, len, w->ud);
}

/* Walk the folder @p dfd (closed here), whose path under the root is @p rel. */
static void walk_dir(page_walk *w, int dfd, const char *rel)
{
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue; /* hidden pages count, as fastmd's walk counts them */
        unsigned char type = de->d_type;
        if (type == DT_UNKNOWN) {
            struct stat sb;
            if (fstatat(dfd, n, &sb, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        char sub[4096];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", n);
        if (type == DT_DIR) {
            int cfd = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (cfd >= 0)
                walk_dir(w, cfd, sub);
        } else if (type == DT_REG && is_page(n)) {
            read_page(w, dfd, n, sub);
        }
    }
    closedir(d);
}

/** Visit every page under @p root. @return 0, or -1 when root cannot be opened. */
static int page_walk_run(page_walk *w, const char *root)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        perror(root);
        return -1;
    }
    walk_dir(w, fd, "");
    free(w->buf);
    return 0;
}

#endif
