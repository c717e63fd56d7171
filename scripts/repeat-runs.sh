#!/usr/bin/env bash
# Runs the full default suite N times (default 20) on one arch and checks
# that every run prints the same per-suite summary table (counts only), so
# forced preemption windows cannot make results flaky. Exit 0 when all runs
# agree and pass, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

if [ $# -lt 1 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
	echo "usage: scripts/repeat-runs.sh ARCH [N]"
	exit 0
fi
arch=$1
runs=${2:-20}
first=""
status=0
for run in $(seq 1 "$runs"); do
	table=$(scripts/run --arch "$arch" 2>&1 | sed -n '/^suite  *pass/,/^total /p')
	rc=$? # pipefail: the runner's failure shows here
	if [ -z "$first" ]; then
		first=$table
	fi
	if [ "$table" != "$first" ] || [ "$rc" -ne 0 ]; then
		echo "repeat-runs: $arch run $run differs or failed (exit $rc):" >&2
		echo "$table" >&2
		status=1
	fi
done
echo "repeat-runs: $arch: $runs runs, $([ $status -eq 0 ] && echo identical || echo NOT identical)"
echo "$first" | tail -1
exit $status
