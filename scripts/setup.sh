#!/usr/bin/env bash
# Installs what lazymmu needs and is a fast no-op when everything is there.
# QEMU 10 comes from bookworm-backports (the machine's qemu-utils 10 conflicts
# with bookworm's qemu-system 7.2); the mirror URI is read from the machine's
# own apt sources, never written here.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/setup.sh [--check] [--limine] [--mutants] [--help]

Installs, when missing: QEMU 10 system emulators (x86_64, aarch64) and UEFI
firmware from bookworm-backports, gdb-multiarch, and the Rust targets
x86_64-unknown-none and aarch64-unknown-none of the pinned toolchain.

  --check   only report what is missing; exit 4 if anything is
  --limine  also what the Limine boot path needs to build its image
            (xorriso, and a C compiler for Limine's host tool)
  --mutants also cargo-mutants, for `make mutants` (cargo install --locked,
            a few minutes the first time)
  --help    this text

Exit codes: 0 all present (or installed), 4 set-up error.
USAGE
}

check_only=0
limine=0
mutants=0
for arg in "$@"; do
	case "$arg" in
	--check) check_only=1 ;;
	--limine) limine=1 ;;
	--mutants) mutants=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 4 ;;
	esac
done

cd "$(dirname "$0")/.."
targets=(x86_64-unknown-none aarch64-unknown-none)

qemu_major() {
	"$1" --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p'
}

# Each find_* fills its missing_* list from what is on the machine now; they
# run again after installing, so a step that "succeeded" without installing
# anything is caught here, not by the first run of the runner.
find_packages() {
	missing_pkgs=()
	local bin major
	for bin in qemu-system-x86_64 qemu-system-aarch64; do
		major=$(qemu_major "$bin" || true)
		if [ -z "$major" ] || [ "$major" -lt 10 ]; then
			missing_pkgs+=(qemu-system-x86 qemu-system-arm)
			break
		fi
	done
	[ -f /usr/share/OVMF/OVMF_CODE.fd ] || [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || missing_pkgs+=(ovmf)
	[ -f /usr/share/qemu-efi-aarch64/QEMU_EFI.fd ] || missing_pkgs+=(qemu-efi-aarch64)
	command -v gdb-multiarch >/dev/null || missing_pkgs+=(gdb-multiarch)
	if [ "$limine" = 1 ]; then
		command -v xorriso >/dev/null || missing_pkgs+=(xorriso)
		command -v cc >/dev/null || missing_pkgs+=(gcc)
	fi
}

find_targets() {
	missing_targets=()
	local installed t
	installed=$(rustup target list --installed 2>/dev/null || true)
	for t in "${targets[@]}"; do
		grep -qx "$t" <<<"$installed" || missing_targets+=("$t")
	done
}

# `make test` runs rustfmt and clippy; RUSTUP_AUTO_INSTALL=0 machines do not
# fetch the components rust-toolchain.toml names on their own.
find_components() {
	missing_components=()
	local installed c
	installed=$(rustup component list --installed 2>/dev/null || true)
	for c in rustfmt clippy; do
		grep -q "^$c" <<<"$installed" || missing_components+=("$c")
	done
}

# still_missing WHAT ITEM...: after an install step, exit 4 naming what is
# still not there.
still_missing() {
	local what=$1
	shift
	[ $# -eq 0 ] && return 0
	echo "setup.sh: $what still missing after installing: $* (the install step reported success)" >&2
	exit 4
}

find_packages
find_targets
find_components

missing_tools=()
if [ "$mutants" = 1 ] && ! cargo mutants --version >/dev/null 2>&1; then
	missing_tools+=(cargo-mutants)
fi

if [ ${#missing_pkgs[@]} -eq 0 ] && [ ${#missing_targets[@]} -eq 0 ] && [ ${#missing_components[@]} -eq 0 ] &&
	[ ${#missing_tools[@]} -eq 0 ]; then
	exit 0
fi
if [ "$check_only" = 1 ]; then
	[ ${#missing_pkgs[@]} -gt 0 ] && echo "setup.sh: missing packages: ${missing_pkgs[*]}" >&2
	[ ${#missing_targets[@]} -gt 0 ] && echo "setup.sh: missing Rust targets: ${missing_targets[*]}" >&2
	[ ${#missing_components[@]} -gt 0 ] && echo "setup.sh: missing Rust components: ${missing_components[*]}" >&2
	[ ${#missing_tools[@]} -gt 0 ] && echo "setup.sh: missing cargo tools: ${missing_tools[*]}" >&2
	exit 4
fi

if [ ${#missing_components[@]} -gt 0 ]; then
	echo "setup.sh: adding Rust components ${missing_components[*]}" >&2
	rustup component add "${missing_components[@]}" >&2 ||
		{ echo "setup.sh: 'rustup component add' failed" >&2; exit 4; }
	find_components
	still_missing "Rust components" "${missing_components[@]}"
fi

if [ ${#missing_tools[@]} -gt 0 ]; then
	echo "setup.sh: installing ${missing_tools[*]} (cargo install --locked; a few minutes)" >&2
	cargo install --locked "${missing_tools[@]}" >&2 ||
		{ echo "setup.sh: 'cargo install ${missing_tools[*]}' failed" >&2; exit 4; }
	# Installed, but is it where cargo finds it?
	cargo mutants --version >/dev/null 2>&1 ||
		{ echo "setup.sh: cargo-mutants installed but 'cargo mutants' does not run (is ~/.cargo/bin on PATH?)" >&2; exit 4; }
fi

if [ ${#missing_targets[@]} -gt 0 ]; then
	echo "setup.sh: adding Rust targets ${missing_targets[*]}" >&2
	rustup target add "${missing_targets[@]}" >&2 ||
		{ echo "setup.sh: 'rustup target add' failed" >&2; exit 4; }
	find_targets
	still_missing "Rust targets" "${missing_targets[@]}"
fi

if [ ${#missing_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "setup.sh: need root to install ${missing_pkgs[*]} (run: sudo scripts/setup.sh)" >&2
		exit 4
	fi
	backports=/etc/apt/sources.list.d/lazymmu-backports.sources
	if [ ! -f "$backports" ]; then
		uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
			/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
		[ -n "$uri" ] || uri=$(sed -n 's/^deb[[:space:]]\+\([^[:space:]]*\/debian\)[[:space:]]\+bookworm[[:space:]].*/\1/p' \
			/etc/apt/sources.list 2>/dev/null | head -n 1)
		if [ -z "$uri" ]; then
			echo "setup.sh: no Debian mirror URI found in the apt sources to add bookworm-backports" >&2
			exit 4
		fi
		printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$uri" >"$backports"
	fi
	echo "setup.sh: installing ${missing_pkgs[*]} (about a minute)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || { echo "setup.sh: apt-get update failed" >&2; exit 4; }
	# shellcheck disable=SC2046 # word splitting of the de-duplicated list is intended
	apt-get install -y -qq -o Dpkg::Use-Pty=0 -t bookworm-backports $(printf '%s\n' "${missing_pkgs[@]}" | sort -u) >/tmp/lazymmu-apt.log 2>&1 ||
		{ echo "setup.sh: apt-get install failed (its output: /tmp/lazymmu-apt.log)" >&2; exit 4; }
	hash -r
	find_packages
	still_missing "packages" "${missing_pkgs[@]}"
fi
exit 0
