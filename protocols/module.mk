# Each protocols/NAME.rl is one protocol: ragel makes the parser, pfgen its
# event list.  NAME_grammar.rl files are included by their NAME.rl and never
# compiled alone.  protocols/NAME.fsm is a default session table a protocol
# ships where its RFC fixes the sequencing (services bind its handlers).
# Hand-written codec code is protocols/*.c.  All of it is libpfproto.a,
# which links with no handler.
PROTO_RL := $(filter-out %_grammar.rl,$(wildcard protocols/*.rl))
PROTO_FSM := $(wildcard protocols/*.fsm)
PROTO_SRC += $(wildcard protocols/*.c)
PROTO_HDR := $(wildcard protocols/*.h)
$(foreach f,$(PROTO_RL),$(eval $(call pf_protocol_rules,$(f),$(GEN_PROTO))))
$(foreach f,$(PROTO_FSM),$(eval $(call pf_machine_rules,$(f),$(GEN_PROTO),$(PROTO_RL),protocols)))
$(foreach f,$(PROTO_RL),$(eval $(GEN_PROTO)/$(call pf__base,$(f)).c: $(wildcard $(f:.rl=_grammar.rl))))
PROTO_GEN_C := $(filter $(GEN_PROTO)/%,$(PF_GEN_SRC))
