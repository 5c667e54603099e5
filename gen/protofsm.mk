# protofsm.mk: make rules for a project outside protofsm that keeps its own
# protocols as .rl files and generates their C at build time.
#
#   PF_PROTOCOLS := foo bar          # foo.rl and bar.rl
#   PF_PROTO_DIR := proto            # where the .rl files are (default: .)
#   PF_GEN_DIR   := build/gen        # where generated files go (default)
#   include $(shell pkg-config --variable=mk protofsm)
#
#   CFLAGS += $(shell pkg-config --cflags protofsm) -I$(PF_GEN_DIR)
#   LDLIBS += $(shell pkg-config --libs protofsm)
#   app: main.c $(PF_GEN_SRC) | $(PF_GEN_HDR)
#   	$(CC) $(CFLAGS) -o $@ main.c $(PF_GEN_SRC) $(LDLIBS)
#
# For each protocol foo this makes
#   $(PF_GEN_DIR)/foo.c                    ragel $(RAGEL_FLAGS) (the parser)
#   $(PF_GEN_DIR)/foo_fsm.c, foo_fsm.h     pfgen (the session tables)
#   $(PF_GEN_DIR)/foo.dot                  pfgen (a Graphviz picture)
# and sets
#   PF_GEN_SRC   every generated .c to compile and link
#   PF_GEN_HDR   every generated header; list it as an order-only
#                prerequisite of objects that include one (a first build has
#                no dependency files yet)
#   PF_GEN_DOT   the pictures
#   PF_GEN_CFLAGS  warnings to turn off for Ragel's output, which falls
#                through switch cases and may leave tables unused; add them
#                when compiling $(PF_GEN_SRC) with -Wextra -Werror
# Targets: pf-gen (generate everything), pf-clean (delete what it generated).
#
# Tools: RAGEL (default ragel), RAGEL_FLAGS (default -G2), PFGEN (default:
# the pfgen that `pkg-config --variable=pfgen protofsm` names, else pfgen on
# PATH).  Generated files are rebuilt when the .rl or pfgen changes (pfgen as
# resolved on PATH, so a new pfgen there counts too), and when one of them is
# deleted.  Ragel gets the .rl path as written here, so its #line directives
# point at it.  Needs GNU make 4.3 or later (grouped targets).

ifeq ($(filter grouped-target,$(.FEATURES)),)
$(error protofsm.mk needs GNU make 4.3 or later (grouped targets, &:))
endif

PF_PROTO_DIR ?= .
PF_GEN_DIR ?= build/gen
RAGEL ?= ragel
RAGEL_FLAGS ?= -G2
ifeq ($(origin PFGEN),undefined)
PFGEN := $(or $(shell pkg-config --variable=pfgen protofsm 2>/dev/null),pfgen)
endif
# The file PFGEN runs, to depend on (empty if there is none: the recipe says so).
PF__PFGEN_FILE := $(shell command -v '$(firstword $(PFGEN))' 2>/dev/null)

pf__rl = $(patsubst ./%,%,$(PF_PROTO_DIR)/$(1).rl)
PF_GEN_SRC := $(foreach p,$(PF_PROTOCOLS),$(PF_GEN_DIR)/$(p).c $(PF_GEN_DIR)/$(p)_fsm.c)
PF_GEN_HDR := $(foreach p,$(PF_PROTOCOLS),$(PF_GEN_DIR)/$(p)_fsm.h)
PF_GEN_DOT := $(foreach p,$(PF_PROTOCOLS),$(PF_GEN_DIR)/$(p).dot)
PF_GEN_CFLAGS := -Wno-implicit-fallthrough -Wno-unused-const-variable

# One pfgen run writes all three outputs: a grouped target, so make runs it
# once (also with -j) and again when any of the three is missing.
define pf__rules
$(PF_GEN_DIR)/$(1).c: $(call pf__rl,$(1)) | $(PF_GEN_DIR)/$(1)_fsm.h
	@mkdir -p $$(@D)
	$$(RAGEL) $$(RAGEL_FLAGS) -o $$@ $$<
$(PF_GEN_DIR)/$(1)_fsm.c $(PF_GEN_DIR)/$(1)_fsm.h $(PF_GEN_DIR)/$(1).dot &: $(call pf__rl,$(1)) $(PF__PFGEN_FILE)
	$$(PFGEN) -o $(PF_GEN_DIR) $$<
endef
$(foreach p,$(PF_PROTOCOLS),$(eval $(call pf__rules,$(p))))

.PHONY: pf-gen pf-clean
pf-gen: $(PF_GEN_SRC) $(PF_GEN_HDR) $(PF_GEN_DOT)
pf-clean:
	rm -f $(PF_GEN_SRC) $(PF_GEN_HDR) $(PF_GEN_DOT)
