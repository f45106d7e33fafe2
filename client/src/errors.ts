// SPDX-License-Identifier: MIT
// The typed errors of the client. Every error the client raises is a FastmdError; callers tell
// them apart with instanceof. A per-item error is never thrown: it is stored in that item's result.

import type { BatchItemResult } from './types.js';

/** The base class of every error the client raises. */
export class FastmdError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = new.target.name;
    }
}

/** What the sidecar process looked like when it went away. */
export interface SidecarExit {
    /** Process id of the sidecar that went away. */
    pid: number | undefined;
    /** Exit status, or null when a signal ended it. */
    exitCode: number | null;
    /** The signal that ended it, or null. */
    signal: NodeJS.Signals | null;
    /** Why the client thinks it went away. */
    reason: 'crash' | 'hang' | 'start-failed' | 'closed';
}

/**
 * The sidecar died (a crash, a kill, a non-zero exit, or a hang the client ended), or could not
 * be started. `final` is true once the restart budget is spent: the client is then unusable.
 */
export class SidecarCrashedError extends FastmdError {
    readonly exit: SidecarExit | undefined;
    /** The last lines the sidecar wrote to stderr, oldest first. */
    readonly stderr: string[];
    /** True when the client gave up restarting the sidecar. */
    readonly final: boolean;
    /** How many times in a row the sidecar failed, this one included. */
    readonly failures: number;
    constructor(
        message: string,
        init: { exit?: SidecarExit; stderr?: string[]; final?: boolean; failures?: number; cause?: unknown } = {},
    ) {
        super(message, { cause: init.cause });
        this.exit = init.exit;
        this.stderr = init.stderr ?? [];
        this.final = init.final ?? false;
        this.failures = init.failures ?? 0;
    }
}

/** Why a sidecar cannot start, whatever the number of tries. */
export type StartProblem = 'binary' | 'usage' | 'root';

/**
 * The sidecar cannot start, and trying again cannot help: no fastmd binary was found or it cannot
 * be run ('binary'), it rejected its arguments with exit status 64 ('usage'), or the root does not
 * exist or is not a directory ('root'). Never retried: final is always true.
 */
export class SidecarStartError extends SidecarCrashedError {
    readonly problem: StartProblem;
    constructor(
        problem: StartProblem,
        message: string,
        init: { exit?: SidecarExit; stderr?: string[]; cause?: unknown } = {},
    ) {
        super(message, { ...init, final: true, failures: 1 });
        this.problem = problem;
    }
}

/** Fields shared by the errors that end a batch early. */
export interface PartialBatch<R> {
    /** Items whose results had arrived when the batch stopped. */
    completed: number;
    total: number;
    /**
     * transformBatch only: the results that had arrived, in input order, with no gaps: each one
     * carries its input position as `index`. Undefined for a single transform and for
     * transformBatchStream (its items were yielded).
     */
    results?: R[];
}

/** The call was cancelled through its AbortSignal, or a stream was left early. */
export class CancelledError extends FastmdError {
    completed = 0;
    total = 0;
    results?: BatchItemResult[];
    constructor(message = 'cancelled', options?: { cause?: unknown }) {
        super(message, options);
    }
}

/** The call did not finish within its timeoutMs. The work was cancelled on the sidecar too. */
export class TimeoutError extends FastmdError {
    readonly timeoutMs: number;
    completed = 0;
    total = 0;
    results?: BatchItemResult[];
    constructor(timeoutMs: number, what = 'call') {
        super(`${what} timed out after ${timeoutMs} ms`);
        this.timeoutMs = timeoutMs;
    }
}

/**
 * The sidecar broke the protocol: a line that is not JSON, a response to an id the client never
 * used, a batch that ended without all its items. Reported through the client's 'warning' event
 * when it concerns no call in particular; thrown when it makes a call's answer unusable.
 */
export class ProtocolError extends FastmdError {
    /** The offending line, cut to 500 characters, when there is one. */
    readonly line: string | undefined;
    constructor(message: string, line?: string) {
        super(message);
        this.line = line === undefined ? undefined : line.length > 500 ? `${line.slice(0, 500)}…` : line;
    }
}

/** The sidecar answered a request with a JSON-RPC error (invalid params, overloaded, ...). */
export class RpcError extends FastmdError {
    /** The JSON-RPC error code (-32602 invalid params, -32601 unknown method, ...). */
    readonly code: number;
    readonly data: unknown;
    readonly method: string;
    constructor(method: string, code: number, message: string, data?: unknown) {
        super(`${method}: ${message} (${code})`);
        this.code = code;
        this.data = data;
        this.method = method;
    }
}

/** The client was closed: no more calls are accepted, and work not yet sent is dropped. */
export class ClosedError extends FastmdError {
    constructor(message = 'the fastmd client is closed') {
        super(message);
    }
}

/**
 * One page failed (bad front matter, unreadable file, a path that leads out of the root, a
 * limit). In a batch it is stored in that item's result and never thrown; a single transform()
 * rejects with it.
 */
export class ItemError extends FastmdError {
    /** The sidecar's error code for the item: 'frontmatter', 'outside-root', 'no-input', 'io', ... */
    readonly code: number | string | undefined;
    readonly file: string;
    readonly index: number;
    /** 1-based position in the page, when the sidecar gave one. */
    readonly line: number | undefined;
    readonly column: number | undefined;
    readonly data: unknown;
    constructor(
        file: string,
        index: number,
        err: { code?: number | string; message?: string; line?: number; column?: number; data?: unknown },
    ) {
        super(`${file}: ${err.message ?? 'failed'}`);
        this.code = err.code;
        this.file = file;
        this.index = index;
        this.line = err.line ?? undefined;
        this.column = err.column ?? undefined;
        this.data = err.data;
    }
}

/** The error for a call ended through @p signal: its reason when that is one of ours. */
export function cancelledBySignal(signal: AbortSignal): CancelledError {
    const reason = signal.reason as unknown;
    if (reason instanceof CancelledError || reason instanceof TimeoutError) return reason as CancelledError;
    return new CancelledError('cancelled through the AbortSignal', { cause: reason });
}
