/* SPDX-License-Identifier: MIT */
/* The build's SIGINT/SIGTERM handler: it only stores the signal and sets the engine's cancel
 * flag (both async-signal-safe: lock-free atomics). Everything else (the
 * message, the journal, the exit code) happens on the main thread once the engine returns. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "signals.h"

/* File-scope because a signal handler has no other way in; cli/ only. The handler writes where
 * these point: the process's own flags, or a supervisor's shared region. */
static _Atomic int own_flag, own_caught;
static _Atomic int *cancel_flag = &own_flag;
static _Atomic int *caught = &own_caught;

static void on_signal(int sig)
{
    atomic_store_explicit(caught, sig, memory_order_relaxed);
    atomic_store_explicit(cancel_flag, 1, memory_order_relaxed);
}

const _Atomic int *cli_signals_install_shared(_Atomic int *flag, _Atomic int *sig)
{
    cancel_flag = flag;
    caught = sig;
    return cli_signals_install();
}

const _Atomic int *cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* SA_RESETHAND: a second Ctrl-C is not caught, so an impatient user can still end it. */
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return cancel_flag;
}

int cli_signals_caught(void)
{
    return atomic_load_explicit(caught, memory_order_relaxed);
}

void cli_signals_restore(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}
