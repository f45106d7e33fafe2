/* SPDX-License-Identifier: MIT */
/* Text for fmd_status values: a sentence for people and a stable name for machines. */
#include "fmd_status.h"

#include <stddef.h>

static const struct {
    const char *name;
    const char *text;
} status_text[FMD_STATUS_COUNT] = {
    [FMD_OK] = {"ok", "success"},
    [FMD_E_NOMEM] = {"out-of-memory", FMD_NOMEM_TEXT},
    [FMD_E_INPUT_LIMIT] = {"input-limit", "page is larger than the input limit"},
    [FMD_E_OUTPUT_LIMIT] = {"output-limit", "rendered HTML is larger than the output limit"},
    [FMD_E_FRONTMATTER] = {"frontmatter", "front matter is not valid YAML"},
    [FMD_E_PARSE] = {"parse", "the Markdown parser failed"},
    [FMD_E_IO] = {"io", "input/output error"},
    [FMD_E_USAGE] = {"usage", "invalid arguments"},
    [FMD_E_NOINPUT] = {"no-input", "cannot open input"},
    [FMD_E_CANTCREATE] = {"cant-create", "cannot create output"},
    [FMD_E_COLLISION] = {"collision", "two pages map to the same output path"},
    [FMD_E_UTF8] = {"utf8", "invalid UTF-8 replaced with U+FFFD"},
    [FMD_E_CANCELLED] = {"cancelled", "cancelled"},
    [FMD_E_RULE] = {"rule", "a custom rule is invalid"},
    [FMD_E_DEADLINE] = {"deadline", "rendering took longer than the page's deadline"},
    [FMD_E_CRASHED] = {"crashed", "the page ended the worker process twice (crash or killed)"},
    [FMD_E_TIMEOUT] = {"timeout", "the page outlived its deadline and its worker was killed"},
};

const char *fmd_status_str(fmd_status st)
{
    if ((unsigned)st >= FMD_STATUS_COUNT || status_text[st].text == NULL)
        return "unknown status";
    return status_text[st].text;
}

const char *fmd_status_name(fmd_status st)
{
    if ((unsigned)st >= FMD_STATUS_COUNT || status_text[st].name == NULL)
        return "unknown";
    return status_text[st].name;
}

bool fmd_status_is_transient(fmd_status st)
{
    return st == FMD_E_NOMEM;
}
