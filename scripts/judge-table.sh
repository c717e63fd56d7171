#!/usr/bin/env bash
# Prints the judge table (case x flavour x arch -> which judge catches the
# buggy form) as Markdown, generated from the cases' own plans: each arch's
# kernel prints its `# judge flavours:` columns and `# judge:` rows in
# `--list --verbose` mode.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
	echo "usage: scripts/judge-table.sh [--help]"
	echo "Boots each arch in list mode and prints one Markdown table per arch:"
	echo "rows are cases, columns flavours, cells the judges that catch the buggy"
	echo "form ('harmless' and 'n/a' cells say why below the table). Exit 4 if a"
	echo "kernel could not be built or listed."
	exit 0
fi

for arch in x86_64 aarch64; do
	if ! scripts/run --arch "$arch" --list --verbose >/dev/null 2>&1; then
		echo "judge-table: listing the $arch kernel failed (see target/lazymmu/$arch.log)" >&2
		exit 4
	fi
	log="target/lazymmu/$arch.log"
	# The columns are the kernel's own `Flavour::ALL`, printed before the rows.
	read -ra flavours < <(sed -n 's/^# judge flavours: //p' "$log" | head -n 1)
	if [ "${#flavours[@]}" -eq 0 ]; then
		echo "judge-table: the $arch kernel printed no '# judge flavours:' line (see $log)" >&2
		exit 4
	fi
	echo "### $arch"
	echo
	printf '| case |'
	printf ' %s |' "${flavours[@]}"
	printf '\n|---|'
	printf -- '---|%.0s' "${flavours[@]}"
	printf '\n'
	awk -v flavours="${flavours[*]}" '
		/^# judge: / {
			case_name = $3; variant = $4
			at = index($0, " buggy=")
			fixed = substr($0, index($0, " fixed=") + 7, at - index($0, " fixed=") - 7)
			buggy = substr($0, at + 7)
			if (!(case_name in seen)) { seen[case_name] = 1; order[++n] = case_name }
			kind = buggy; sub(/:.*/, "", kind)
			why = buggy; sub(/^[^:]*:/, "", why)
			if (fixed ~ /^no/) {
				reason = fixed; sub(/^no:/, "", reason)
				cell = "skip"; notes["skip: " reason] = 1
			} else if (kind == "caught") cell = "caught: " why
			else if (kind == "harmless") { cell = "harmless"; notes["harmless: " why] = 1 }
			else { cell = "n/a"; notes["n/a: " why] = 1 }
			cells[case_name, variant] = cell
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
			for (note in notes) print "- " note
		}' "$log"
	echo
done
