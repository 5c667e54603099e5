/* C identifier rules for names that end up in generated C: every name must
 * be an identifier; handler and machine names are declared at file scope as
 * written, so they must also avoid the C11 keywords and reserved names. */
#include <string.h>

#include "pfgen.h"

static const char *const keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if",
    "inline", "int", "long", "register", "restrict", "return", "short",
    "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
    "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof",
    "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
    "_Static_assert", "_Thread_local",
};

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

const char *pfg_ident_problem(const char *s, size_t len, int strict)
{
    if (len == 0 || !is_alpha((unsigned char)s[0]))
        return "not a C identifier";
    for (size_t i = 1; i < len; i++)
        if (!is_alpha((unsigned char)s[i]) && !(s[i] >= '0' && s[i] <= '9'))
            return "not a C identifier";
    if (!strict)
        return "";
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i]) == len && memcmp(keywords[i], s, len) == 0)
            return "a C keyword";
    if (s[0] == '_' && len > 1 && (s[1] == '_' || (s[1] >= 'A' && s[1] <= 'Z')))
        return "a reserved identifier";
    return "";
}
