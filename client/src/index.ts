// SPDX-License-Identifier: MIT
// @fastmd/client: the Node.js client of `fastmd serve`.
export { createFastmd, Fastmd } from './client.js';
export { BinaryNotFoundError, findBinary, resolveBinary } from './binary.js';
export type { BinaryResolution, BinarySource } from './binary.js';
export type { RestartInfo, ResubmitInfo } from './client.js';
export {
    CancelledError,
    ClosedError,
    FastmdError,
    ItemError,
    ProtocolError,
    RpcError,
    SidecarCrashedError,
    SidecarStartError,
    TimeoutError,
} from './errors.js';
export type { SidecarExit, PartialBatch, StartProblem } from './errors.js';
export type * from './types.js';
export { ErrorCode, ExitCode, ItemErrorCode, Method, Notification } from './protocol.js';
