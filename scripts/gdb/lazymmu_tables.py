"""Pure decoding for the lazymmu gdb helpers (`lazymmu.py`): both page-table
formats' entries, a 4-level walk over any `read_phys`, and the arm64 root
choice. No gdb here, so `python3 scripts/gdb/lazymmu_tables.py` checks the
decoders against hand-built tables.
"""

# Where the kernel maps all RAM after it switches tables (`LINEAR_MAP_BASE`
# in kernel/src/arch/{x86_64,aarch64}/mmu.rs).
LINEAR_MAP_BASE = {"x86_64": 0xFFFF_8000_0000_0000, "aarch64": 0xFFFF_0000_0000_0000}
LEVEL_NAMES = ["pgd", "pud", "pmd", "pte"]  # Linux's names; p4d is folded with 4 levels
LEVEL_SHIFTS = [39, 30, 21, 12]
PAGE_SIZES = {30: "1G", 21: "2M", 12: "4K"}


def bits(value, high, low):
    return (value >> low) & ((1 << (high - low + 1)) - 1)


def index_of(va, level):
    return bits(va, LEVEL_SHIFTS[level] + 8, LEVEL_SHIFTS[level])


def decode_x86(entry, level):
    """-> (present, is_table, output_address, [flag words])"""
    present = bool(entry & 1)
    if not present:
        return False, False, None, ["not-present"]
    is_leaf = level == 3 or (level in (1, 2) and entry & (1 << 7))
    flags = ["present", "writable" if entry & 2 else "read-only", "user" if entry & 4 else "supervisor"]
    if entry & (1 << 3):
        flags.append("PWT")
    if entry & (1 << 4):
        flags.append("PCD")
    if entry & (1 << 5):
        flags.append("accessed")
    if is_leaf and entry & (1 << 6):
        flags.append("dirty")
    if is_leaf and entry & (1 << 8):
        flags.append("global")
    flags.append("NX" if entry & (1 << 63) else "exec")
    if is_leaf:
        shift = LEVEL_SHIFTS[level]
        address = bits(entry, 51, shift) << shift
        flags.append("leaf " + PAGE_SIZES[shift])
    else:
        address = bits(entry, 51, 12) << 12
        flags.append("table")
    return True, not is_leaf, address, flags


AP_WORDS = {0: "AP=RW-EL1", 1: "AP=RW-EL1+EL0", 2: "AP=RO-EL1", 3: "AP=RO-EL1+EL0"}


def decode_arm64(entry, level):
    """-> (valid, is_table, output_address, [flag words]) for a 4K granule."""
    if not entry & 1:
        return False, False, None, ["invalid"]
    kind = entry & 2
    if level == 3 and not kind:
        return False, False, None, ["reserved (invalid at level 3)"]
    if level == 0 and not kind:
        return False, False, None, ["block at level 0 (invalid with 4K pages)"]
    is_table = level < 3 and kind
    flags = ["valid"]
    if is_table:
        flags.append("table")
        if entry & (1 << 59):
            flags.append("PXNTable")
        if entry & (1 << 60):
            flags.append("UXNTable")
        if bits(entry, 62, 61):
            flags.append("APTable=%d" % bits(entry, 62, 61))
        return True, True, bits(entry, 47, 12) << 12, flags
    shift = LEVEL_SHIFTS[level]
    ap = bits(entry, 7, 6)
    flags.append(AP_WORDS[ap])
    flags.append("AttrIndx=%d" % bits(entry, 4, 2))
    flags.append("SH=%d" % bits(entry, 9, 8))
    flags.append("AF" if entry & (1 << 10) else "no-AF (access faults)")
    if entry & (1 << 11):
        flags.append("nG")
    if entry & (1 << 51):
        # With DBM, AP[2] clear means "writable and dirty" (hardware dirty state).
        flags.append("DBM" + (" dirty" if not ap & 2 else " clean"))
    if entry & (1 << 52):
        flags.append("contiguous")
    flags.append("PXN" if entry & (1 << 53) else "kernel-exec")
    flags.append("UXN" if entry & (1 << 54) else "user-exec")
    flags.append(("page " if level == 3 else "block ") + PAGE_SIZES[shift])
    return True, False, bits(entry, 47, shift) << shift, flags


