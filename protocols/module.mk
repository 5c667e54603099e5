# Each protocols/NAME.rl is one protocol: ragel makes the parser, pfgen the
# session tables.  NAME_grammar.rl files are included by their NAME.rl and
# never compiled alone.  Hand-written glue (handlers, helpers) is protocols/*.c.
PROTO_NAMES += $(filter-out %_grammar,$(basename $(notdir $(wildcard protocols/*.rl))))
PROTO_SRC += $(wildcard protocols/*.c)
$(foreach p,$(PROTO_NAMES),$(eval $(BUILD)/gen/$(p).c: $(wildcard protocols/$(p)_grammar.rl)))
