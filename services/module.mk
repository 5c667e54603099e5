# Every services/NAME/ folder is one service: its session table (NAME.fsm,
# over a protocol's events) and the handlers it binds, plus what they need.
# All services are libpfservices.a; the programs under examples/ pick theirs.
SVC_FSM := $(wildcard services/*/*.fsm)
SVC_SRC += $(wildcard services/*/*.c)
$(foreach f,$(SVC_FSM),$(eval $(call pf_machine_rules,$(f),$(GEN_SVC),$(PROTO_RL),protocols)))
SVC_GEN_C := $(filter $(GEN_SVC)/%,$(PF_GEN_SRC))
