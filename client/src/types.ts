// SPDX-License-Identifier: MIT
// The shapes of what `fastmd serve` takes and returns (docs/protocol.md), and the client's options.

import type { ItemError } from './errors.js';

/** A custom replacement applied to the page before parsing. */
export interface Rule {
    pattern: string;
    replacement: string;
    /** PCRE2 pattern when true; literal text otherwise. */
    regex?: boolean;
}

/** Transform options: the original sidecar's names, then fastmd's own. */
export interface TransformOptions {
    gfm?: boolean;
    tables?: boolean;
    footnotes?: boolean;
    strikethrough?: boolean;
    tasklist?: boolean;
    smartPunctuation?: boolean;
    headingIds?: boolean;
    /** Put before every heading and footnote ID and the links to them (e.g. "user-content-"). */
    idPrefix?: string;
    xhtml?: boolean;
    unsafe?: boolean;
    dialect?: 'gfm' | 'commonmark';
    rules?: Rule[];
    /** Retries of an item that failed for a transient cause (I/O, out of memory; never a deadline); default 1. */
    retries?: number;
    [option: string]: unknown;
}

export interface Heading {
    level: number;
    text: string;
    id: string;
}

export interface PageWarning {
    message: string;
    line?: number;
    column?: number;
    [field: string]: unknown;
}

export interface Metadata {
    file: string;
    /** The page's front matter as JSON; null when it has none (as in build's manifest). */
    frontmatter: Record<string, unknown> | null;
    title: string | null;
    headings: Heading[];
    /** The counts, named as in build's manifest. */
    words: number;
    links: number;
    images: number;
    codeBlocks: number;
    /** @deprecated the old name of `words`; sent for one more release. */
    wordCount: number;
    /** @deprecated the old name of `links`. */
    linkCount: number;
    /** @deprecated the old name of `images`. */
    imageCount: number;
    /** @deprecated the old name of `codeBlocks`. */
    codeBlockCount: number;
    /** XXH3-64 of the page, 16 hex digits. */
    hash: string;
    warnings: PageWarning[];
    [field: string]: unknown;
}

/** The result of one page, in the original sidecar's shape. */
export interface TransformResult {
    /** The HTML as an ES module whose default export is the HTML (null with includeCode: false). */
    code: string | null;
    html: string;
    map: null;
    metadata: Metadata;
    dependencies: string[];
    [field: string]: unknown;
}

/** One page of a batch: its path, and its content unless the sidecar should read it from disk. */
export interface BatchFile {
    /** Path, relative to the sidecar's root; read from there when content is absent. */
    file: string;
    content?: string;
}

/** A file of a batch: a BatchFile, or a bare path (read by the sidecar, relative to its root). */
export type BatchInput = BatchFile | string;

/** The result of one item of a batch. A failed item carries its error and never throws. */
export type BatchItemResult =
    | { ok: true; index: number; file: string; result: TransformResult }
    | { ok: false; index: number; file: string; error: ItemError };

export interface BatchProgress {
    /** Items whose results have arrived, across the whole batch (every chunk). */
    completed: number;
    total: number;
    /** Of those, the items that failed. */
    failed: number;
}

export interface BatchOptions {
    /** Transform options, parsed once per chunk by the sidecar. */
    options?: TransformOptions;
    /** Called with the progress of the whole batch, at most every 50 ms and once at the end. */
    onProgress?: (progress: BatchProgress) => void;
    /** Aborting rejects with CancelledError and cancels the batch on the sidecar. */
    signal?: AbortSignal;
    /** Rejects with TimeoutError after this many ms and cancels the batch on the sidecar. */
    timeoutMs?: number;
    /** Items per request to the sidecar (two requests are kept in flight). Default 1000. */
    chunkSize?: number;
    /** Bytes of inline content per request at most (a chunk holds at least one item). Default 16 MiB. */
    chunkBytes?: number;
    /**
     * false: results carry code: null. Otherwise (the default) `code` is built by the client from
     * `html` when first read, exactly as the sidecar would build it, so the HTML crosses the pipe once.
     */
    includeCode?: boolean;
    /**
     * A W3C traceparent ("00-<trace id>-<parent span id>-<flags>"): sent as params._meta.traceparent,
     * so that the sidecar's spans (--trace) join the caller's OpenTelemetry trace.
     */
    traceparent?: string;
}

