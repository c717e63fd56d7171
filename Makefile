# lazymmu: every target installs what is missing first (scripts/setup.sh),
# then builds and runs. `make help` lists the targets.
#
# GNU make exits 2 whenever a recipe fails; the runner's own exit code
# (0 pass, 1 test failed, 2 crash/malformed, 3 timeout, 4 set-up error) is
# shown in make's "Error N" line, and scripts/run gives it unchanged.

SHELL := bash
ARGS ?=
BOOT ?= direct
RUN := scripts/run --boot $(BOOT)

.PHONY: help setup run-arm64 run-x86_64 gdb-arm64 gdb-x86_64 test host-test lint kernel-test bench iso

help:
	@echo "make run-arm64 | run-x86_64   boot and run the suite (ARGS=\"--filter boot.* ...\")"
	@echo "make gdb-arm64 | gdb-x86_64   start QEMU halted and print the gdb command"
	@echo "make test                     host tests, lint, both arches (BOOT=direct|limine)"
	@echo "make bench                    the benchmark tables (target/bench/)"
	@echo "make iso ARCH=... LIMINE_DIR=...  a Limine-bootable image"
	@echo "make setup                    install QEMU 10, firmware, gdb-multiarch, Rust targets"

setup:
	@scripts/setup.sh

run-arm64: setup
	@$(RUN) --arch aarch64 $(ARGS)

run-x86_64: setup
	@$(RUN) --arch x86_64 $(ARGS)

gdb-arm64: setup
	@$(RUN) --arch aarch64 --gdb $(ARGS)

gdb-x86_64: setup
	@$(RUN) --arch x86_64 --gdb $(ARGS)

test: setup lint host-test kernel-test

lint:
	cargo fmt --all --check
	cargo clippy --quiet -- -D warnings
	cargo clippy --quiet --release -p lazymmu-kernel --target x86_64-unknown-none -- -D warnings
	cargo clippy --quiet --release -p lazymmu-kernel --target aarch64-unknown-none -- -D warnings

host-test:
	cargo test --quiet

kernel-test:
	$(RUN) --arch x86_64 $(ARGS)
	$(RUN) --arch aarch64 $(ARGS)
	scripts/check-bad-input.sh

bench: setup
	@scripts/run bench $(ARGS)
