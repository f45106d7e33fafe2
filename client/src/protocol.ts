// SPDX-License-Identifier: MIT
// The names and numbers of the `fastmd serve` protocol (docs/protocol.md) that the client relies
// on: JSON-RPC error codes, method names, notification names, item error codes and the exit
// statuses of the binary. Every other file takes them from here; none spells a literal of its own.

/** JSON-RPC error codes the sidecar answers with (docs/protocol.md, "Errors"). */
export const ErrorCode = {
    /** The line is not JSON (or not UTF-8, or has a duplicate key). */
    PARSE_ERROR: -32700,
    /** Not a JSON-RPC request, or a line over --max-line-bytes. */
    INVALID_REQUEST: -32600,
    /** Unknown method. */
    METHOD_NOT_FOUND: -32601,
    /** A field is missing or has the wrong type; a rule that does not compile. */
    INVALID_PARAMS: -32602,
    /** Out of memory while answering; also what the client assumes for an error without a code. */
    INTERNAL_ERROR: -32603,
    /** The request's queue is full: try again later. */
    OVERLOADED: -32001,
    /** transform: the page could not be transformed; data is the item error. */
    PAGE_FAILED: -32002,
    /** A cancelled batch (LSP's RequestCancelled). */
    REQUEST_CANCELLED: -32800,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Requests the client sends. */
export const Method = {
    PING: 'ping',
    SHUTDOWN: 'shutdown',
    TRANSFORM: 'transform',
    NORMALIZE: 'normalize',
    COMPUTE_DIGEST: 'computeDigest',
    TRANSFORM_BATCH: 'transformBatch',
    CANCEL: 'cancel',
    HEALTH: 'health',
    STATS: 'stats',
} as const;
export type Method = (typeof Method)[keyof typeof Method];

/** Notifications: LSP's cancel (client to server) and the batch's (server to client). */
export const Notification = {
    /** Client to server: give up on request {id}. */
    CANCEL_REQUEST: '$/cancelRequest',
    /** {batchId, completed, total, failed, currentFile}. */
    PROGRESS: 'progress',
    /** One item of a streamed batch, as JSON. */
    BATCH_ITEM: 'batchItem',
    /** Items of a streamed batch, their HTML as params.bytes raw bytes after the line. */
    BATCH_FRAME: 'batchFrame',
    /** {name, value, threshold, state: 'raised' | 'cleared'}: an --alert threshold crossed. */
    ALERT: 'alert',
} as const;
export type Notification = (typeof Notification)[keyof typeof Notification];

/** The stable codes of a failed item (`error.code` of a batch item; `data.code` of PAGE_FAILED). */
export const ItemErrorCode = {
    OUTSIDE_ROOT: 'outside-root',
    NO_INPUT: 'no-input',
    IO: 'io',
    INPUT_LIMIT: 'input-limit',
    OUTPUT_LIMIT: 'output-limit',
    FRONTMATTER: 'frontmatter',
    PARSE: 'parse',
    OUT_OF_MEMORY: 'out-of-memory',
    UTF8: 'utf8',
    RULE: 'rule',
    DEADLINE: 'deadline',
} as const;
export type ItemErrorCode = (typeof ItemErrorCode)[keyof typeof ItemErrorCode];

/** Exit statuses of `fastmd serve` (sysexits.h) that the client treats as final at start-up. */
export const ExitCode = {
    OK: 0,
    /** A usage error: a flag or value the binary does not accept. Restarting cannot help. */
    USAGE: 64,
    /** An input that does not exist (a --root that is missing or not a directory). */
    NO_INPUT: 66,
    /** The server could not start (out of memory, thread creation). */
    SOFTWARE: 70,
} as const;
