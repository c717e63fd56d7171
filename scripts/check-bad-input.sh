#!/usr/bin/env bash
# Bad input and deliberate failures end with the documented exit code, on
# both arches: never a hang, never a silent pass. `make test` runs it.
#   0 pass, 1 test failed, 2 crash/malformed, 3 timeout, 4 set-up error/bad input,
#   129/130/143 ended by SIGHUP/SIGINT/SIGTERM, 141 stdout closed
# Crashes must also leave a register dump, a backtrace and a `# CRASH:` line
# naming the case in the output. The runner's own failure kinds with a fake
# QEMU (missing, too old, killed mid-line, garbage, ...) are cargo tests:
# runner/tests/failure_kinds.rs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
	echo "usage: scripts/check-bad-input.sh [--help]"
	echo "Runs each failure kind through scripts/run on x86_64 and aarch64 and"
	echo "checks the exit code (and, for crashes, the dump in the output); prints"
	echo "one line per check; exits 1 if any is wrong."
	exit 0
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# check WANT WHAT [--log-has ERE]... [--] RUNNER-ARGS...
check() {
	local want=$1 what=$2
	shift 2
	local patterns=()
	while [ "${1:-}" = "--log-has" ]; do
		patterns+=("$2")
		shift 2
	done
	[ "${1:-}" = "--" ] && shift
	local log
	log=$(mktemp "$scratch/run.XXXXXX")
	scripts/run "$@" >"$log" 2>&1
	local got=$?
	local missing=()
	for pattern in "${patterns[@]}"; do
		grep -qE -- "$pattern" "$log" || missing+=("$pattern")
	done
	if [ "$got" = "$want" ] && [ "${#missing[@]}" = 0 ]; then
		echo "ok   exit $got  $what"
	else
		echo "FAIL exit $got (want $want)  $what: scripts/run $*"
		for pattern in "${missing[@]}"; do
			echo "     output lacks /$pattern/"
		done
		tail -n 15 "$log" | sed 's/^/     | /'
		echo "$what" >>"$scratch/failures"
	fi
}

# The register line each arch's dump prints.
declare -A register_dump=(
	[x86_64]='# rip 0x[0-9a-f]+ +rfl 0x'
	[aarch64]='#   PC  0x[0-9a-f]+ SP 0x'
)

# crash ARCH CASE WHAT [ERE]: exit 2, the registers, a backtrace and the case.
crash() {
	local arch=$1 case=$2 what=$3 extra=${4:-.}
	check 2 "$arch $what" --log-has "${register_dump[$arch]}" --log-has '#   bt #1 0x' \
		--log-has "# CRASH: .*\(in crash\.$case\)" --log-has "$extra" \
		-- --arch "$arch" --filter "crash.$case"
}

arch_checks() {
	local arch=$1
	check 4 "$arch unknown filter" --arch "$arch" --filter 'no_such_suite.*'
	# shellcheck disable=SC2016 # the backquotes are literal text in the message
	check 4 "$arch malformed glob" --log-has 'malformed glob `\[`' -- --arch "$arch" --filter '['
	check 4 "$arch unknown flavour" --log-has 'valid flavours: all, ' -- --arch "$arch" --flavour no-such-flavour
	check 4 "$arch unknown kernel key" --log-has 'valid keys: filter' -- --arch "$arch" --append 'frobnicate=1'
	check 4 "$arch inject of an unknown case" --arch "$arch" --inject 'lazy_batch.no_such_case'
	check 4 "$arch non-UTF-8 command line" --arch "$arch" --append $'\xff\xfe'
	check 4 "$arch over-long command line" --arch "$arch" --append "pad=$(printf 'x%.0s' $(seq 1 1100))"
	check 1 "$arch injected buggy ordering" --arch "$arch" --filter 'lazy_batch.flush_keeps_lazy' --inject lazy_batch.flush_keeps_lazy
	crash "$arch" wild_pointer "unexpected page fault (wild pointer)"
	crash "$arch" undefined_instruction "undefined instruction"
	crash "$arch" fault_in_interrupt "fault inside the interrupt handler"
	crash "$arch" panic "panic in a test" '# PANIC: panicked at'
	crash "$arch" panic_while_panicking "panic while panicking" '# CRASH: panic while panicking'
	check 3 "$arch case that never returns" --log-has 'TIMEOUT after 1000 ms' \
		-- --arch "$arch" --filter 'crash.hang' --timeout 1
	check 3 "$arch CPU1 never answers an IPI" --log-has 'TIMEOUT after 1000 ms' \
		-- --arch "$arch" --filter 'crash.cpu1_never_answers' --timeout 1
}

