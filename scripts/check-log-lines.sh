#!/usr/bin/env bash
# The kernel speaks as a kernel log does: every line of a run's serial log
# fits a terminal (at most 160 characters) and no address is printed in
# decimal (a run of 9 or more decimal digits: every kernel VA, every arm64
# physical address and every frame tag is far above that, while the counts
# a run prints stay far below). `make test` runs it over both arches' logs.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

readonly MAX_COLUMNS=160
readonly MIN_DECIMAL_DIGITS=9

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
	echo "usage: scripts/check-log-lines.sh [LOG...]"
	echo "Checks each serial log (default: target/lazymmu/{x86_64,aarch64}.log) for"
	echo "lines over $MAX_COLUMNS characters and addresses printed in decimal; prints"
	echo "each offending line with its log and number; exits 1 if there is one."
	exit 0
fi

logs=("$@")
[ "${#logs[@]}" = 0 ] && logs=(target/lazymmu/x86_64.log target/lazymmu/aarch64.log)

status=0
for log in "${logs[@]}"; do
	if [ ! -r "$log" ]; then
		echo "check-log-lines: cannot read $log (run scripts/run first)" >&2
		exit 4
	fi
	# Hex literals (0x...) are taken out first, so their digit runs do not count.
	# mawk has no {n,} intervals: the digit run is spelled out.
	bad=$(awk -v max="$MAX_COLUMNS" -v digits="$MIN_DECIMAL_DIGITS" '
		BEGIN {
			decimal = "(^|[^0-9A-Za-z_])"
			for (i = 0; i < digits; i++) decimal = decimal "[0-9]"
		}
		{
			text = $0
			gsub(/0x[0-9a-fA-F]+/, "", text)
			if (length($0) > max) {
				printf "%s:%d: %d characters: %.100s...\n", FILENAME, FNR, length($0), $0
			}
			if (match(text, decimal)) {
				printf "%s:%d: decimal where an address belongs: %.100s\n", FILENAME, FNR, substr(text, RSTART)
			}
		}' "$log")
	if [ -n "$bad" ]; then
		echo "$bad"
		echo "check-log-lines: FAIL $log: $(grep -c "" <<<"$bad") problems"
		status=1
	else
		echo "check-log-lines: ok   $log: $(grep -c '' "$log") lines, none over $MAX_COLUMNS characters, no decimal address"
	fi
done
exit "$status"
