/* SPDX-License-Identifier: MIT */
/* The profiles' table (fmd_engine_profile.h); docs/configuration.md repeats it. */
#include <string.h>

#include "fmd_engine_profile.h"

static const fmd_engine_profile profiles[] = {
    {"low", 4, 1, (size_t)256 << 20},
    {"medium", 2, 2, (size_t)1 << 30},
    {"high", 1, 4, (size_t)8 << 30},
};

bool fmd_engine_profile_find(const char *name, fmd_engine_profile *out)
{
    for (size_t k = 0; k < sizeof profiles / sizeof profiles[0]; k++)
        if (strcmp(profiles[k].name, name) == 0) {
            *out = profiles[k];
            return true;
        }
    return false;
}
