/* The shipped tests use the installed test kit (protofsm/testkit.h) like
 * any author's tests; this header is where test-only additions would go. */
#ifndef PF_TESTUTIL_H
#define PF_TESTUTIL_H

#include "protofsm/testkit.h"

#endif
