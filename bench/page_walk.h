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

/** The main of a render loop: `PROG SRC OUT` renders every page under SRC with @p fn into the one
 * file OUT (the FILE * is fn's userdata), then prints "LABEL: N pages, B bytes" on stderr.
 * @return the process's exit status: 0, 1 (an I/O failure) or 2 (usage). */
static inline int page_walk_main(int argc, char **argv, page_fn fn, const char *label)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SRC OUT\n", argv[0]);
        return 2;
    }
    FILE *out = fopen(argv[2], "w");
    if (out == NULL) {
        perror(argv[2]);
        return 1;
    }
    page_walk w = {.fn = fn, .ud = out};
    int rc = page_walk_run(&w, argv[1]);
    if (fclose(out) != 0 || rc != 0)
        return 1;
    fprintf(stderr, "%s: %zu pages, %zu bytes\n", label, w.pages, w.bytes);
    return 0;
}

#endif