def walk(arch, va, root, read_phys):
    """Yields one line per level and a final line; read_phys(pa) -> u64."""
    decode = decode_x86 if arch == "x86_64" else decode_arm64
    table = root
    for level in range(4):
        index = index_of(va, level)
        entry_pa = table + index * 8
        entry = read_phys(entry_pa)
        valid, is_table, address, flags = decode(entry, level)
        line = "  %-3s[%3d] @pa %#014x = %#018x  %s" % (LEVEL_NAMES[level], index, entry_pa, entry, " ".join(flags))
        if not valid:
            yield line
            yield "  => not mapped: a walk stops at %s[%d]" % (LEVEL_NAMES[level], index)
            return
        if is_table:
            yield line + " -> %#x" % address
            table = address
            continue
        offset = va & ((1 << LEVEL_SHIFTS[level]) - 1)
        yield line + " -> %#x" % address
        yield "  => VA %#x maps to PA %#x" % (va, address + offset)
        return


def arm64_root(va, ttbr0, ttbr1):
    """TTBR by bit 63 of the VA; BADDR without ASID (63:48) and CnP (bit 0)."""
    ttbr, name = (ttbr1, "TTBR1_EL1") if va >> 63 else (ttbr0, "TTBR0_EL1")
    return ttbr & 0x0000_FFFF_FFFF_F000, name, ttbr


def self_test():
    """Walks hand-built tables of both formats."""
    memory = {}

    def read_phys(pa):
        return memory.get(pa, 0)

    # x86_64: 0xffff800000201234 through 4 levels to frame 0x5000.
    va = 0xFFFF_8000_0020_1234
    memory[0x1000 + index_of(va, 0) * 8] = 0x2000 | 0x63
    memory[0x2000 + index_of(va, 1) * 8] = 0x3000 | 0x63
    memory[0x3000 + index_of(va, 2) * 8] = 0x4000 | 0x63
    memory[0x4000 + index_of(va, 3) * 8] = (1 << 63) | 0x5000 | 0x63
    lines = list(walk("x86_64", va, 0x1000, read_phys))
    assert lines[-1] == "  => VA 0xffff800000201234 maps to PA 0x5234", lines
    assert "NX" in lines[3] and "dirty" in lines[3] and "leaf 4K" in lines[3], lines[3]
    assert index_of(va, 0) == 256
    # A 2M page at the PMD and a hole.
    memory[0x3000 + index_of(va, 2) * 8] = 0x20_0000 | 0x83 | 0x60
    assert list(walk("x86_64", va, 0x1000, read_phys))[-1] == "  => VA 0xffff800000201234 maps to PA 0x201234"
    assert "not mapped" in list(walk("x86_64", 0x1000, 0x1000, read_phys))[-1]

    # arm64: TTBR1 for a high address; L3 page, read-only, UXN.
    memory.clear()
    va = 0xFFFF_0000_4008_1010
    root, name, _ = arm64_root(va, 0x1111_0000_0000_0000 | 0x9000, 0x2222_0000_0000_A001)
    assert (root, name) == (0xA000, "TTBR1_EL1")
    memory[0xA000 + index_of(va, 0) * 8] = 0xB000 | 3
    memory[0xB000 + index_of(va, 1) * 8] = 0xC000 | 3
    memory[0xC000 + index_of(va, 2) * 8] = 0xD000 | 3
    memory[0xD000 + index_of(va, 3) * 8] = (1 << 54) | 0x4008_1000 | (1 << 10) | (2 << 6) | (3 << 8) | 3
    lines = list(walk("aarch64", va, root, read_phys))
    assert lines[-1] == "  => VA 0xffff000040081010 maps to PA 0x40081010", lines
    assert "AP=RO-EL1" in lines[3] and "UXN" in lines[3] and "page 4K" in lines[3], lines[3]
    # A 2M block at level 2, and a level-3 descriptor with bit 1 clear is invalid.
    memory[0xC000 + index_of(va, 2) * 8] = 0x4000_0000 | (1 << 10) | 1
    assert list(walk("aarch64", va, root, read_phys))[-1] == "  => VA 0xffff000040081010 maps to PA 0x40081010"
    memory[0xC000 + index_of(va, 2) * 8] = 0xD000 | 3
    memory[0xD000 + index_of(va, 3) * 8] = 0x4008_1000 | 1
    assert "reserved" in list(walk("aarch64", va, root, read_phys))[-2]
    print("lazymmu_tables.py self-test: ok")


if __name__ == "__main__":
    self_test()
