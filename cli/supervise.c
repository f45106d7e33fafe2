/* SPDX-License-Identifier: MIT */
/* The supervisor of `fastmd build`: it forks the worker (which runs the whole build, engine and
 * messages included), polls it for pages past their deadline, and when it dies of a signal,
 * reads the pages it had in flight from the shared region (fmd_guard.h), decides their verdicts
 * and starts a fresh worker that resumes from the journal. It never starts OpenMP or a parser. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "supervise.h"

/* How long past --page-timeout a page may stay in flight before its worker is killed. The
 * parser's own deadline normally fails the page long before; the grace covers writing its file
 * on a loaded machine. */
#define GRACE_NS ((int64_t)2000000000)
/* How often the supervisor looks at the pages in flight for their deadline (10 wake-ups a second:
 * nothing next to the grace). The worker's end wakes it at once, through a pidfd. */
#define POLL_MS 100
/* Without a pidfd (a kernel before 5.3), how often it polls for the worker's end. */
#define POLL_NS 10000000L
/* Worker deaths with no page in flight (in the walk, the loader, the writer pool) before the
 * supervisor gives up: nothing can be retried around them. */
#define MAX_BLIND_DEATHS 2

/* Signals that end a worker because the user, the terminal or the pipe said so: passed on, never
 * taken for a crash of a page. */
static bool asked_to_end(int sig)
{
    return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGPIPE || sig == SIGQUIT;
}

/* Run the worker until it ends; kill it when a page outlives @p limit_ns. @p killed receives the
 * slot of the page it was killed for (or -1), @p page and @p start what that slot held. */
static int wait_worker(fmd_guard *g, pid_t pid, int64_t limit_ns, int *killed, uint64_t *page,
                       int64_t *start, const char *command)
{
    *killed = -1;
    int pfd = pidfd_open(pid, 0);
    for (;;) {
        int status = 0;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            if (pfd >= 0)
                close(pfd);
            return status;
        }
        if (w < 0 && errno != EINTR)
            cli_die(FMD_EXIT_OSERR, command, "cannot wait for the worker process: %s",
                    strerror(errno));
        if (limit_ns > 0 && *killed < 0) {
            int64_t now = fmd_guard_now_ns();
            for (int t = 0; t < g->n_slots; t++) {
                uint64_t p = atomic_load_explicit(&g->slots[t].page, memory_order_acquire);
                int64_t s = atomic_load_explicit(&g->slots[t].start_ns, memory_order_relaxed);
                if (p == 0 || now - s <= limit_ns ||
                    atomic_load_explicit(&g->slots[t].page, memory_order_acquire) != p)
                    continue;
                *killed = t;
                *page = p;
                *start = s;
                kill(pid, SIGKILL);
                break;
            }
        }
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            poll(&p, 1, POLL_MS); /* readable once the worker has ended */
        } else {
            struct timespec ts = {0, POLL_NS};
            nanosleep(&ts, NULL);
        }
    }
}

/* A worker died of @p sig: count a death against each page it had in flight. @return how many. */
static int blame_in_flight(fmd_guard *g, int sig, const char *src, const char *command)
{
    int n = 0;
    for (int t = 0; t < g->n_slots; t++) {
        fmd_guard_slot *s = &g->slots[t];
        if (atomic_load_explicit(&s->page, memory_order_acquire) == 0)
            continue;
        n++;
        if (fmd_guard_note(g, s->path, FMD_GUARD_SUSPECT) != FMD_OK)
            cli_die(FMD_EXIT_SOFTWARE, command,
                    "%d pages have ended the worker process; giving up (see the messages above)",
                    FMD_GUARD_MAX_PAGES);
        const fmd_guard_page *v = fmd_guard_find(g, s->path);
        if (v->verdict == FMD_GUARD_CRASHED)
            cli_warn(command,
                     "%s/%s: the worker process died of %s (signal %d) on this page again; it "
                     "fails with \"crashed\"",
                     src, s->path, strsignal(sig), sig);
        else
            cli_warn(command,
                     "%s/%s: the worker process died of %s (signal %d) with this page in flight; "
                     "retrying it alone in a fresh worker",
                     src, s->path, strsignal(sig), sig);
    }
    return n;
}

bool cli_supervise(fmd_guard *g, unsigned page_timeout_ms, const char *src, const char *command,
                   void (*first_forked)(void *), void *ud)
{
    pid_t self = getpid();
    int blind = 0;
    bool first = true;
    int64_t limit_ns = page_timeout_ms ? (int64_t)page_timeout_ms * 1000000 + GRACE_NS : 0;
    g->mode = FMD_GUARD_ALL;
    for (;;) {
        fmd_guard_reset_slots(g);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0)
            cli_die(FMD_EXIT_OSERR, command, "cannot start the worker process: %s",
                    strerror(errno));
        if (pid == 0) {
            /* The worker ends with its supervisor, however that ends. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != self)
                _exit(FMD_EXIT_SOFTWARE);
            return first;
        }
        if (first && first_forked != NULL)
            first_forked(ud);
        first = false;
        int killed;
        uint64_t kpage = 0;
        int64_t kstart = 0;
        int status = wait_worker(g, pid, limit_ns, &killed, &kpage, &kstart, command);
        if (WIFEXITED(status)) {
            int code = WEXITSTATUS(status);
            if (g->mode == FMD_GUARD_RETRY && code == FMD_EXIT_OK) {
                fmd_guard_clear_suspects(g); /* each went through alone */
                g->mode = FMD_GUARD_ALL;
                continue;
            }
            exit(code);
        }
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
        int asked = atomic_load_explicit(&g->signal, memory_order_relaxed);
        if (asked != 0 || asked_to_end(sig))
            exit(128 + (asked != 0 ? asked : sig)); /* the user's stop, not a page's crash */
        if (killed >= 0) {
            fmd_guard_slot *s = &g->slots[killed];
            if (atomic_load_explicit(&s->page, memory_order_acquire) == kpage &&
                atomic_load_explicit(&s->start_ns, memory_order_relaxed) == kstart) {
                if (fmd_guard_note(g, s->path, FMD_GUARD_TIMEOUT) != FMD_OK)
                    cli_die(FMD_EXIT_SOFTWARE, command,
                            "%d pages have ended the worker process; giving up",
                            FMD_GUARD_MAX_PAGES);
                cli_warn(command,
                         "%s/%s: still rendering %.1f s after --page-timeout ran out: its worker "
                         "was killed; the page fails with \"timeout\"",
                         src, s->path, (double)GRACE_NS / 1e9);
            }
            /* else the page finished just before the kill: the worker resumes, nothing blamed */
        } else if (blame_in_flight(g, sig, src, command) == 0) {
            if (++blind > MAX_BLIND_DEATHS)
                cli_die(FMD_EXIT_SOFTWARE, command,
                        "the worker process died of %s (signal %d) %d times outside any page; "
                        "giving up (--no-supervisor runs the build in one process)",
                        strsignal(sig), sig, blind);
            cli_warn(command,
                     "the worker process died of %s (signal %d) outside any page; resuming in a "
                     "fresh worker",
                     strsignal(sig), sig);
        }
        g->mode = fmd_guard_has_suspects(g) ? FMD_GUARD_RETRY : FMD_GUARD_ALL;
    }
}
