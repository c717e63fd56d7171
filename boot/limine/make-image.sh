#!/usr/bin/env bash
# Builds a Limine-bootable ISO of the lazymmu kernel from a Limine 8.x binary
# release (its v8.x-binary branch or a release tarball, unpacked).
#
#   boot/limine/make-image.sh ARCH KERNEL_ELF OUTPUT.iso [CMDLINE]
#   boot/limine/make-image.sh --check ARCH    only check LIMINE_DIR and tools
#
# LIMINE_DIR names the release. x86_64 images boot on BIOS (SeaBIOS) and UEFI
# (OVMF); aarch64 images on UEFI (AAVMF). Exit 4 (set-up error) with the fix
# when something is missing; Limine's files are copied, never committed.
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
x86_64) needed=(limine-bios.sys limine-bios-cd.bin limine-uefi-cd.bin BOOTX64.EFI) ;;
aarch64) needed=(limine-uefi-cd.bin BOOTAA64.EFI) ;;
*) die_setup "unknown arch '$arch' (x86_64 or aarch64)" ;;
esac

if [[ -z ${LIMINE_DIR:-} ]]; then
    die_setup "LIMINE_DIR is not set. Point it at a Limine 8.x binary release: a checkout of the" \
        "v8.x-binary branch of the limine-bootloader/limine repository, or an unpacked release" \
        "tarball, holding ${needed[*]}$([[ $arch == x86_64 ]] && echo " and limine.c (or a built 'limine')")."
fi
for file in "${needed[@]}"; do
    [[ -f $LIMINE_DIR/$file ]] || die_setup "LIMINE_DIR=$LIMINE_DIR has no $file: it must be a Limine 8.x binary" \
        "release (the v8.x-binary branch or an unpacked release tarball)"
done
command -v xorriso >/dev/null || die_setup "xorriso is not installed: run scripts/setup.sh --limine"
if [[ $arch == x86_64 && ! -x $LIMINE_DIR/limine ]]; then
    [[ -f $LIMINE_DIR/limine.c ]] || die_setup "LIMINE_DIR=$LIMINE_DIR has neither a 'limine' tool nor limine.c"
    command -v cc >/dev/null || die_setup "no C compiler (cc) to build the limine host tool: run scripts/setup.sh --limine"
fi
[[ $check_only == 0 ]] || exit 0
[[ -f $kernel ]] || die_setup "no kernel ELF at $kernel"
[[ $cmdline != *$'\n'* ]] || die_setup "the kernel command line must be one line"

# The BIOS boot sector of the ISO is written by the `limine` host tool,
# built from the release's limine.c next to the output (never in LIMINE_DIR,
# which may be read-only or shared).
limine_tool() {
    if [[ -x $LIMINE_DIR/limine ]] && "$LIMINE_DIR/limine" --version >/dev/null 2>&1; then
        echo "$LIMINE_DIR/limine"
        return
    fi
    local tool
    tool=$(dirname "$output")/limine-host-tool
    if [[ ! -x $tool || $LIMINE_DIR/limine.c -nt $tool ]]; then
        cc -O2 -std=c99 -o "$tool" "$LIMINE_DIR/limine.c" -I "$LIMINE_DIR" >&2 ||
            die_setup "building the limine host tool from $LIMINE_DIR/limine.c failed"
    fi
    echo "$tool"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/lazymmu-iso.XXXXXX")
trap 'rm -rf "$work"' EXIT
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

bios_args=()
if [[ $arch == x86_64 ]]; then
    bios_args=(-b boot/limine/limine-bios-cd.bin -no-emul-boot -boot-load-size 4 -boot-info-table)
fi
xorriso -as mkisofs -R -r -J "${bios_args[@]}" -hfsplus -apm-block-size 2048 \
    --efi-boot boot/limine/limine-uefi-cd.bin -efi-boot-part --efi-boot-image --protective-msdos-label \
    "$staging" -o "$output" 2>"$work/xorriso.log" ||
    { cat "$work/xorriso.log" >&2; die_setup "xorriso failed to build $output"; }
if [[ $arch == x86_64 ]]; then
    "$(limine_tool)" bios-install "$output" >/dev/null 2>"$work/bios-install.log" ||
        { cat "$work/bios-install.log" >&2; die_setup "limine bios-install $output failed"; }
fi
