# lazymmu: every target installs what is missing first (scripts/setup.sh),
# then builds and runs. `make help` lists the targets.
#
# GNU make exits 2 whenever a recipe fails; the runner's own exit code
# (0 pass, 1 test failed, 2 crash/malformed, 3 timeout, 4 set-up error,
# 129/130/143 a signal, 141 stdout closed) is shown in make's "Error N"
# line, and scripts/run gives it unchanged.

SHELL := bash
# No globbing in recipes (-f): ARGS="--filter boot.*" must reach the runner
# as written even when a file such as boot.notes exists here. Words still
# split and quotes still group (ARGS="--append 'a=1 b=2'").
.SHELLFLAGS := -f -c
ARGS ?=
BOOT ?= direct
RUN := scripts/run --boot $(BOOT)
# The Limine path also needs xorriso (and cc for Limine's host tool).
SETUP_ARGS := $(if $(filter limine,$(BOOT)),--limine)
# `make iso`: ARCH=x86_64|aarch64|arm64, CMDLINE= the kernel command line.
ARCH ?= x86_64
override ARCH := $(patsubst arm64,aarch64,$(ARCH))
CMDLINE ?=
ISO := target/lazymmu/limine-$(ARCH).iso

.PHONY: help setup run-arm64 run-x86_64 gdb-arm64 gdb-x86_64 test host-test lint judge-table kernel-test limine-test bench iso litmus mutants

help:
	@echo "make run-arm64 | run-x86_64   boot and run the suite (ARGS=\"--filter boot.* ...\")"
	@echo "make gdb-arm64 | gdb-x86_64   start QEMU halted and print the gdb command"
	@echo "make test                     host tests, lint, both arches (BOOT=direct|limine)"
	@echo "make judge-table              check the README judge table against the plans"
	@echo "make mutants [MUTANTS=...]    mutation testing of mm, ktest, the verdict (long)"
	@echo "make bench                    the benchmark tables (target/bench/)"
	@echo "make iso ARCH=... LIMINE_DIR=...  a Limine-bootable image"
	@echo "make litmus HERD_DIR=...       the arm64 VMSA model against herd7's verdicts (docs/litmus.md)"
	@echo "make setup                    install QEMU 10, firmware, gdb-multiarch, Rust targets"

setup:
	@scripts/setup.sh $(SETUP_ARGS)

run-arm64: setup
	@$(RUN) --arch aarch64 $(ARGS)

run-x86_64: setup
	@$(RUN) --arch x86_64 $(ARGS)

gdb-arm64: setup
	@$(RUN) --arch aarch64 --gdb $(ARGS)

gdb-x86_64: setup
	@$(RUN) --arch x86_64 --gdb $(ARGS)

test: setup lint host-test judge-table kernel-test limine-test

lint:
	cargo fmt --all --check
	cargo clippy --quiet -- -D warnings
	cargo clippy --quiet --release -p lazymmu-kernel --target x86_64-unknown-none -- -D warnings
	cargo clippy --quiet --release -p lazymmu-kernel --target aarch64-unknown-none -- -D warnings

host-test:
	cargo test --quiet

# The README's judge table must be the one the plans print (both kernels
# in list mode; before kernel-test, whose logs it would overwrite).
judge-table:
	scripts/judge-table.sh --check

# Each arch's run also leaves a JUnit report beside its log for CI to keep.
# check-barriers reads the arm64 kernel's barrier and TLBI code, which no
# run can check (TCG makes every store visible at once).
REPORTS := target/lazymmu
kernel-test:
	@mkdir -p $(REPORTS)
	$(RUN) --arch x86_64 --junit $(REPORTS)/x86_64-$(BOOT).junit.xml $(ARGS)
	$(if $(filter limine,$(BOOT)),$(RUN) --arch x86_64 --firmware bios --junit $(REPORTS)/x86_64-bios.junit.xml $(ARGS))
	$(RUN) --arch aarch64 --junit $(REPORTS)/aarch64-$(BOOT).junit.xml $(ARGS)
	scripts/run check-barriers
	scripts/check-log-lines.sh $(REPORTS)/x86_64.log $(REPORTS)/aarch64.log
	scripts/check-bad-input.sh

# The Limine path on top of direct boot, when a Limine release is at hand
# (CI: set LIMINE_DIR to run it); says why when it is skipped.
limine-test:
ifeq ($(BOOT),limine)
	@echo "limine-test: the Limine path ran in kernel-test (BOOT=limine)"
else ifeq ($(strip $(LIMINE_DIR)),)
	@echo "limine-test: SKIPPED: LIMINE_DIR is not set (point it at a Limine 8.x binary release, e.g. a checkout of the v8.x-binary branch, to boot the Limine path too)"
else
	@scripts/setup.sh --limine
	$(MAKE) --no-print-directory kernel-test BOOT=limine
endif

# The image appears only when complete; make-image.sh checks LIMINE_DIR's
# files first and says in one line what is wrong.
iso:
	@boot/limine/make-image.sh --check $(ARCH)
	@scripts/setup.sh --limine
	@cargo build --quiet --release -p lazymmu-kernel --target $(ARCH)-unknown-none --features limine
	@boot/limine/make-image.sh $(ARCH) "$${CARGO_TARGET_DIR:-target}/$(ARCH)-unknown-none/release/lazymmu" $(ISO) "$(CMDLINE)"
	@echo "iso: $(ISO) (x86_64: BIOS and UEFI; aarch64: UEFI, run QEMU virt with acpi=off)"

bench: setup
	@scripts/run bench $(ARGS)

# Mutation testing (cargo-mutants, installed on first use); not part of
# `make test`: it takes long. MUTANTS="model lazy" narrows the scopes.
MUTANTS ?=
mutants:
	@scripts/setup.sh --mutants
	@scripts/mutants.sh $(MUTANTS)

# herd7's AArch64.kvm and aarch64-VMSA tests through the model (docs/litmus.md);
# HERD_DIR is a herdtools7 checkout. Exit 1 on a disagreement, 4 on set-up.
litmus:
	@test -n "$(HERD_DIR)" || { echo "make litmus: set HERD_DIR to a herdtools7 checkout"; exit 4; }
	@cargo build --quiet --release -p litmus
	@"$${CARGO_TARGET_DIR:-target}/release/lazymmu-litmus" --conform "$(HERD_DIR)"
