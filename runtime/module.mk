# The runtime library, libprotofsm.a: every runtime/*.c.  Backend fragments
# (*.c.h) are included by their module and never compiled alone.
LIB_SRC += $(wildcard runtime/*.c)
