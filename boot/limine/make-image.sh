#!/usr/bin/env bash
# Builds a Limine-bootable ISO of the lazymmu kernel from a Limine 8.x binary
# release (its v8.x-binary branch or a release tarball, unpacked).
#
#   boot/limine/make-image.sh ARCH KERNEL_ELF OUTPUT.iso [CMDLINE]
#   boot/limine/make-image.sh --check ARCH    only check LIMINE_DIR and tools
#
# LIMINE_DIR names the release; its files are checked (size, magic) before
# anything is built. x86_64 images boot on BIOS (SeaBIOS) and UEFI (OVMF);
# aarch64 images on UEFI (AAVMF). The limine host tool is built once into
# LIMINE_TOOL_DIR (default: OUTPUT's directory). Exit 4 (set-up error) with
# the fix when something is missing or broken; the image appears only when
# complete (never a partial OUTPUT); a signal ends with 128 + its number.
# Limine's files are copied, never committed.
set -euo pipefail

die_setup() {
	echo "make-image: $*" >&2
	exit 4
}

check_only=0
if [[ ${1:-} == --check ]]; then
	check_only=1
	shift
	[[ $# -eq 1 ]] || die_setup "usage: $0 --check x86_64|aarch64"
	set -- "$1" /dev/null /dev/null
fi
[[ $# -ge 3 && $# -le 4 ]] || die_setup "usage: $0 x86_64|aarch64 KERNEL_ELF OUTPUT.iso [CMDLINE]"
arch=$1 kernel=$2 output=$3 cmdline=${4:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

case $arch in
x86_64) needed=(limine-bios.sys limine-bios-cd.bin limine-uefi-cd.bin BOOTX64.EFI) efi_machine=6486 ;;
aarch64) needed=(limine-uefi-cd.bin BOOTAA64.EFI) efi_machine=64aa ;;
*) die_setup "unknown arch '$arch' (x86_64 or aarch64)" ;;
esac

if [[ -z ${LIMINE_DIR:-} ]]; then
	die_setup "LIMINE_DIR is not set. Point it at a Limine 8.x binary release: a checkout of the" \
		"v8.x-binary branch of the limine-bootloader/limine repository, or an unpacked release" \
		"tarball, holding ${needed[*]}$([[ $arch == x86_64 ]] && echo " and limine.c (or a built 'limine')")."
fi

# hex_at FILE OFFSET COUNT: COUNT bytes at OFFSET as one hex string.
hex_at() {
	od -An -tx1 -j "$2" -N "$3" -- "$1" | tr -d ' \n'
}

# The checks a release's files must pass; a wrong-but-present file (an
# HTML error page, a Git LFS pointer, a truncated download) would otherwise
# become an image that boots to a hang.
broken() {
	echo "make-image: LIMINE_DIR=$LIMINE_DIR has a broken $1: $2; it must be a Limine 8.x binary" \
		"release (the v8.x-binary branch or an unpacked release tarball)" >&2
	exit 4
}
check_release_file() {
	local name=$1 file=$LIMINE_DIR/$1 size
	size=$(stat -c %s -- "$file")
	case $name in
	BOOT*.EFI)
		# PE/COFF: "MZ", the PE header's offset at 0x3c, "PE\0\0", the machine.
		[[ $size -ge 512 && $(hex_at "$file" 0 2) == 4d5a ]] || broken "$name" "not an EFI (PE) program"
		local le pe_offset
		le=$(hex_at "$file" 60 4)
		pe_offset=$((16#${le:6:2}${le:4:2}${le:2:2}${le:0:2}))
		[[ $(hex_at "$file" "$pe_offset" 4) == 50450000 ]] || broken "$name" "not an EFI (PE) program"
		[[ $(hex_at "$file" $((pe_offset + 4)) 2) == "$efi_machine" ]] ||
			broken "$name" "an EFI program for another machine than $arch"
		;;
	limine-uefi-cd.bin)
		# A FAT image: whole sectors, boot signature 55 aa.
		[[ $size -ge 512 && $((size % 512)) -eq 0 && $(hex_at "$file" 510 2) == 55aa ]] ||
			broken "$name" "not a FAT image (no 55 aa boot signature)"
		;;
	limine-bios-cd.bin)
		# El Torito loads 4 sectors of it (-boot-load-size 4).
		[[ $size -ge 2048 ]] || broken "$name" "$size bytes, too short for the El Torito boot image"
		;;
	limine-bios.sys)
		[[ $size -ge 4096 ]] || broken "$name" "$size bytes, too short for Limine's BIOS stage"
		;;
	esac
}

