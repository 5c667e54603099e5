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
CPPFLAGS_ALL := -Iruntime/include -Iprotocols -I$(BUILD)/gen -D_GNU_SOURCE
CFLAGS_ALL := -std=c11 $(OPT) -g -pthread $(WARN) -MMD -MP
LDFLAGS_ALL := -pthread
ifneq ($(SAN),)
CFLAGS_ALL += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS_ALL += -fsanitize=$(SAN)
endif
CFLAGS_ALL += $(CFLAGS)
CPPFLAGS_ALL += $(CPPFLAGS)
LDFLAGS_ALL += $(LDFLAGS)

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

# Filled by the module.mk fragments.
LIB_SRC :=        # runtime: libprotofsm.a
PROTO_NAMES :=    # protocols/NAME.rl with a ragel grammar
PROTO_SRC :=      # hand-written protocol glue: libpfproto.a
BINS :=           # programs under $(BUILD)/bin
TESTS :=          # test programs run by `make test`
TEST_SCRIPTS :=   # extra test commands run by `make test`
BENCHES :=        # programs run by `make bench`
FUZZERS :=        # libFuzzer targets (clang only)

PFGEN := $(BUILD)/bin/pfgen
RAGEL_WARN := -Wno-implicit-fallthrough -Wno-unused-const-variable
LIB := $(BUILD)/lib/libprotofsm.a
PROTOLIB := $(BUILD)/lib/libpfproto.a

# Rebuild everything when the flags change (Redis's .make-settings idea).
FLAGS_FILE := $(BUILD)/flags
FLAGS_NOW := $(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL)
$(shell mkdir -p $(BUILD) && { [ -f $(FLAGS_FILE) ] && [ "$$(cat $(FLAGS_FILE))" = '$(FLAGS_NOW)' ] || printf '%s' '$(FLAGS_NOW)' > $(FLAGS_FILE); })

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# protocols/ first: the generated file lists are prerequisites in the rest.
include gen/module.mk
include protocols/module.mk
GEN_C := $(foreach p,$(PROTO_NAMES),$(BUILD)/gen/$(p).c $(BUILD)/gen/$(p)_fsm.c)
GEN_H := $(foreach p,$(PROTO_NAMES),$(BUILD)/gen/$(p)_fsm.h)
GEN_DOT := $(foreach p,$(PROTO_NAMES),$(BUILD)/gen/$(p).dot)
include runtime/module.mk
include examples/module.mk
include tests/module.mk
LIB_OBJ := $(call obj,$(LIB_SRC))
PROTO_OBJ := $(call obj,$(PROTO_SRC)) $(patsubst $(BUILD)/gen/%.c,$(BUILD)/obj/generated/%.o,$(GEN_C))

.PHONY: all gen diagrams test run bench fuzz install clean deps deps-test deps-run
all: $(LIB) $(PROTOLIB) $(BINS)

$(BUILD)/obj/%.o: %.c $(FLAGS_FILE) | $(GEN_H)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

# Generated parsers: ragel's output has #line directives pointing at the .rl,
# and -G2 code falls through case labels and leaves tables unused by design.
$(BUILD)/obj/generated/%.o: $(BUILD)/gen/%.c $(FLAGS_FILE) | $(GEN_H)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(RAGEL_WARN) -c -o $@ $<

$(BUILD)/gen/%.c: protocols/%.rl
	$(call say,RAGEL,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(RAGEL) -G2 -o $@ $<

$(BUILD)/gen/%_fsm.c $(BUILD)/gen/%_fsm.h $(BUILD)/gen/%.dot &: protocols/%.rl $(PFGEN)
	$(call say,PFGEN,$<)
	$(Q)$(PFGEN) -o $(BUILD)/gen $<

$(LIB): $(LIB_OBJ)
	$(call say,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(PROTOLIB): $(PROTO_OBJ)
	$(call say,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

gen: $(GEN_C) $(GEN_H) $(GEN_DOT)
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

install: $(LIB) $(PFGEN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/protofsm $(DESTDIR)$(PREFIX)/share/protofsm
	install -m 755 $(PFGEN) $(DESTDIR)$(PREFIX)/bin/pfgen
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libprotofsm.a
	install -m 644 runtime/include/protofsm/*.h $(DESTDIR)$(PREFIX)/include/protofsm/
	install -m 644 gen/protofsm.mk $(DESTDIR)$(PREFIX)/share/protofsm/protofsm.mk
	sed -e 's|@PREFIX@|$(PREFIX)|g' gen/protofsm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/protofsm.pc
.SECONDARY:
