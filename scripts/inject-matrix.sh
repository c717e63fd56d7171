#!/usr/bin/env bash
# For every case with a buggy form, on both arches: `--inject suite.case`
# (default `--flavour all`) must make the run exit 1 and name that case.
# A case whose fixed form does not apply on an arch (break_before_make on
# x86_64) is reported n/a there. Prints a Markdown table; exits 1 if any
# injection went unseen.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
	echo "usage: scripts/inject-matrix.sh [--help]"
	echo "Runs --inject for each case with a buggy form on x86_64 and aarch64 and"
	echo "prints case x arch -> exit code and verdict; exit 1 if any is missed."
	exit 0
fi

if ! scripts/run --arch x86_64 --list >/dev/null 2>&1; then
	echo "inject-matrix: listing cases failed (see target/lazymmu/x86_64.log)" >&2
	exit 4
fi
mapfile -t cases < <(sed -n 's/^# case: \([^ ]*\)\.detects_bug.*/\1/p' target/lazymmu/x86_64.log)

missed=0
echo "| case | x86_64 | aarch64 |"
echo "|---|---|---|"
for case_name in "${cases[@]}"; do
	row="| $case_name |"
	for arch in x86_64 aarch64; do
		out=$(scripts/run --arch "$arch" --filter "$case_name" --inject "$case_name" 2>&1)
		code=$?
		if [ "$code" = 1 ] && grep -q "FAIL $case_name\\." <<<"$out"; then
			row="$row exit 1, caught |"
		# Every cell not applicable on this arch: the runner exits 4.
		elif [ "$code" = 4 ] && grep -q "skipped (not applicable here)" <<<"$out"; then
			row="$row n/a (every cell skipped) |"
		elif [ "$code" = 0 ] && ! grep -q "ok [0-9]* [a-z-]*$" <(grep -v SKIP <<<"$out"); then
			row="$row n/a (every cell skipped) |"
		else
			row="$row exit $code, MISSED |"
			missed=$((missed + 1))
		fi
	done
	echo "$row"
done
if [ "$missed" -gt 0 ]; then
	echo "inject-matrix: $missed injection(s) not caught" >&2
	exit 1
fi