for file in "${needed[@]}"; do
	[[ -f $LIMINE_DIR/$file ]] || die_setup "LIMINE_DIR=$LIMINE_DIR has no $file: it must be a Limine 8.x binary" \
		"release (the v8.x-binary branch or an unpacked release tarball)"
	check_release_file "$file"
done
command -v xorriso >/dev/null || die_setup "xorriso is not installed: run scripts/setup.sh --limine"
if [[ $arch == x86_64 && ! -x $LIMINE_DIR/limine ]]; then
	[[ -f $LIMINE_DIR/limine.c ]] || die_setup "LIMINE_DIR=$LIMINE_DIR has neither a 'limine' tool nor limine.c"
	command -v cc >/dev/null || die_setup "no C compiler (cc) to build the limine host tool: run scripts/setup.sh --limine"
fi
[[ $check_only == 0 ]] || exit 0
[[ -f $kernel ]] || die_setup "no kernel ELF at $kernel"
[[ $(hex_at "$kernel" 0 4) == 7f454c46 ]] || die_setup "$kernel is not an ELF file"
[[ $cmdline != *$'\n'* ]] || die_setup "the kernel command line must be one line"

work=$(mktemp -d "${TMPDIR:-/tmp}/lazymmu-iso.XXXXXX")
partial=""
# No partial image and no scratch files survive a failure or a signal.
cleanup() {
	rm -rf "$work"
	[[ -z $partial ]] || rm -f "$partial"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# The BIOS boot sector of the ISO is written by the `limine` host tool,
# built from the release's limine.c into LIMINE_TOOL_DIR (never in
# LIMINE_DIR, which may be read-only or shared), under a temporary name
# first so that concurrent builds never run a half-written tool.
limine_tool() {
	if [[ -x $LIMINE_DIR/limine ]] && "$LIMINE_DIR/limine" --version >/dev/null 2>&1; then
		echo "$LIMINE_DIR/limine"
		return
	fi
	local tool_dir tool
	tool_dir=${LIMINE_TOOL_DIR:-$(dirname "$output")}
	tool=$tool_dir/limine-host-tool
	if [[ ! -x $tool || $LIMINE_DIR/limine.c -nt $tool ]]; then
		mkdir -p "$tool_dir"
		cc -O2 -std=c99 -o "$tool.$$" "$LIMINE_DIR/limine.c" -I "$LIMINE_DIR" 2>"$work/cc.log" ||
			{ rm -f "$tool.$$"; sed 's/^/  cc: /' "$work/cc.log" | head -n 5 >&2; die_setup "building the limine host tool from $LIMINE_DIR/limine.c failed"; }
		mv -f "$tool.$$" "$tool"
	fi
	echo "$tool"
}

staging=$work/root
mkdir -p "$staging/boot/limine" "$staging/EFI/BOOT" "$(dirname "$output")"
cp "$kernel" "$staging/boot/lazymmu"
# The macro line carries the command line; Limine reads values to the end of
# the line, so no quoting is needed.
awk -v line="\${LAZYMMU_CMDLINE}=$cmdline" '/^\$\{LAZYMMU_CMDLINE\}=/ { print line; next } { print }' \
	"$here/limine.conf" >"$staging/boot/limine/limine.conf"
for file in "${needed[@]}"; do
	case $file in
	BOOT*.EFI) cp "$LIMINE_DIR/$file" "$staging/EFI/BOOT/" ;;
	*) cp "$LIMINE_DIR/$file" "$staging/boot/limine/" ;;
	esac
done

# Only the problem lines of a tool's log, not its whole chatter.
problems() {
	grep -E 'FAILURE|FATAL|SORRY|MISHAP|[Ee]rror' "$1" | head -n 5 | sed 's/^/  /' >&2 || true
}

bios_args=()
if [[ $arch == x86_64 ]]; then
	bios_args=(-b boot/limine/limine-bios-cd.bin -no-emul-boot -boot-load-size 4 -boot-info-table)
fi
partial=$output.partial.$$
xorriso -as mkisofs -R -r -J "${bios_args[@]}" -hfsplus -apm-block-size 2048 \
	--efi-boot boot/limine/limine-uefi-cd.bin -efi-boot-part --efi-boot-image --protective-msdos-label \
	"$staging" -o "$partial" >"$work/xorriso.log" 2>&1 ||
	{ problems "$work/xorriso.log"; die_setup "xorriso failed to build $output"; }
if [[ $arch == x86_64 ]]; then
	tool=$(limine_tool)
	"$tool" bios-install "$partial" >"$work/bios-install.log" 2>&1 ||
		{ problems "$work/bios-install.log"; die_setup "limine bios-install $output failed"; }
fi
mv -f "$partial" "$output"
partial=""