/** Options of a single call (transform, normalize, ...). */
export interface CallOptions {
    signal?: AbortSignal;
    timeoutMs?: number;
    /** A W3C traceparent, sent as params._meta.traceparent (see BatchOptions.traceparent). */
    traceparent?: string;
}

export interface NormalizeOptions {
    removeBom?: boolean;
    normalizeLf?: boolean;
}

export interface NormalizeResult {
    content: string;
    changed: boolean;
}

export interface DigestFile {
    path: string;
    size: number;
    mtime: number;
}

/** Bytes the sidecar holds (docs/protocol.md, "Memory"). */
export interface MemoryFigures {
    rss: number;
    peakRss: number;
    used: number;
    /** --max-memory; 0: none. */
    limit: number;
    requests: number;
    pending: number;
    held: number;
    refused: number;
    [field: string]: unknown;
}

export interface HealthResult {
    /**
     * 'ok'; 'degraded' (memory or a queue near its bound); 'stalled' (no page finished for
     * --stall-seconds while work waits: the client restarts the sidecar); 'draining' after
     * shutdown while work finishes.
     */
    status: 'ok' | 'degraded' | 'stalled' | 'draining' | (string & {});
    /** One sentence per cause of 'degraded' or 'stalled'. */
    reasons?: string[];
    /** Seconds since the engine last finished a page (or work arrived at an idle sidecar). */
    sinceProgress?: number;
    stallSeconds?: number;
    memory?: MemoryFigures;
    uptime?: number;
    workers?: number;
    lanes?: number;
    queued?: number;
    running?: number;
    smallQueued?: number;
    batches?: Array<{ batchId: string; state: 'running' | 'queued'; completed: number; total: number }>;
    version?: string;
    [field: string]: unknown;
}

/** A batch's statistics, as the sidecar reports them at the end of transformBatch. */
export interface BatchStats {
    total: number;
    ok: number;
    failed: number;
    retried: number;
    cancelled?: number;
    /** Pages answered from the sidecar's result cache, and pages looked up and not found. */
    cacheHits?: number;
    cacheMisses?: number;
    ms: number;
    [field: string]: unknown;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface FastmdOptions {
    /**
     * The fastmd binary: a path, or a bare name looked up on PATH. Default: FASTMD_BINARY, else
     * (in a repository checkout only) its build/release or build/ci build, else `fastmd` on PATH.
     * Not found: createFastmd rejects at once with BinaryNotFoundError, listing what was tried.
     */
    binary?: string;
    /**
     * The root that batch paths are relative to (`--root`). It must exist: a missing root
     * rejects at once with SidecarStartError (problem 'root').
     */
    root?: string;
    /** Worker threads of the sidecar (`--threads`). Default: the sidecar's choice. */
    workers?: number;
    /** Extra environment of the sidecar, on top of process.env. */
    env?: Record<string, string | undefined>;
    /** Extra arguments after `serve`. */
    args?: string[];
    /** Restarts in a row without a successful answer in between before the error is final. Default 3. */
    maxRestarts?: number;
    /** Delay before the first restart; doubled for each failure in a row. Default 100 ms. */
    restartBackoffMs?: number;
    /** Longest delay between restarts. Default 2000 ms. */
    maxBackoffMs?: number;
    /** How often to send `health` while the sidecar runs; 0 turns the hang check off. Default 5000 ms. */
    healthIntervalMs?: number;
    /** A `health` unanswered for this long counts as a hang: the sidecar is killed and restarted. Default 10000 ms. */
    healthTimeoutMs?: number;
    /** How long the sidecar may take to answer its first `ping`. Default 10000 ms. */
    startTimeoutMs?: number;
    /** How many lines of the sidecar's stderr to keep for error messages. Default 20. */
    stderrLines?: number;
    /** Receives the client's own log lines (warnings about the protocol, restarts). */
    logger?: (level: LogLevel, message: string) => void;
}
