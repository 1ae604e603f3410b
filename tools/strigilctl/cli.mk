# strigilctl documentation and shell integration (cli helper).
# For `make install` (deploy helper):
#   CLI_MAN        -> $(PREFIX)/share/man/man1/strigilctl.1
#   CLI_COMPLETION -> $(PREFIX)/share/bash-completion/completions/strigilctl
CLI_MAN_SRC    := tools/strigilctl/strigilctl.1.scd
CLI_MAN        := $(BUILD)/man/strigilctl.1
CLI_COMPLETION := tools/strigilctl/strigilctl.bash-completion

$(CLI_MAN): $(CLI_MAN_SRC)
	@mkdir -p $(@D)
	scdoc < $< > $@

ALL_TARGETS += $(CLI_MAN)
