#!/usr/bin/env bash
# Prints the judge table (case x flavour x arch -> which judges, and which
# sanitizer rules, catch the buggy form) as Markdown, generated from the
# cases' own plans: each arch's kernel prints its `# judge flavours:` columns
# and `# judge:` rows (for itself and for its arch's host model) in
# `--list --verbose` mode. `--check` compares the output with the README's
# section between the judge-table markers (make test runs it); `--update`
# rewrites that section.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

readonly README=README.md
readonly BEGIN_MARK='<!-- judge-table:begin (scripts/judge-table.sh --update writes this section) -->'
readonly END_MARK='<!-- judge-table:end -->'

usage() {
	echo "usage: scripts/judge-table.sh [--check | --update | --help]"
	echo "Boots each arch in list mode and prints one Markdown table per arch:"
	echo "rows are cases, columns flavours, cells the judges (and sanitizer rules)"
	echo "that catch the buggy form ('harmless', 'n/a' and 'skip' cells say why"
	echo "below the table), then the cells that differ on that arch's host model."
	echo "  --check   exit 1 (and show the difference) if $README's table is stale"
	echo "  --update  rewrite $README's table"
	echo "Exit 4 if a kernel could not be built or listed, or $README has no"
	echo "judge-table markers."
}

mode=print
case "${1:-}" in
"") ;;
--check) mode=check ;;
--update) mode=update ;;
--help | -h)
	usage
	exit 0
	;;
*)
	usage >&2
	exit 4
	;;
esac

work=$(mktemp -d) || exit 4
trap 'rm -rf "$work"' EXIT

# One arch's section: the QEMU table, its notes, and the model's differences.
arch_section() {
	local arch=$1 listing=$2
	local -a flavours
	# The columns are the kernel's own `Flavour::ALL`, printed before the rows.
	read -ra flavours < <(sed -n 's/^# judge flavours: //p' "$listing" | head -n 1)
	if [ "${#flavours[@]}" -eq 0 ]; then
		echo "judge-table: the $arch kernel printed no '# judge flavours:' line" >&2
		return 4
	fi
	echo "### $arch"
	echo
	printf '| case |'
	printf ' %s |' "${flavours[@]}"
	printf '\n|---|'
	printf -- '---|%.0s' "${flavours[@]}"
	printf '\n'
	awk -v flavours="${flavours[*]}" -v qemu="$arch" -v model="$arch-model" '
		# "caught:mmu,sanitizer(a; b)" -> "caught: mmu, sanitizer (a; b)"
		function cell_of(fixed, buggy,    kind, why, reason) {
			kind = buggy; sub(/:.*/, "", kind)
			why = buggy; sub(/^[^:]*:/, "", why)
			if (fixed ~ /^no/) {
				reason = fixed; sub(/^no:/, "", reason)
				note = "skip: " reason
				return "skip"
			}
			if (kind == "caught") {
				note = ""
				# Only the opening parenthesis of the rule list gets a space:
				# a rule name may hold its own "(BUG)".
				gsub(/,/, ", ", why); sub(/sanitizer\(/, "sanitizer (", why)
				return "caught: " why
			}
			if (kind == "harmless") { note = "harmless: " why; return "harmless" }
			note = "n/a: " why
			return "n/a"
		}
		/^# judge: / {
			target = $3; case_name = $4; variant = $5
			at = index($0, " buggy=")
			from = index($0, " fixed=") + 7
			cell = cell_of(substr($0, from, at - from), substr($0, at + 7))
			if (target == qemu) {
				if (!(case_name in seen)) { seen[case_name] = 1; order[++n] = case_name }
				cells[case_name, variant] = cell
				if (note != "") notes[note] = 1
			} else if (target == model) {
				model_cells[case_name, variant] = cell
				model_notes[case_name, variant] = note
			}
		}
		END {
			nf = split(flavours, fl, " ")
			for (i = 1; i <= n; i++) {
				line = "| " order[i] " |"
				for (j = 1; j <= nf; j++) {
					c = cells[order[i], fl[j]]
					if (c == "") c = "-"
					line = line " " c " |"
				}
				print line
			}
			print ""
			for (note in notes) print "- " note | "sort"
			close("sort")
			print ""
			differs = 0
			for (i = 1; i <= n; i++) {
				for (j = 1; j <= nf; j++) {
					key = order[i] SUBSEP fl[j]
					if ((key in model_cells) && model_cells[key] != cells[key]) {
						c = model_cells[key]
						if (model_notes[key] != "") c = model_notes[key]
						diff[++differs] = "- `" order[i] "` " fl[j] ": " c
					}
				}
			}
			if (differs == 0) {
				print "On the host model (" model ", `cargo test -p scenarios`) every cell is the same."
			} else {
				print "On the host model (" model ", `cargo test -p scenarios`) these cells differ:"
				print ""
				for (k = 1; k <= differs; k++) print diff[k]
			}
		}' "$listing"
}

generate() {
	local arch listing
	for arch in x86_64 aarch64; do
		listing="$work/$arch.listing"
		# stdout carries the serial lines, each after a "[<arch label>] ".
		if ! scripts/run --arch "$arch" --list --verbose 2>"$work/$arch.err" |
			sed -n 's/^\[[^]]*\] //p' >"$listing" || ! grep -q '^# judge: ' "$listing"; then
			echo "judge-table: listing the $arch kernel failed:" >&2
			tail -n 5 "$work/$arch.err" >&2
			return 4
		fi
		if [ "$arch" = aarch64 ]; then
			echo
		fi
		arch_section "$arch" "$listing" || return
	done
}

if ! grep -qxF "$BEGIN_MARK" "$README" || ! grep -qxF "$END_MARK" "$README"; then
	echo "judge-table: $README has no '$BEGIN_MARK' ... '$END_MARK' section" >&2
	[ "$mode" = print ] || exit 4
fi

generate >"$work/table.md" || exit
case "$mode" in
print)
	cat "$work/table.md"
	;;
check)
	awk -v begin="$BEGIN_MARK" -v end="$END_MARK" '
		$0 == end { inside = 0 }
		inside { print }
		$0 == begin { inside = 1 }' "$README" >"$work/committed.md"
	if ! diff -u --label "$README (committed)" --label "generated from the plans" \
		"$work/committed.md" "$work/table.md"; then
		echo "judge-table: the judge table in $README is stale; run scripts/judge-table.sh --update" >&2
		exit 1
	fi
	echo "judge-table: the judge table in $README matches the plans"
	;;
update)
	awk -v begin="$BEGIN_MARK" -v end="$END_MARK" -v table="$work/table.md" '
		$0 == end { inside = 0 }
		!inside { print }
		$0 == begin { inside = 1; while ((getline line < table) > 0) print line }' "$README" >"$work/README.md" &&
		cp "$work/README.md" "$README" || exit 4
	echo "judge-table: $README updated"
	;;
esac
