#!/usr/bin/env bash
# Mutation testing with cargo-mutants: each mutant of the code in a scope
# (a changed operator, a function body replaced by a default value, ...) is
# built and run against the host tests of its own crate; a mutant those
# tests still pass is "missed". Prints, per scope, the caught / missed /
# unviable / timeout counts and every missed mutant. Not part of `make test`:
# it takes long (README, "Mutation testing", has the measured times).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

# scope: the package whose code is mutated and whose tests judge it, and
# the files of it to mutate.
declare -A PACKAGE=([model]=mm [lazy]=mm [mm]=mm [ktest]=ktest [verdict]=runner)
declare -A FILES=(
	[model]='kernel/mm/src/model/**'
	[lazy]='kernel/mm/src/lazy/**'
	[mm]='kernel/mm/src/**'
	[ktest]='kernel/ktest/src/**'
	[verdict]='runner/src/verdict.rs'
)
DEFAULT_SCOPES=(mm ktest verdict)

usage() {
	echo "usage: scripts/mutants.sh [SCOPE...]   (make mutants MUTANTS=\"SCOPE...\")"
	echo "Scopes: model (kernel/mm/src/model), lazy (kernel/mm/src/lazy), mm (all of"
	echo "kernel/mm), ktest (kernel/ktest), verdict (runner/src/verdict.rs). Default:"
	echo "${DEFAULT_SCOPES[*]}. One job at a time (--jobs 1); results in"
	echo "target/mutants/<scope>/mutants.out/. Exit 0 when every viable mutant was"
	echo "caught, 1 when one was missed or timed out, 4 on a set-up error (no"
	echo "cargo-mutants: scripts/setup.sh --mutants installs it; baseline tests fail)."
}

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
esac
scopes=("$@")
[ ${#scopes[@]} -gt 0 ] || scopes=("${DEFAULT_SCOPES[@]}")
for scope in "${scopes[@]}"; do
	if [ -z "${PACKAGE[$scope]:-}" ]; then
		echo "mutants: unknown scope '$scope'" >&2
		usage >&2
		exit 4
	fi
done
if ! cargo mutants --version >/dev/null 2>&1; then
	echo "mutants: cargo-mutants is not installed (scripts/setup.sh --mutants installs it)" >&2
	exit 4
fi

# The lines of one outcome file (absent when that outcome never happened).
count() {
	if [ -f "$1" ]; then
		grep -c . "$1" || true
	else
		echo 0
	fi
}

status=0
summary=()
for scope in "${scopes[@]}"; do
	out="target/mutants/$scope"
	mkdir -p "$out"
	echo "mutants: $scope: mutating ${FILES[$scope]}, judged by the tests of ${PACKAGE[$scope]}" >&2
	start=$(date +%s)
	cargo mutants --package "${PACKAGE[$scope]}" --test-package "${PACKAGE[$scope]}" \
		--file "${FILES[$scope]}" --jobs 1 --timeout 120 --output "$out" --no-shuffle
	code=$?
	minutes=$((($(date +%s) - start + 59) / 60))
	results="$out/mutants.out"
	# 0: all caught; 2: some missed; 3: some timed out. Anything else (the
	# baseline failed, bad options) is a set-up error.
	case "$code" in
	0 | 2 | 3) ;;
	*)
		echo "mutants: $scope: cargo mutants failed (exit $code); see $results/debug.log" >&2
		exit 4
		;;
	esac
	caught=$(count "$results/caught.txt")
	missed=$(count "$results/missed.txt")
	unviable=$(count "$results/unviable.txt")
	timeout=$(count "$results/timeout.txt")
	line="$scope: caught $caught, missed $missed, unviable $unviable, timeout $timeout (about $minutes min)"
	summary+=("$line")
	echo "mutants: $line"
	if [ "$missed" -gt 0 ]; then
		echo "mutants: $scope: missed:"
		sed 's/^/  /' "$results/missed.txt"
	fi
	if [ "$timeout" -gt 0 ]; then
		echo "mutants: $scope: timed out:"
		sed 's/^/  /' "$results/timeout.txt"
	fi
	[ "$missed" -eq 0 ] && [ "$timeout" -eq 0 ] || status=1
done
echo "mutants: summary"
printf '  %s\n' "${summary[@]}"
exit "$status"
