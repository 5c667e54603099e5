/* pf_strerror: one table for our codes, strerror_r for the rest. */
#include <string.h>

#include "protofsm/error.h"

const char *pf_strerror(int err)
{
    switch (err) {
#define PF__ERR_CASE(name, value, text) case name: return text;
        PF_ERRNO_MAP(PF__ERR_CASE)
#undef PF__ERR_CASE
    default:
        break;
    }
    if (err >= 0)
        return "success";
    /* strerror() is not thread-safe; strerrordesc_np (glibc 2.32) is, and
     * returns static text. */
    const char *t = strerrordesc_np(-err);
    return t ? t : "unknown error";
}
