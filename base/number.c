/* SPDX-License-Identifier: MIT */
/* Whole numbers and byte sizes from flags and the environment (fmd_number.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "fmd_number.h"

/* The leading decimal digits of @p s into *v, *end after them; false when there are none, on a
 * sign or space (strtoull would take those) or on overflow. */
static bool digits(const char *s, unsigned long long *v, char **end)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    *v = strtoull(s, end, 10);
    return errno == 0;
}

bool fmd_uint_parse(const char *s, unsigned long long lo, unsigned long long hi,
                    unsigned long long *out)
{
    unsigned long long v;
    char *end;
    if (!digits(s, &v, &end) || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool fmd_size_parse(const char *s, size_t *out)
{
    unsigned long long v;
    char *end;
    if (!digits(s, &v, &end))
        return false;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K': shift = 10; break;
    case 'm':
    case 'M': shift = 20; break;
    case 'g':
    case 'G': shift = 30; break;
    default: break;
    }
    if (shift != 0)
        end++;
    if (*end == 'i' || *end == 'B')
        end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
    if (*end != '\0' || v > (SIZE_MAX >> shift))
        return false;
    *out = (size_t)(v << shift);
    return true;
}
