# protofsm.mk: make rules for a project that keeps its protocols as .rl
# files and its services' session tables as .fsm files, and generates their
# C at build time.  protofsm's own Makefile uses these rules too.
#
#   PF_PROTOCOLS := foo              # foo.rl: grammar + `protocol foo` events
#   PF_MACHINES  := bar              # bar.fsm: `machine bar over foo` (a table)
#   PF_PROTO_DIR := proto            # where the .rl and .fsm files are (default: .)
#   PF_GEN_DIR   := build/gen        # where generated files go (default)
#   include $(shell pkg-config --variable=mk protofsm)
#
#   CFLAGS += $(shell pkg-config --cflags protofsm) -I$(PF_GEN_DIR)
#   LDLIBS += $(shell pkg-config --libs protofsm)
#   app: main.c $(PF_GEN_SRC) | $(PF_GEN_HDR)
#   	$(CC) $(CFLAGS) -o $@ main.c $(PF_GEN_SRC) $(LDLIBS)
#
# For each protocol foo this makes
#   $(PF_GEN_DIR)/foo.c                        ragel $(RAGEL_FLAGS) (the parser)
#   $(PF_GEN_DIR)/foo_events.c, foo_events.h   pfgen (the event list)
# and for each machine bar
#   $(PF_GEN_DIR)/bar_fsm.c, bar_fsm.h         pfgen (the session table)
#   $(PF_GEN_DIR)/bar.dot                      pfgen (a Graphviz picture)
# A machine `over foo` finds foo.rl in PF_PROTO_DIR, then in PF_INCLUDE
# (default: the protocols protofsm installed, pkg-config's protodir), so a
# table over an installed protocol (`machine site over http1`) needs only
# its .fsm; link the protocol with `pkg-config --libs pfproto`.  It sets
#   PF_GEN_SRC   every generated .c to compile and link
#   PF_GEN_HDR   every generated header; list it as an order-only
#                prerequisite of objects that include one (a first build has
#                no dependency files yet)
#   PF_GEN_DOT   the pictures
#   PF_GEN_CFLAGS  warnings to turn off for Ragel's output, which falls
#                through switch cases and may leave tables unused; add them
#                when compiling the parsers with -Wextra -Werror
# Targets: pf-gen (generate everything), pf-clean (delete what it generated).
# Including this file does not change the project's default goal.
#
# A tree with several folders can call the rules one file at a time:
#   $(eval $(call pf_protocol_rules,path/foo.rl,GENDIR))
#   $(eval $(call pf_machine_rules,path/bar.fsm,GENDIR,PROTOCOL-FILES,INCDIRS))
# (PROTOCOL-FILES: the .rl files a change of which regenerates the table.)
#
# Tools: RAGEL (default ragel), RAGEL_FLAGS (default -G2), PFGEN (default:
# the pfgen that `pkg-config --variable=pfgen protofsm` names, else pfgen on
# PATH).  Generated files are rebuilt when their source or pfgen changes
# (pfgen as resolved on PATH, so a new pfgen there counts too), when a
# machine's protocol files change, and when one of them is deleted.  Ragel
# gets the .rl path as written here, so its #line directives point at it.
# PF_QUIET=1 prints one line per step instead of the commands.  Needs GNU
# make 4.3 or later (grouped targets).

ifeq ($(filter grouped-target,$(.FEATURES)),)
$(error protofsm.mk needs GNU make 4.3 or later (grouped targets, &:))
endif

pf__goal := $(.DEFAULT_GOAL)

PF_PROTO_DIR ?= .
PF_GEN_DIR ?= build/gen
RAGEL ?= ragel
RAGEL_FLAGS ?= -G2
ifeq ($(origin PFGEN),undefined)
PFGEN := $(or $(shell pkg-config --variable=pfgen protofsm 2>/dev/null),pfgen)
endif
ifeq ($(origin PF_INCLUDE),undefined)
PF_INCLUDE := $(shell pkg-config --variable=protodir protofsm 2>/dev/null)
endif
# The file PFGEN runs, to depend on (empty if there is none: the recipe says
# so); a tree that builds pfgen itself sets it to that target.
ifeq ($(origin PF_PFGEN_DEP),undefined)
PF_PFGEN_DEP := $(shell command -v '$(firstword $(PFGEN))' 2>/dev/null)
endif
PF_GEN_CFLAGS := -Wno-implicit-fallthrough -Wno-unused-const-variable

pf__say = $(if $(PF_QUIET),@printf '  %-7s %s\n' $(1) $(2);)
pf__base = $(basename $(notdir $(1)))

# $(1): path/NAME.rl, $(2): the output folder.
define pf_protocol_rules
PF_GEN_SRC += $(2)/$(call pf__base,$(1)).c $(2)/$(call pf__base,$(1))_events.c
PF_GEN_HDR += $(2)/$(call pf__base,$(1))_events.h
$(2)/$(call pf__base,$(1)).c: $(1) | $(2)/$(call pf__base,$(1))_events.h
	$$(call pf__say,RAGEL,$$<)mkdir -p $$(@D) && $$(RAGEL) $$(RAGEL_FLAGS) -o $$@ $$<
$(2)/$(call pf__base,$(1))_events.c $(2)/$(call pf__base,$(1))_events.h &: $(1) $$(PF_PFGEN_DEP)
	$$(call pf__say,PFGEN,$$<)$$(PFGEN) -o $(2) $$<
endef

# $(1): path/NAME.fsm, $(2): the output folder, $(3): protocol files it may
# be over, $(4): folders pfgen searches for them.
define pf_machine_rules
PF_GEN_SRC += $(2)/$(call pf__base,$(1))_fsm.c
PF_GEN_HDR += $(2)/$(call pf__base,$(1))_fsm.h
PF_GEN_DOT += $(2)/$(call pf__base,$(1)).dot
$(2)/$(call pf__base,$(1))_fsm.c $(2)/$(call pf__base,$(1))_fsm.h $(2)/$(call pf__base,$(1)).dot &: $(1) $(3) $$(PF_PFGEN_DEP)
	$$(call pf__say,PFGEN,$$<)$$(PFGEN) -o $(2) $(foreach d,$(4),-I $(d)) $$<
endef

pf__rl = $(patsubst ./%,%,$(PF_PROTO_DIR)/$(1).rl)
pf__fsm = $(patsubst ./%,%,$(PF_PROTO_DIR)/$(1).fsm)
$(foreach p,$(PF_PROTOCOLS),$(eval $(call pf_protocol_rules,$(call pf__rl,$(p)),$(PF_GEN_DIR))))
$(foreach m,$(PF_MACHINES),$(eval $(call pf_machine_rules,$(call pf__fsm,$(m)),$(PF_GEN_DIR),$(foreach p,$(PF_PROTOCOLS),$(call pf__rl,$(p))),$(PF_PROTO_DIR) $(PF_INCLUDE))))

.PHONY: pf-gen pf-clean
pf-gen: $(PF_GEN_SRC) $(PF_GEN_HDR) $(PF_GEN_DOT)
pf-clean:
	rm -f $(PF_GEN_SRC) $(PF_GEN_HDR) $(PF_GEN_DOT)

.DEFAULT_GOAL := $(pf__goal)
