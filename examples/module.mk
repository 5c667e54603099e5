# Every examples/NAME/ folder is one program, $(BUILD)/bin/NAME, made of the
# .c files in it and the services it uses.
EXAMPLES := $(sort $(patsubst examples/%/,%,$(dir $(wildcard examples/*/*.c))))
BINS += $(foreach e,$(EXAMPLES),$(BUILD)/bin/$(e))

define pf_example
$(BUILD)/bin/$(1): $(call obj,$(wildcard examples/$(1)/*.c)) $(LIBS)
	$$(call say,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $(LIBS) $$(LDLIBS_$(1))
endef
$(foreach e,$(EXAMPLES),$(eval $(call pf_example,$(e))))

# `make run` starts the showcase in the foreground (Ctrl-C drains, exits 0).
run-showcase: $(BUILD)/bin/showcase
	$(BUILD)/bin/showcase
