# Every examples/NAME/ folder is one program, $(BUILD)/bin/NAME, made of the
# .c files in it and the services it uses.
EXAMPLES := $(sort $(patsubst examples/%/,%,$(dir $(wildcard examples/*/*.c))))
BINS += $(foreach e,$(EXAMPLES),$(BUILD)/bin/$(e))

# Every machine's diagram, embedded for the admin page (gen/embed_svg.sh):
# an object every example links, registering them at start-up.
DIAGRAMS_C := $(BUILD)/gen/diagrams.c
DIAGRAMS_OBJ := $(call genobj,$(DIAGRAMS_C))
$(DIAGRAMS_C): gen/embed_svg.sh $(GEN_DOT)
	$(call say,EMBED,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sh gen/embed_svg.sh $@ $(GEN_DOT)

define pf_example
$(BUILD)/bin/$(1): $(call obj,$(wildcard examples/$(1)/*.c)) $(DIAGRAMS_OBJ) $(LIBS)
	$$(call say,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $(LIBS) $$(LDLIBS_$(1))
endef
$(foreach e,$(EXAMPLES),$(eval $(call pf_example,$(e))))

# `make run` starts the showcase in the foreground (Ctrl-C drains, exits 0).
run-showcase: $(BUILD)/bin/showcase
	$(BUILD)/bin/showcase
