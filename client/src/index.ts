// SPDX-License-Identifier: MIT
// @fastmd/client: the Node.js client of `fastmd serve`.
export { createFastmd, Fastmd, resolveBinary } from './client.js';
export type { RestartInfo, ResubmitInfo } from './client.js';
export {
    CancelledError,
    ClosedError,
    FastmdError,
    ItemError,
    ProtocolError,
    RpcError,
    SidecarCrashedError,
    TimeoutError,
} from './errors.js';
export type { SidecarExit, PartialBatch } from './errors.js';
export type * from './types.js';
export { ErrorCode, ExitCode, ItemErrorCode, Method, Notification } from './protocol.js';
