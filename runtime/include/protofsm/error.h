/* protofsm error space.
 *
 * Every fallible call returns int (or ssize_t): zero or positive is success,
 * negative is -errno.  Codes of our own live in a reserved negative range below
 * -PF__ERRBASE so they never collide with an errno value.  pf_strerror() names
 * both kinds. */
#ifndef PROTOFSM_ERROR_H
#define PROTOFSM_ERROR_H

#define PF__ERRBASE 4000

/* X(name, value, text).  Only codes some call returns; values are never
 * reused (-4002 and -4004 were codes nothing returned). */
#define PF_ERRNO_MAP(X)                                                      \
    X(PF_ENOROW, -(PF__ERRBASE + 1), "no table row for this state and event") \
    X(PF_ECLOSED, -(PF__ERRBASE + 3), "session is closed")

enum {
#define PF__ERR_ENUM(name, value, text) name = (value),
    PF_ERRNO_MAP(PF__ERR_ENUM)
#undef PF__ERR_ENUM
};

/* Text for a negative error code (ours or -errno).  Never NULL; the string
 * is static.  Thread-safe. */
const char *pf_strerror(int err);

#endif
