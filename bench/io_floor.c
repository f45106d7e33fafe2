/* SPDX-License-Identifier: MIT */
/* The I/O floor of bench/whole-process.sh: what any build of SRC must do at least, with no
 * rendering. Reads every page under SRC and writes its bytes unchanged, one thread:
 *   fmd-io-floor SRC OUT          into one file, as `fastmd build --ndjson OUT` writes one;
 *   fmd-io-floor --tree SRC OUT   into OUT/<path>.html per page (folders made as needed), as
 *                                 `fastmd build SRC OUT` writes a tree. */
#include "page_walk.h"

#include <errno.h>

typedef struct floor_out {
    FILE *one;      /* single-file mode */
    int root;       /* tree mode: OUT */
    char dir[4096]; /* tree mode: the last folder made under OUT */
    int failed;
} floor_out;

/* Make every folder of @p rel's parent under the root, once per folder run. */
static void make_parents(floor_out *o, const char *rel)
{
    const char *slash = strrchr(rel, '/');
    size_t n = slash ? (size_t)(slash - rel) : 0;
    if (n == 0 || (strlen(o->dir) == n && memcmp(o->dir, rel, n) == 0))
        return;
    char path[4096];
    memcpy(path, rel, n);
    path[n] = '\0';
    for (char *p = path;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdirat(o->root, path, 0777) != 0 && errno != EEXIST)
                o->failed = 1;
            *p = c;
            if (c == '\0')
                break;
        }
    }
    memcpy(o->dir, path, n + 1);
}

static void copy(int dirfd, const char *name, const char *rel, const char *text, size_t len,
                 void *ud)
{
    floor_out *o = ud;
    (void)dirfd, (void)name;
    if (o->one != NULL) {
        fwrite(text, 1, len, o->one);
        return;
    }
    make_parents(o, rel);
    char path[4096];
    size_t stem = strlen(rel) - (strrchr(rel, '.') ? strlen(strrchr(rel, '.')) : 0);
    snprintf(path, sizeof path, "%.*s.html", (int)stem, rel);
    int fd = openat(o->root, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        o->failed = 1;
    if (fd >= 0 && close(fd) != 0)
        o->failed = 1;
}

int main(int argc, char **argv)
{
    int tree = argc == 4 && strcmp(argv[1], "--tree") == 0;
    if (argc != 3 + tree) {
        fprintf(stderr, "usage: %s [--tree] SRC OUT\n", argv[0]);
        return 2;
    }
    const char *src = argv[1 + tree], *dst = argv[2 + tree];
    floor_out o = {.root = -1};
    if (tree) {
        if (mkdir(dst, 0777) != 0 && errno != EEXIST) {
            perror(dst);
            return 1;
        }
        o.root = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        o.one = fopen(dst, "w");
    }
    if (o.root < 0 && o.one == NULL) {
        perror(dst);
        return 1;
    }
    page_walk w = {.fn = copy, .ud = &o};
    int rc = page_walk_run(&w, src);
    if (o.one != NULL && fclose(o.one) != 0)
        o.failed = 1;
    if (o.root >= 0)
        close(o.root);
    if (rc != 0 || o.failed) {
        fprintf(stderr, "io floor: a page could not be written under %s\n", dst);
        return 1;
    }
    fprintf(stderr, "io floor: %zu pages, %zu bytes\n", w.pages, w.bytes);
    return 0;
}
