# Every tests/unit/test_*.c and tests/integ/test_*.c is one cmocka program,
# linked against the protocols and the runtime.  Integration tests find the
# example binaries through $PF_BUILD.
UNIT_TEST_SRC := $(wildcard tests/unit/test_*.c)
INTEG_TEST_SRC := $(wildcard tests/integ/test_*.c)
TESTS += $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_TEST_SRC))
TESTS += $(patsubst tests/integ/%.c,$(BUILD)/tests/%,$(INTEG_TEST_SRC))
# The HTTP/1.1 parser's tests again on its SSE2 path (see the script).
TEST_SCRIPTS += tests/unit/http1_narrow.sh
# The runtime and conformance suites on the poll and sigio backends.
TEST_SCRIPTS += tests/integ/backends.sh

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBS) -lcmocka

$(BUILD)/tests/%: $(BUILD)/obj/tests/integ/%.o $(LIBS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIBS) -lcmocka

# Benchmarks: tests/bench/bench_*.c; BENCH_LIBS_<name> adds peer libraries.
BENCH_LIBS_bench_http1_parser := -lhttp_parser
BENCH_LIBS_bench_resp_parser := -lhiredis
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCHES += $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(LIBS)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(LIBS) $(BENCH_LIBS_$*)

# PICO_DIR=dir (picohttpparser.c and .h, fetched by whoever measures; never
# kept here) adds picohttpparser to bench_http1_parser, built alone with
# PICO_CFLAGS (default: the project's OPT) so either side's flags can move.
# A stamp holding both rebuilds the bench when they change.
PICO_DIR ?=
PICO_CFLAGS ?= $(OPT)
PICO_STAMP := $(BUILD)/obj/pico/settings
PICO_NOW := $(PICO_DIR) $(CC) $(PICO_CFLAGS)
$(shell mkdir -p $(dir $(PICO_STAMP)) && { [ -f $(PICO_STAMP) ] && [ "$$(cat $(PICO_STAMP))" = '$(PICO_NOW)' ] || printf '%s' '$(PICO_NOW)' > $(PICO_STAMP); })
$(BUILD)/obj/tests/bench/bench_http1_parser.o: $(PICO_STAMP)
ifneq ($(PICO_DIR),)
PICO_OBJ := $(BUILD)/obj/pico/picohttpparser.o
$(PICO_OBJ): $(PICO_DIR)/picohttpparser.c $(PICO_STAMP)
	$(call say,CC,$<)
	$(Q)$(CC) $(PICO_CFLAGS) -I$(PICO_DIR) -c -o $@ $<
$(BUILD)/obj/tests/bench/bench_http1_parser.o: CPPFLAGS_ALL += -DHAVE_PICO -isystem $(PICO_DIR)
$(BUILD)/bench/bench_http1_parser: $(PICO_OBJ)
endif

bench-run: all $(BENCHES)
	$(Q)PF_BUILD=$(BUILD) sh tests/bench/run.sh $(BENCHES)

# libFuzzer targets: tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus/NAME.
# Built with clang into their own folder, whatever CC says.
FUZZ_BUILD := build/fuzz
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all $(INC_ALL) -MMD -MP
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS += $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRC))
# The runtime, protocols and services go into one archive; each fuzzer links
# the objects it references.
FUZZ_LIB_SRC = $(LIB_SRC) $(PROTO_SRC) $(SVC_SRC) $(PF_GEN_SRC)
FUZZ_LIB_OBJ = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(subst $(BUILD)/gen/,generated/,$(FUZZ_LIB_SRC)))
FUZZ_LIB := $(FUZZ_BUILD)/libfuzzprotofsm.a
$(FUZZ_BUILD)/obj/generated/%.o: $(BUILD)/gen/%.c $(GEN_H)
	$(call say,FUZZCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) $(RAGEL_WARN) -c -o $@ $<
$(FUZZ_BUILD)/obj/%.o: %.c $(GEN_H)
	$(call say,FUZZCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -c -o $@ $<
$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_LIB) $(GEN_H)
	$(call say,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -MF $@.d -o $@ $< $(FUZZ_LIB) -pthread
# Their dependency files: a changed runtime header rebuilds them too.
-include $(shell find $(FUZZ_BUILD) -name '*.d' 2>/dev/null)

FUZZ_SECONDS ?= 60
fuzz-run: $(FUZZERS)
	$(Q)for f in $(FUZZERS); do n=$${f##*/fuzz_}; mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  echo "== $$f for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done
