# protofsm: one non-recursive make.  Each directory's module.mk appends to
# the lists below; everything is built out of tree under $(BUILD).
#
#   make                 build libraries, pfgen, examples
#   make test            build and run every test (installs missing deps as root)
#   make run             start the showcase service in the foreground
#   make bench / fuzz / diagrams / gen / install PREFIX=... / clean
#   SAN=address,undefined or SAN=thread   sanitizer build in its own folder
#   CC=clang             the other compiler; V=1 shows full commands

.DEFAULT_GOAL := all
comma := ,

SAN ?=
ifeq ($(SAN),)
BUILD ?= build
else
BUILD ?= build/san-$(subst $(comma),-,$(SAN))
endif

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
RAGEL ?= ragel
PREFIX ?= /usr/local
OPT ?= -O2

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wno-unused-parameter
CPPFLAGS_ALL := -D_GNU_SOURCE
# Assertions check the runtime's ownership rules and the engine's
# invariants: on in the sanitizer builds and with DEBUG=1, off otherwise.
ifeq ($(SAN)$(DEBUG),)
CPPFLAGS_ALL += -DNDEBUG
endif
CFLAGS_ALL := -std=c11 $(OPT) -g -pthread $(WARN) -MMD -MP
LDFLAGS_ALL := -pthread
ifneq ($(SAN),)
CFLAGS_ALL += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS_ALL += -fsanitize=$(SAN)
endif
CFLAGS_ALL += $(CFLAGS)
CPPFLAGS_ALL += $(CPPFLAGS)
LDFLAGS_ALL += $(LDFLAGS)

# Each layer sees only the headers below it, so the compiler enforces the
# layering: the runtime knows no protocol, a protocol no service.
GEN_PROTO := $(BUILD)/gen/protocols
GEN_SVC := $(BUILD)/gen/services
INC_RUNTIME := -Iruntime/include
INC_PROTO := $(INC_RUNTIME) -Iprotocols -I$(GEN_PROTO)
INC_SVC := $(INC_PROTO) -Iservices -I$(GEN_SVC)
INC_ALL := $(INC_SVC)

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

# Filled by the module.mk fragments.
LIB_SRC :=        # runtime: libprotofsm.a
PROTO_SRC :=      # hand-written protocol code (codecs): libpfproto.a
SVC_SRC :=        # services: libpfservices.a
BINS :=           # programs under $(BUILD)/bin
TESTS :=          # test programs run by `make test`
TEST_SCRIPTS :=   # extra test commands run by `make test`
BENCHES :=        # programs run by `make bench`
FUZZERS :=        # libFuzzer targets (clang only)

PFGEN := $(BUILD)/bin/pfgen
RAGEL_WARN := -Wno-implicit-fallthrough -Wno-unused-const-variable
LIB := $(BUILD)/lib/libprotofsm.a
PROTOLIB := $(BUILD)/lib/libpfproto.a
SVCLIB := $(BUILD)/lib/libpfservices.a
LIBS := $(SVCLIB) $(PROTOLIB) $(LIB)

# Rebuild everything when the flags change (Redis's .make-settings idea).
FLAGS_FILE := $(BUILD)/flags
FLAGS_NOW := $(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL)
$(shell mkdir -p $(BUILD) && { [ -f $(FLAGS_FILE) ] && [ "$$(cat $(FLAGS_FILE))" = '$(FLAGS_NOW)' ] || printf '%s' '$(FLAGS_NOW)' > $(FLAGS_FILE); })

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
genobj = $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/generated/%.o,$(1))

# The generation rules are the ones a user's project gets (gen/protofsm.mk),
# with the pfgen built here.
PF_PROTOCOLS :=
PF_MACHINES :=
PF_INCLUDE :=
PF_PFGEN_DEP := $(PFGEN)
PF_QUIET := $(if $(filter 1,$(V)),,1)
include gen/protofsm.mk

# protocols/ first: the generated file lists are prerequisites in the rest.
include gen/module.mk
include protocols/module.mk
include services/module.mk
GEN_H := $(PF_GEN_HDR)
GEN_DOT := $(PF_GEN_DOT)
include runtime/module.mk
include examples/module.mk
include tests/module.mk
LIB_OBJ := $(call obj,$(LIB_SRC))
PROTO_OBJ := $(call obj,$(PROTO_SRC)) $(call genobj,$(PROTO_GEN_C))
SVC_OBJ := $(call obj,$(SVC_SRC)) $(call genobj,$(SVC_GEN_C))

