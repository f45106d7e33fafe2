// SPDX-License-Identifier: MIT
// One transformBatch call of the client: split into chunks, two chunks in flight, results put back
// in input order, progress over the whole batch, cancellation on the sidecar, and resubmission of
// the items not yet delivered when the sidecar dies. Every chunk is sent with frames: true (results
// streamed in batchFrame notifications, the HTML as raw bytes), so the client knows which items
// arrived before a crash and sends only the others again: each item is delivered exactly once.

import type { Fastmd } from './client.js';
import type { Connection } from './connection.js';
import {
    cancelledBySignal,
    CancelledError,
    ItemError,
    ProtocolError,
    RpcError,
    SidecarCrashedError,
    TimeoutError,
} from './errors.js';
import { ErrorCode, Method, Notification } from './protocol.js';
import type { BatchInput, BatchItemResult, BatchOptions, BatchProgress, TransformResult } from './types.js';

/** Chunks kept in flight (collect mode) or not yet consumed (stream mode). */
const WINDOW = 2;
const DEFAULT_CHUNK = 1000;
const DEFAULT_CHUNK_BYTES = 16 << 20;
/** Tries of a chunk answered with Overloaded before the error is the batch's. */
const OVERLOADED_TRIES = 30;

interface Submission {
    conn: Connection;
    batchId: string;
    /** Index in the submitted batch -> offset in the chunk. */
    map: number[];
    id: number;
}

interface Chunk {
    start: number;
    end: number;
    /** got[o]: the result of item start+o arrived. */
    got: Uint8Array;
    left: number;
    resubmits: number;
    overloaded: number;
    sub: Submission | null;
    /** The sidecar answered the chunk's request. */
    done: boolean;
}

interface WireFile {
    file: string;
    /** Inline content: its UTF-8 byte count; the bytes follow the request line (params.bytes). */
    contentBytes?: number;
}

export class BatchRun {
    private readonly total: number;
    private readonly chunkSize: number;
    private readonly chunkBytes: number;
    private results: BatchItemResult[] | null = null;
    private readonly buffer = new Map<number, BatchItemResult>();
    private readonly open: Chunk[] = [];
    private nextStart = 0;
    private running = 0;
    private consumed = 0;
    private completed = 0;
    private failed = 0;
    private stopped: Error | null = null;
    private finished = false;
    private last: BatchProgress | null = null;
    private lastEmit = 0;
    private timer: NodeJS.Timeout | undefined;
    private onAbort: (() => void) | undefined;
    private settle: { resolve: (r: BatchItemResult[]) => void; reject: (e: Error) => void } | null = null;
    private waiter: { index: number; resolve: (r: BatchItemResult) => void; reject: (e: Error) => void } | null = null;