# The two arches run side by side (one QEMU each on the two cores); their
# lines are printed per arch once both are done.
arch_checks x86_64 >"$scratch/x86_64.out" &
arch_checks aarch64 >"$scratch/aarch64.out" &
wait
cat "$scratch/x86_64.out" "$scratch/aarch64.out"
crash x86_64 stack_overflow "stack overflow: double fault on its IST stack" '#DF double fault'
crash aarch64 stack_overflow "stack overflow into the guard page" 'data abort'
check 4 "unknown runner option" --no-such-option
check 4 "missing option value" --arch

# QEMU that cannot load its firmware: a wrapper first on PATH points the
# real QEMU at a BIOS file that does not exist.
real_qemu=$(command -v qemu-system-x86_64)
mkdir -p "$scratch/bin"
cat >"$scratch/bin/qemu-system-x86_64" <<WRAPPER
#!/bin/sh
[ "\$1" = --version ] && exec "$real_qemu" --version
exec "$real_qemu" -bios /nonexistent/bios-256k.bin "\$@"
WRAPPER
chmod +x "$scratch/bin/qemu-system-x86_64"
PATH="$scratch/bin:$PATH" check 4 "x86_64 missing firmware file" --log-has 'could not load PC BIOS' \
	--log-has 'run scripts/setup.sh' -- --arch x86_64 --filter 'boot.*'

# SIGINT during a run: QEMU is stopped, the partial log kept, exit 130.
# The log path is the stable link to the run's own log.
sigint() {
	local arch=$1 log="target/lazymmu/$1.log" out="$scratch/sigint.out"
	rm -f "$log"
	scripts/run --arch "$arch" --filter 'crash.hang' --timeout 60 >"$out" 2>&1 &
	local runner=$! qemu_pid="" waited=0
	# scripts/run builds first, then becomes the runner, whose child is QEMU.
	until [ -n "$qemu_pid" ] && grep -q '# Subtest: crash' "$log" 2>/dev/null; do
		sleep 0.1
		qemu_pid=$(ps -o pid=,comm= --ppid "$runner" | awk '$2 ~ /^qemu-system/ { print $1 }')
		waited=$((waited + 1))
		[ "$waited" -lt 300 ] || break
	done
	kill -INT "$runner"
	wait "$runner"
	local got=$?
	if [ "$got" = 130 ] && [ -n "$qemu_pid" ] && ! kill -0 "$qemu_pid" 2>/dev/null &&
		grep -q '# Subtest: crash' "$log" && grep -q 'interrupted by SIGINT while running crash' "$out"; then
		echo "ok   exit $got  $arch SIGINT during a run (QEMU stopped, log kept)"
	else
		echo "FAIL exit $got (want 130, QEMU pid '${qemu_pid}' gone, log kept)  $arch SIGINT during a run"
		tail -n 15 "$out" | sed 's/^/     | /'
		echo "$arch SIGINT" >>"$scratch/failures"
	fi
}
sigint aarch64

# SIGTERM to a --gdb session (the real QEMU halted on its stub): QEMU ends,
# the stub's port is free again, exit 143.
sigterm_gdb() {
	local arch=$1 out="$scratch/gdb.out" port="" waited=0
	scripts/run --arch "$arch" --gdb --filter 'boot.*' >"$out" 2>&1 &
	local runner=$!
	until [ -n "$port" ]; do
		sleep 0.1
		port=$(sed -n 's/.*gdb stub on port \([0-9]*\);.*/\1/p' "$out")
		waited=$((waited + 1))
		[ "$waited" -lt 600 ] || break
	done
	kill -TERM "$runner"
	wait "$runner"
	local got=$?
	if [ "$got" = 143 ] && [ -n "$port" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
		grep -q 'interrupted by SIGTERM while booting' "$out"; then
		echo "ok   exit $got  $arch SIGTERM under --gdb (QEMU ended, port $port free)"
	else
		echo "FAIL exit $got (want 143, gdb port '${port}' closed)  $arch SIGTERM under --gdb"
		tail -n 15 "$out" | sed 's/^/     | /'
		echo "$arch SIGTERM --gdb" >>"$scratch/failures"
	fi
}
sigterm_gdb x86_64

failures=0
[ -f "$scratch/failures" ] && failures=$(wc -l <"$scratch/failures")
if [ "$failures" -gt 0 ]; then
	echo "check-bad-input: $failures check(s) ended with the wrong exit code or output"
	exit 1
fi
echo "check-bad-input: all checks ended with the documented exit code"
