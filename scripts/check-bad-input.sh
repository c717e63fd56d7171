#!/usr/bin/env bash
# Bad input and deliberate failures end with the documented exit code, on
# both arches: never a hang, never a silent pass. `make test` runs it.
#   0 pass, 1 test failed, 2 crash/malformed, 3 timeout, 4 set-up error/bad input
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
	echo "usage: scripts/check-bad-input.sh [--help]"
	echo "Runs each failure kind through scripts/run on x86_64 and aarch64 and"
	echo "checks the exit code; prints one line per check; exits 1 if any is wrong."
	exit 0
fi

failures=0
check() {
	local want=$1 what=$2
	shift 2
	local log
	log=$(mktemp)
	scripts/run "$@" >"$log" 2>&1
	local got=$?
	if [ "$got" = "$want" ]; then
		echo "ok   exit $got  $what"
	else
		echo "FAIL exit $got (want $want)  $what: scripts/run $*"
		tail -n 15 "$log" | sed 's/^/     | /'
		failures=$((failures + 1))
	fi
	rm -f "$log"
}

for arch in x86_64 aarch64; do
	check 4 "$arch unknown filter" --arch "$arch" --filter 'no_such_suite.*'
	check 4 "$arch unknown flavour" --arch "$arch" --flavour no-such-flavour
	check 4 "$arch unknown kernel key" --arch "$arch" --append 'frobnicate=1'
	check 4 "$arch inject of an unknown case" --arch "$arch" --inject 'lazy_batch.no_such_case'
	check 4 "$arch non-UTF-8 command line" --arch "$arch" --append $'\xff\xfe'
	check 4 "$arch over-long command line" --arch "$arch" --append "pad=$(printf 'x%.0s' $(seq 1 1100))"
	check 1 "$arch injected buggy ordering" --arch "$arch" --filter 'lazy_batch.flush_keeps_lazy' --inject lazy_batch.flush_keeps_lazy
	check 2 "$arch wild pointer" --arch "$arch" --filter 'crash.wild_pointer'
	check 2 "$arch stack overflow into the guard page" --arch "$arch" --filter 'crash.stack_overflow'
	check 2 "$arch panic in a test" --arch "$arch" --filter 'crash.panic'
	check 3 "$arch case that never returns" --arch "$arch" --filter 'crash.hang' --timeout 1
done
check 4 "unknown runner option" --no-such-option
check 4 "missing option value" --arch

if [ "$failures" -gt 0 ]; then
	echo "check-bad-input: $failures check(s) ended with the wrong exit code"
	exit 1
fi
echo "check-bad-input: all checks ended with the documented exit code"
