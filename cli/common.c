/* SPDX-License-Identifier: MIT */
/* Flags shared by the commands, the thread-count precedence, messages and exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmd_engine_placement.h"
#include "fmd_engine_profile.h"
#include "fmd_io.h"
#include "fmd_number.h"
#include "fmd_numa.h"
#include "cli.h"

const char cli_common_help[] =
    "  --dialect gfm|commonmark  Markdown dialect (default gfm: tables, strikethrough,\n"
    "                            task lists, autolinks; commonmark turns every extension off)\n"
    "  --unsafe                  pass raw HTML and every URL scheme through\n"
    "  --no-heading-ids          do not add id=\"slug\" to headings\n"
    "  --id-prefix STR           put STR before every heading and footnote ID and the links\n"
    "                            to them (default none; letters, digits, - _ . : only)\n"
    "  --threads N|auto          worker threads (default: FASTMD_WORKERS, then\n"
    "                            OMP_NUM_THREADS, then the physical cores this process may use;\n"
    "                            auto: those cores minus the load average)\n"
    "  --max-input-bytes N       fail pages larger than N (default 64M; K/M/G suffixes)\n"
    "  --max-output-bytes N      fail pages whose HTML passes N (default max(16M, 64 x input))\n"
    "  --max-frontmatter-bytes N fail pages whose front matter passes N, unparsed (default 1M)\n"
    "  --footnotes               GFM footnotes ([^label] references and definitions)\n"
    "  --smart                   smart punctuation: curly quotes, en/em dashes, ellipses\n"
    "  --html5                   void elements as <br> rather than <br />\n"
    "  --rules FILE              custom replacements applied before parsing: a JSON array of\n"
    "                            {\"pattern\", \"replacement\", \"regex\": bool} (PCRE2 when "
    "regex)\n"
    "  --quiet                   print only errors\n"
    "  --help                    show this help\n";

void cli_common_init(cli_common *c)
{
    memset(c, 0, sizeof *c);
    fmd_kernel_options_default(&c->opt);
}

/* "fastmd: COMMAND: message" and a newline on stderr. */
static void vwarn(const char *command, const char *fmt, va_list ap)
{
    fprintf(stderr, "fastmd: %s%s", command ? command : "", command ? ": " : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_warn(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(command, fmt, ap);
    va_end(ap);
}

_Noreturn void cli_die(int code, const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(command, fmt, ap);
    va_end(ap);
    if (code == FMD_EXIT_USAGE)
        fprintf(stderr, "Try 'fastmd %s%s--help'.\n", command ? command : "", command ? " " : "");
    exit(code);
}

/* --rules FILE: a JSON array of {pattern, replacement, regex?}, compiled once for the run. */
static void load_rules(cli_common *c, const char *path, const char *command)
{
    char msg[512];
    fmd_kernel_rules_destroy(c->rules);
    c->rules = NULL;
    c->opt.rules = NULL;
    fmd_status st = fmd_engine_rules_load(path, &c->rules, msg, sizeof msg);
    if (st == FMD_E_NOMEM)
        cli_die(FMD_EXIT_OSERR, command, FMD_NOMEM_TEXT);
    if (st != FMD_OK)
        cli_die(st == FMD_E_NOINPUT ? FMD_EXIT_NOINPUT : FMD_EXIT_USAGE, command, "--rules %s%s",
                path, msg);
    c->opt.rules = c->rules;
}

void cli_common_free(cli_common *c)
{
    fmd_kernel_rules_destroy(c->rules);
    c->rules = NULL;
    c->opt.rules = NULL;
}

int cli_getopt(int argc, char **argv, const struct option *longopts, int *longindex)
{
    opterr = 0;
    int code = getopt_long(argc, argv, ":h", longopts, longindex);
    return code == 'h' ? OPT_HELP : code;
}

_Noreturn void cli_bad_option(const char *command, char **argv, int code)
{
    if (code == ':')
        cli_die(FMD_EXIT_USAGE, command, "option '%s' needs a value", argv[optind - 1]);
    cli_die(FMD_EXIT_USAGE, command, "unknown option '%s'", argv[optind - 1]);
}

int cli_common_option(cli_common *c, int code, const char *arg, const char *command)
{
    switch (code) {
    case OPT_DIALECT:
        if (strcmp(arg, "gfm") == 0)
            fmd_kernel_options_set_dialect(&c->opt, FMD_DIALECT_GFM);
        else if (strcmp(arg, "commonmark") == 0)
            fmd_kernel_options_set_dialect(&c->opt, FMD_DIALECT_COMMONMARK);
        else
            cli_die(FMD_EXIT_USAGE, command, "--dialect must be gfm or commonmark, not '%s'", arg);
        return 1;
    case OPT_UNSAFE: c->opt.unsafe = true; return 1;
    case OPT_NO_HEADING_IDS: c->opt.heading_ids = false; return 1;
    case OPT_THREADS: c->threads_arg = arg; return 1;
    case OPT_MAX_INPUT:
        if (!fmd_size_parse(arg, &c->opt.max_input_bytes) || c->opt.max_input_bytes == 0)
            cli_die(FMD_EXIT_USAGE, command, "--max-input-bytes: '%s' is not a size", arg);
        return 1;
    case OPT_MAX_OUTPUT:
        if (!fmd_size_parse(arg, &c->opt.max_output_bytes) || c->opt.max_output_bytes == 0)
            cli_die(FMD_EXIT_USAGE, command, "--max-output-bytes: '%s' is not a size", arg);
        return 1;
    case OPT_MAX_FRONTMATTER:
        if (!fmd_size_parse(arg, &c->opt.max_frontmatter_bytes) ||
            c->opt.max_frontmatter_bytes == 0)
            cli_die(FMD_EXIT_USAGE, command, "--max-frontmatter-bytes: '%s' is not a size", arg);
        return 1;
    case OPT_QUIET: c->quiet = true; return 1;
    case OPT_FOOTNOTES: c->opt.extensions |= FMD_EXT_FOOTNOTES; return 1;
    case OPT_SMART: c->opt.extensions |= FMD_EXT_SMART; return 1;
    case OPT_HTML5: c->opt.xhtml = false; return 1;
    case OPT_ID_PREFIX:
        if (!fmd_kernel_id_prefix_valid(arg))
            cli_die(FMD_EXIT_USAGE, command,
                    "--id-prefix: '%s' is not letters, digits, '-', '_', '.' and ':' (at most %d "
                    "bytes)",
                    arg, FMD_MAX_ID_PREFIX_BYTES);
        c->opt.id_prefix = arg;
        return 1;
    case OPT_RULES: load_rules(c, arg, command); return 1;
    default: return 0;
    }
}

int cli_resolve_threads(const cli_common *c, const char *command)
{
    const char *from[][2] = {
        {"--threads", c->threads_arg},
        {"FASTMD_WORKERS", getenv("FASTMD_WORKERS")},
        {"OMP_NUM_THREADS", getenv("OMP_NUM_THREADS")},
    };
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        const char *v = from[i][1];
        if (v == NULL || (i > 0 && *v == '\0'))
            continue;
        /* OMP_NUM_THREADS may be a list ("4,2"): its first element is the outer level. */
        char buf[32];
        if (i == 2) {
            size_t n = strcspn(v, ",");
            if (n >= sizeof buf)
                n = sizeof buf - 1;
            memcpy(buf, v, n);
            buf[n] = '\0';
            v = buf;
        }
        unsigned long long t;
        if (!fmd_uint_parse(v, 1, 4096, &t))
            cli_die(FMD_EXIT_USAGE, command, "%s must be a whole number from 1 to 4096, not '%s'",
                    from[i][0], from[i][1]);
        return (int)t;
    }
    return 0; /* nothing set: the plan takes one thread per physical core */
}

fmd_engine_placement_opts cli_placement_opts(const cli_common *c, const char *command)
{
    bool autoth = c->threads_arg != NULL && strcmp(c->threads_arg, "auto") == 0;
    /* FASTMD_TOPOLOGY: an hwloc synthetic description ("pack:2 numa:2 core:2 pu:1") to plan for
     * instead of this machine; threads are then not bound. For tests of the NUMA split on a
     * single-node machine (docs/configuration.md). */
    const char *synthetic = getenv("FASTMD_TOPOLOGY");
    fmd_engine_placement_opts o = {
        .threads = autoth ? 0 : cli_resolve_threads(c, command),
        .auto_threads = autoth,
        .profile_div = c->threads_arg == NULL ? c->profile_div : 0,
        .user_binding = fmd_numa_binding_user(getenv("OMP_PROC_BIND"), getenv("OMP_PLACES")) ||
                        getenv("GOMP_CPU_AFFINITY") != NULL,
        .no_bind = c->no_bind,
        .record_affinity = c->report_affinity,
        .synthetic = synthetic != NULL && *synthetic != '\0' ? synthetic : NULL,
    };
    return o;
}

void cli_topology_warn(fmd_status topo_st, int err, const char *command)
{
    if (topo_st != FMD_OK)
        cli_warn(command,
                 "warning: cannot read the machine topology (%s%s%s); threads are not bound",
                 fmd_status_str(topo_st), err ? ": " : "", err ? strerror(err) : "");
}

fmd_status cli_placement_open(fmd_placement *pl, const cli_common *c, const char *command)
{
    fmd_engine_placement_opts o = cli_placement_opts(c, command);
    fmd_status topo_st;
    int err;
    fmd_status st = fmd_engine_placement_open(pl, &o, &topo_st, &err);
    cli_topology_warn(topo_st, err, command);
    return st;
}

void cli_placement_report(const fmd_placement *pl, const char *command)
{
    fmd_arena *a = NULL;
    if (fmd_arena_create(&a, 0) != FMD_OK)
        return;
    fmd_buf b;
    fmd_buf_reset(&b, a);
    if (fmd_numa_warnings_format(pl->topo, pl->plan, &b) == FMD_OK && b.len != 0)
        fprintf(stderr, "fastmd: %s: %.*s", command, (int)b.len, b.ptr);
    fmd_arena_destroy(a);
}

void cli_placement_close(fmd_placement *pl)
{
    fmd_engine_placement_close(pl);
}

void cli_check_output_path(const char *path, const char *what, const char *command)
{
    fmd_io_target_kind kind;
    int err = 0;
    fmd_status st = fmd_io_target_classify(AT_FDCWD, path, &kind, &err);
    if (st != FMD_OK)
        cli_die(cli_exit_code(st), command, "%s %s: %s%s%s", what, path, fmd_status_str(st),
                err ? ": " : "", err ? strerror(err) : "");
}

int cli_exit_code(fmd_status st)
{
    switch (st) {
    case FMD_OK: return FMD_EXIT_OK;
    case FMD_E_USAGE: return FMD_EXIT_USAGE;
    case FMD_E_NOINPUT: return FMD_EXIT_NOINPUT;
    case FMD_E_CANTCREATE: return FMD_EXIT_CANTCREAT;
    case FMD_E_IO: return FMD_EXIT_IOERR;
    case FMD_E_NOMEM: return FMD_EXIT_OSERR;
    default: return FMD_EXIT_SOFTWARE;
    }
}

void cli_progress_line(size_t done, size_t total, double elapsed_s, bool final, void *userdata)
{
    (void)userdata;
    fprintf(stderr, "\rfastmd: %zu/%zu pages (%.0f%%), %.1f s, %.0f pages/s   ", done, total,
            total ? 100.0 * (double)done / (double)total : 100.0, elapsed_s,
            elapsed_s > 0 ? (double)done / elapsed_s : 0.0);
    if (final)
        fputc('\n', stderr);
}

/*** Profiles and windows ***/

void cli_tuning_option(cli_tuning *t, int code, const char *arg, const char *command)
{
    size_t v;
    switch (code) {
    case OPT_MAX_MEMORY:
        if (!fmd_size_parse(arg, &v) || v < ((size_t)1 << 20))
            cli_die(FMD_EXIT_USAGE, command, "--max-memory: '%s' is not a size of 1M or more", arg);
        t->max_memory = v;
        t->max_memory_set = true;
        break;
    case OPT_QUEUE_SIZE: {
        unsigned long long q;
        if (!fmd_uint_parse(arg, 1, 1024, &q))
            cli_die(FMD_EXIT_USAGE, command, "--queue-size must be from 1 to 1024, not '%s'", arg);
        t->queue_size = (size_t)q;
        t->queue_size_set = true;
        break;
    }
    case OPT_PROFILE: t->profile = arg; break;
    default: break;
    }
}

void cli_tuning_apply(cli_tuning *t, cli_common *c, const char *command)
{
    fmd_engine_profile p;
    if (t->profile != NULL) {
        if (!fmd_engine_profile_find(t->profile, &p))
            cli_die(FMD_EXIT_USAGE, command, "--profile must be low, medium or high, not '%s'",
                    t->profile);
        c->profile_div = p.threads_div;
        if (!t->queue_size_set)
            t->queue_size = p.queue_size;
        if (!t->max_memory_set)
            t->max_memory = p.max_memory;
    }
    if (t->queue_size == 0)
        t->queue_size = 1;
}

fmd_schedule cli_parse_schedule(const char *arg, const char *command)
{
    if (strcmp(arg, "lpt") == 0)
        return FMD_SCHED_LPT;
    if (strcmp(arg, "dynamic") == 0)
        return FMD_SCHED_DYNAMIC;
    cli_die(FMD_EXIT_USAGE, command, "--schedule must be lpt or dynamic, not '%s'", arg);
}
