/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for the request side of fastmd serve (FMD_FUZZ=ON, clang): the input is what
 * a client writes to stdin. It goes through a pipe into the line reader; each line is parsed, its
 * raw bytes (params.bytes) are read or dropped, and the request is freed, until the input ends.
 * Checks the framing of lines and attachments, the JSON-RPC parse and every error path for
 * crashes, leaks and undefined behaviour.
 *   cmake --build build/fuzz --target fuzz_rpc
 *   ./build/fuzz/tests/fuzz_rpc -max_len=60000 -max_total_time=60 tests/fuzz/rpc-corpus */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 60000) /* stays within the pipe's buffer: written whole before reading */
        return 0;
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    if (size != 0 && write(fds[1], data, size) != (ssize_t)size) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    close(fds[1]);
    fmd_rpc_reader *rd = NULL;
    /* A small limit, so that over-long lines and attachments are exercised too. */
    if (fmd_rpc_reader_create(&rd, fds[0], 4096) != FMD_OK) {
        close(fds[0]);
        return 0;
    }
    fmd_options defaults = {0}; /* io/ does not link the kernel: the defaults by hand */
    defaults.extensions = FMD_EXT_GFM;
    defaults.heading_ids = true;
    for (;;) {
        fmd_slice line;
        int err = 0;
        fmd_status st = fmd_rpc_reader_next(rd, &line, &err);
        if (st == FMD_E_INPUT_LIMIT)
            continue;
        if (st != FMD_OK)
            break;
        fmd_rpc_request *req = NULL;
        if (fmd_rpc_parse(line.ptr, line.len, &defaults, fmd_rpc_reader_max(rd), &req) != FMD_OK)
            continue;
        st = fmd_rpc_read_attachment(req, rd, &err);
        fmd_rpc_request_free(req);
        if (st != FMD_OK)
            break;
    }
    fmd_rpc_reader_destroy(rd);
    close(fds[0]);
    return 0;
}