    constructor(
        private readonly client: Fastmd,
        private readonly files: readonly BatchInput[],
        private readonly opts: BatchOptions,
        private readonly mode: 'collect' | 'stream',
    ) {
        this.total = files.length;
        this.chunkSize = Math.max(1, Math.floor(opts.chunkSize ?? DEFAULT_CHUNK));
        this.chunkBytes = Math.max(1, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    }

    collect(): Promise<BatchItemResult[]> {
        return new Promise((resolve, reject) => {
            this.results = new Array<BatchItemResult>(this.total);
            this.settle = { resolve, reject };
            this.begin();
        });
    }

    async *stream(): AsyncGenerator<BatchItemResult> {
        this.begin();
        let i = 0;
        try {
            while (i < this.total) {
                if (this.stopped) throw this.stopped;
                let item = this.buffer.get(i);
                if (item === undefined) item = await this.wait(i);
                this.buffer.delete(i);
                i++;
                this.consumed = i;
                this.release();
                yield item;
            }
        } finally {
            if (i < this.total) this.stop(new CancelledError('the stream was left before its end'));
            this.cleanup();
        }
    }

    /*** Start, stop, finish ***/

    private begin(): void {
        const { signal, timeoutMs } = this.opts;
        if (signal?.aborted) {
            this.stop(cancelledBySignal(signal));
            return;
        }
        if (signal) {
            this.onAbort = () => this.stop(cancelledBySignal(signal));
            signal.addEventListener('abort', this.onAbort, { once: true });
        }
        if (timeoutMs !== undefined) this.timer = setTimeout(() => this.stop(new TimeoutError(timeoutMs, Method.TRANSFORM_BATCH)), timeoutMs);
        if (this.total === 0) {
            this.finish();
            return;
        }
        this.pump();
    }

    /** Sends chunks while fewer than WINDOW are open. */
    private pump(): void {
        while (!this.stopped && this.nextStart < this.total && this.open.length < WINDOW) {
            const ch = this.nextChunk();
            this.open.push(ch);
            this.running++;
            this.runChunk(ch).then(
                () => {
                    this.running--;
                    ch.done = true;
                    if (this.stopped) return;
                    if (this.nextStart >= this.total && this.running === 0 && this.mode === 'collect') {
                        this.finish();
                        return;
                    }
                    this.release();
                    this.emitProgress(true);
                },
                (err: Error) => {
                    this.running--;
                    this.stop(err);
                },
            );
        }
    }

    /**
     * Takes the chunks that are done out of the window and sends the next ones. A chunk is done
     * once the sidecar answered its request and, in stream mode, its items were all consumed.
     */
    private release(): void {
        if (this.mode === 'collect') {
            for (let k = this.open.length - 1; k >= 0; k--) if (this.open[k]!.done) this.open.splice(k, 1);
        } else {
            while (this.open.length > 0 && this.open[0]!.done && this.open[0]!.end <= this.consumed) this.open.shift();
            if (this.nextStart >= this.total && this.running === 0 && this.consumed >= this.total) this.finish();
        }
        this.pump();
    }

    private nextChunk(): Chunk {
        const start = this.nextStart;
        let end = start;
        let bytes = 0;
        while (end < this.total && end - start < this.chunkSize) {
            const f = this.files[end]!;
            const len = typeof f === 'string' ? 0 : (f.content?.length ?? 0);
            if (end > start && bytes + len > this.chunkBytes) break;
            bytes += len;
            end++;
        }
        this.nextStart = end;
        return { start, end, got: new Uint8Array(end - start), left: end - start, resubmits: 0, overloaded: 0, sub: null, done: false };
    }

    private finish(): void {
        if (this.finished || this.stopped) return;
        this.finished = true;
        this.emitProgress(true);
        this.cleanup();
        if (this.settle) this.settle.resolve(this.results!);
    }

    /**
     * Ends the batch with @p err: cancels the chunks in flight on the sidecar, sends no more, and
     * rejects the caller. Results that arrived stay in err.results (collect mode).
     */
    private stop(err: Error): void {
        if (this.finished || this.stopped) return;
        this.stopped = err;
        if (err instanceof CancelledError || err instanceof TimeoutError) {
            err.completed = this.completed;
            err.total = this.total;
            // Dense: the results that arrived, in input order, each with its index (filter skips holes).
            if (this.results) err.results = this.results.filter(() => true);
        }
        for (const ch of this.open) {
            const sub = ch.sub;
            if (!sub || !sub.conn.alive) continue;
            const { promise } = sub.conn.request(Method.CANCEL, { batchId: sub.batchId });
            promise.catch((e: unknown) => {
                // A sidecar without `cancel` still knows LSP's $/cancelRequest.
                if (e instanceof RpcError && e.code === ErrorCode.METHOD_NOT_FOUND) sub.conn.notify(Notification.CANCEL_REQUEST, { id: sub.id });
            });
        }
        this.cleanup();
        if (this.settle) this.settle.reject(err);
        if (this.waiter) this.waiter.reject(err);
        this.waiter = null;
    }

    private cleanup(): void {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        if (this.onAbort) this.opts.signal?.removeEventListener('abort', this.onAbort);
        this.onAbort = undefined;
    }

    private wait(index: number): Promise<BatchItemResult> {
        return new Promise((resolve, reject) => {
            if (this.stopped) reject(this.stopped);
            else this.waiter = { index, resolve, reject };
        });
    }

    /*** One chunk ***/

    /**
     * Sends the chunk's items that have no result yet, until all have one. When the sidecar dies,
     * waits for the restarted one and sends the rest again (at most maxRestarts times).
     */
    private async runChunk(ch: Chunk): Promise<void> {
        for (;;) {
            if (this.stopped) return;
            const conn = await this.client.connection();
            if (this.stopped) return;
            const map: number[] = [];
            const files: WireFile[] = [];
            // Inline content goes as raw UTF-8 bytes after the request line, not as JSON strings:
            // neither side escapes or parses page text (docs/protocol.md, params.bytes).
            const attachment: Buffer[] = [];
            let attachedBytes = 0;
            for (let o = 0; o < ch.got.length; o++) {
                if (ch.got[o]) continue;
                map.push(o);
                const f = this.files[ch.start + o]!;
                if (typeof f === 'string' || f.content === undefined) {
                    files.push({ file: typeof f === 'string' ? f : f.file });
                } else {
                    const b = Buffer.from(f.content, 'utf8');
                    attachment.push(b);
                    attachedBytes += b.length;
                    files.push({ file: f.file, contentBytes: b.length });
                }
            }
            const batchId = this.client.newBatchId();
            const sub: Submission = { conn, batchId, map, id: 0 };
            conn.route(batchId, (method, params, bytes) => this.onNotification(ch, sub, method, params, bytes));
            ch.sub = sub;
            // The sidecar never sends `code`: the client builds it from html when it is read. The
            // results come in batchFrame notifications, each followed by its items' HTML as raw
            // bytes: no JSON escaping of the HTML on the sidecar, no JSON parsing of it here.
            const params: Record<string, unknown> = {
                batchId,
                files,
                options: this.opts.options ?? {},
                stream: true,
                frames: true,
                includeCode: false,
            };
            if (attachedBytes > 0) params.bytes = attachedBytes;
            if (this.opts.traceparent) params._meta = { traceparent: this.opts.traceparent };
            const { id, promise } = conn.request<Record<string, unknown>>(Method.TRANSFORM_BATCH, params, attachment);
            sub.id = id;
            try {
                const res = await promise;
                if (this.stopped) return;
                // A sidecar that ignored stream: true sends the results in the answer.
                if (ch.left > 0 && res && Array.isArray(res.results)) {
                    res.results.forEach((r: unknown, k: number) => this.onItem(ch, sub, k, r as Record<string, unknown>));
                }
                if (ch.left > 0) {
                    throw new ProtocolError(
                        `transformBatch ${batchId} ended without the results of ${ch.left} of its ${map.length} items`,
                    );
                }
                this.client.noteSuccess();
                return;
            } catch (e) {
                if (this.stopped) return;
                if (e instanceof SidecarCrashedError && ch.left === 0) return; // died after the last item
                if (e instanceof SidecarCrashedError && !e.final) {
                    if (ch.resubmits >= this.client.maxRestarts) {
                        throw new SidecarCrashedError(
                            `the sidecar died ${ch.resubmits + 1} times while items ${ch.start}..${ch.end - 1} of the batch were in flight; giving up. Last: ${e.message}`,
                            { exit: e.exit, stderr: e.stderr, failures: ch.resubmits + 1, cause: e },
                        );
                    }
                    ch.resubmits++;
                    this.client.emit('resubmit', { items: ch.left, chunkStart: ch.start, attempt: ch.resubmits });
                    continue;
                }
                if (e instanceof RpcError && e.code === ErrorCode.OVERLOADED && ch.overloaded < OVERLOADED_TRIES) {
                    ch.overloaded++;
                    await new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** ch.overloaded)));
                    continue;
                }
                if (e instanceof RpcError && e.code === ErrorCode.REQUEST_CANCELLED) {
                    const c = new CancelledError(`the sidecar cancelled batch ${batchId}`, { cause: e });
                    throw c;
                }
                throw e;
            } finally {
                conn.unroute(batchId);
                ch.sub = null;
            }
        }
    }

    private onNotification(
        ch: Chunk,
        sub: Submission,
        method: string,
        params: Record<string, unknown>,
        bytes?: Buffer,
    ): void {
        if (this.stopped || this.finished) return;
        if (method === Notification.BATCH_FRAME) {
            this.onFrame(ch, sub, params, bytes ?? Buffer.alloc(0));
            this.emitProgress(false);
        } else if (method === Notification.BATCH_ITEM) {
            const k = params.index;
            if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= sub.map.length) {
                this.client.report(new ProtocolError(`batchItem of ${sub.batchId} with index ${String(k)} out of range`, JSON.stringify(params)));
                return;
            }
            this.onItem(ch, sub, k, params);
            this.emitProgress(false);
        } else if (method === Notification.PROGRESS) {
            this.emitProgress(false);
        } else {
            this.client.report(new ProtocolError(`unknown notification ${method} for batch ${sub.batchId}`));
        }
    }

    /**
     * A batchFrame arrived: params.items[j] is {index, result} or {index, error}, and its HTML is
     * the next params.lengths[j] bytes of @p bytes (UTF-8), in item order.
     */
    private onFrame(ch: Chunk, sub: Submission, params: Record<string, unknown>, bytes: Buffer): void {
        const items = params.items;
        const lengths = params.lengths;
        const bad = (why: string) =>
            this.client.report(new ProtocolError(`batchFrame of ${sub.batchId}: ${why}; the frame is dropped`));
        if (!Array.isArray(items) || !Array.isArray(lengths) || items.length !== lengths.length) {
            bad('items and lengths are not arrays of the same length');
            return;
        }
        let total = 0;
        for (const n of lengths) {
            if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
                bad(`length ${String(n)} is not a byte count`);
                return;
            }
            total += n;
        }
        if (total !== bytes.length) {
            bad(`its lengths add up to ${total} bytes, but ${bytes.length} came`);
            return;
        }
        let off = 0;
        for (let j = 0; j < items.length; j++) {
            const it = items[j] as Record<string, unknown> | null;
            const n = lengths[j] as number;
            const k = it?.index;
            if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= sub.map.length) {
                this.client.report(new ProtocolError(`batchFrame item of ${sub.batchId} with index ${String(k)} out of range`));
                off += n;
                continue;
            }
            const result = it!.result as Record<string, unknown> | undefined;
            if (result && typeof result === 'object') result.html = bytes.toString('utf8', off, off + n);
            off += n;
            this.onItem(ch, sub, k, it!);
        }
    }

    /** Item @p k of submission @p sub arrived: {result} or {error}. */
    private onItem(ch: Chunk, sub: Submission, k: number, msg: Record<string, unknown>): void {
        const o = sub.map[k]!;
        if (ch.got[o]) {
            this.client.report(new ProtocolError(`item ${k} of batch ${sub.batchId} arrived twice; the second is dropped`));
            return;
        }
        const index = ch.start + o;
        const input = this.files[index]!;
        const file = typeof input === 'string' ? input : input.file;
        let item: BatchItemResult;
        if (msg.error !== undefined && msg.error !== null) {
            const e = msg.error as ConstructorParameters<typeof ItemError>[2];
            item = { ok: false, index, file, error: new ItemError(file, index, typeof e === 'object' ? e : { message: String(e) }) };
        } else if (msg.result && typeof msg.result === 'object') {
            const result = msg.result as TransformResult;
            if (this.opts.includeCode !== false && result.code == null && typeof result.html === 'string') lazyCode(result);
            item = { ok: true, index, file, result };
        } else if ('html' in msg) {
            item = { ok: true, index, file, result: msg as unknown as TransformResult };
        } else {
            this.client.report(new ProtocolError(`item ${k} of batch ${sub.batchId} has neither result nor error`));
            return;
        }
        ch.got[o] = 1;
        ch.left--;
        this.completed++;
        if (!item.ok) this.failed++;
        if (this.results) {
            this.results[index] = item;
        } else {
            this.buffer.set(index, item);
            if (this.waiter && this.waiter.index === index) {
                const w = this.waiter;
                this.waiter = null;
                w.resolve(item);
            }
        }
    }

    /** Calls onProgress with the whole batch's figures: at most every 50 ms, and always at the end. */
    private emitProgress(force: boolean): void {
        const cb = this.opts.onProgress;
        if (!cb || this.stopped) return;
        const p: BatchProgress = { completed: this.completed, total: this.total, failed: this.failed };
        if (this.last && this.last.completed === p.completed && this.last.failed === p.failed) return;
        const now = Date.now();
        if (!force && p.completed < p.total && now - this.lastEmit < 50) return;
        this.last = p;
        this.lastEmit = now;
        try {
            cb(p);
        } catch (e) {
            this.stop(e as Error);
        }
    }
}

/**
 * `code` as docs/protocol.md defines it (`export default \`...\`;` with \\, \`, \${ and \r
 * escaped), built from html the first time it is read: the HTML crosses the pipe once, not twice.
 */
export function moduleCode(html: string): string {
    return `export default \`${html.replace(/[\\`\r]|\$\{/g, escapeInTemplate)}\`;`;
}

function escapeInTemplate(m: string): string {
    return m === '\\' ? '\\\\' : m === '`' ? '\\`' : m === '\r' ? '\\r' : '\\${';
}

function lazyCode(result: TransformResult): void {
    Object.defineProperty(result, 'code', {
        configurable: true,
        enumerable: true,
        get(this: TransformResult) {
            const code = moduleCode(this.html);
            Object.defineProperty(this, 'code', { value: code, writable: true, enumerable: true, configurable: true });
            return code;
        },
        set(this: TransformResult, v: string | null) {
            Object.defineProperty(this, 'code', { value: v, writable: true, enumerable: true, configurable: true });
        },
    });
}

