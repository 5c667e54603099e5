# pfgen, the table generator: every gen/*.c.  Its objects must not wait for
# generated headers (pfgen makes them), hence the static pattern rule.
PFGEN_SRC := $(wildcard gen/*.c)
PFGEN_OBJ := $(call obj,$(PFGEN_SRC))
BINS += $(PFGEN)

$(PFGEN_OBJ): $(BUILD)/obj/gen/%.o: gen/%.c $(FLAGS_FILE)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(PFGEN): $(PFGEN_OBJ)
	$(call say,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^

# The pfgen fuzzer (tests/fuzz/fuzz_pfgen.c) includes the generator's sources.
build/fuzz/fuzz_pfgen: $(filter-out gen/pfgen.c,$(PFGEN_SRC)) gen/pfgen.h
