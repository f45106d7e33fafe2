/* SPDX-License-Identifier: MIT */
/* What the engine's formatting files share (not on any other module's include path). */
#ifndef FMD_ENGINE_REPORT_PRIVATE_H
#define FMD_ENGINE_REPORT_PRIVATE_H

#include "fmd_arena.h"

/* printf into @p b; one call formats at most 511 bytes. Returns FMD_OK, FMD_E_NOMEM, or
 * FMD_E_USAGE on an encoding error (no format of the engine has one). */
__attribute__((format(printf, 2, 3))) fmd_status fmd__engine_putf(fmd_buf *b, const char *fmt, ...);

#endif