.PHONY: all gen diagrams test run bench fuzz install clean deps deps-test deps-run
all: $(LIB) $(PROTOLIB) $(SVCLIB) $(BINS)

# INC is the layer's include path (see above); programs and tests see all.
INC = $(INC_ALL)
$(BUILD)/obj/runtime/%.o: INC = $(INC_RUNTIME)
$(BUILD)/obj/protocols/%.o $(BUILD)/obj/generated/protocols/%.o: INC = $(INC_PROTO)
$(BUILD)/obj/services/%.o $(BUILD)/obj/generated/services/%.o: INC = $(INC_SVC)

$(BUILD)/obj/%.o: %.c $(FLAGS_FILE) | $(GEN_H)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(INC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

# Generated parsers: ragel's output has #line directives pointing at the .rl,
# and -G2 code falls through case labels and leaves tables unused by design.
$(BUILD)/obj/generated/%.o: $(BUILD)/gen/%.c $(FLAGS_FILE) | $(GEN_H)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(INC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(RAGEL_WARN) -c -o $@ $<

$(LIB): $(LIB_OBJ)
$(PROTOLIB): $(PROTO_OBJ)
$(SVCLIB): $(SVC_OBJ)
$(LIB) $(PROTOLIB) $(SVCLIB):
	$(call say,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

gen: $(PF_GEN_SRC) $(GEN_H) $(GEN_DOT)
	@echo "generated files are in $(BUILD)/gen"

diagrams: $(GEN_DOT:.dot=.svg)
	@echo "diagrams are in $(BUILD)/gen"
$(BUILD)/gen/%.svg: $(BUILD)/gen/%.dot
	$(call say,DOT,$<)
	$(Q)dot -Tsvg -o $@ $<

deps:
	@sh gen/deps.sh build
deps-test:
	@sh gen/deps.sh test
deps-run:
	@sh gen/deps.sh run

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Targets that need packages first: install (or name) what is missing, then
# do the real work in a second make so nothing races the install.
STEP_test := test-run
STEP_run := run-showcase
STEP_bench := bench-run
STEP_fuzz := fuzz-run
test run bench fuzz:
	@sh gen/deps.sh $@
	@$(MAKE) --no-print-directory $(STEP_$@)

.PHONY: test-run run-showcase bench-run fuzz-run
test-run: all $(TESTS)
	$(Q)PF_BUILD=$(BUILD) PF_SAN=$(SAN) sh tests/run-tests.sh $(TESTS) $(TEST_SCRIPTS)

# The runtime, and the protocols as a library a project links alone (the
# parsers, their event lists and default tables, codec helpers): headers
# under include/protofsm/protocols, the .rl files where pfgen finds them for
# `over` (pkg-config's protodir), pfproto.pc.  Services are not installed.
install: $(LIB) $(PROTOLIB) $(PFGEN) $(GEN_H)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/protofsm/protocols $(DESTDIR)$(PREFIX)/share/protofsm/protocols
	install -m 755 $(PFGEN) $(DESTDIR)$(PREFIX)/bin/pfgen
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libprotofsm.a
	install -m 644 $(PROTOLIB) $(DESTDIR)$(PREFIX)/lib/libpfproto.a
	install -m 644 runtime/include/protofsm/*.h $(DESTDIR)$(PREFIX)/include/protofsm/
	install -m 644 $(PROTO_HDR) $(filter $(GEN_PROTO)/%,$(GEN_H)) \
	    $(DESTDIR)$(PREFIX)/include/protofsm/protocols/
	install -m 644 $(wildcard protocols/*.rl) $(DESTDIR)$(PREFIX)/share/protofsm/protocols/
	install -m 644 gen/protofsm.mk $(DESTDIR)$(PREFIX)/share/protofsm/protofsm.mk
	for pc in protofsm pfproto; do \
	    sed -e 's|@PREFIX@|$(PREFIX)|g' gen/$$pc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/$$pc.pc; done
.SECONDARY:
