"""gdb helpers for lazymmu (load with `source scripts/gdb/lazymmu.py`).

lazymmu-walk ADDR [ROOT]
    Walks the 4-level page tables for virtual address ADDR from the current
    table root (x86_64: CR3; arm64: TTBR1_EL1 if bit 63 of ADDR is set, else
    TTBR0_EL1), or from the physical address ROOT if given, and prints each
    level's index, entry and decoded bits. Tables are read as physical memory
    (QEMU's `monitor xp`, else through the kernel's linear map, else the
    early identity map). It shows what the TABLES say: the CPU's TLB may
    still hold an older translation until the kernel invalidates it
    (invlpg / tlbi), which is exactly the staleness lazymmu tests for.

lazymmu-lazy [CPU]
    Prints each CPU's lazy MMU state from the kernel's `MM` context
    (kernel/src/main.rs): the CPU's arch state (`CpuLazy` in
    kernel/mm/src/lazy/state.rs: current task, arch mode active, preempt
    count, the queued ops of the queued / deferred-pte flavours and the
    invalidation batch of tlb-batch) and its current task's per-task state
    (`TaskLazy` in kernel/mm/src/lazy/task.rs: enable_count, pause_count,
    barrier_pending, where the section was entered). It reads memory only:
    a CPU whose lock is held may be half-way through changing its state.

Without gdb, `python3 scripts/gdb/lazymmu.py --self-test` checks the
decoders against hand-built tables.
"""

import re
import sys

try:
    import gdb  # noqa: F401 (only inside gdb)
except ImportError:
    gdb = None

# Where the kernel maps all RAM after it switches tables (arch-common.md).
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


XP_LINE = re.compile(r"^\s*[0-9a-fA-F]+:\s+0x([0-9a-fA-F]+)")

RUST_PATH = re.compile(r"\b(?:[A-Za-z_][A-Za-z0-9_]*::)+")
NEWTYPE_SPACE = re.compile(r"(\w) \(")


def shorten(text):
    """gdb's Rust rendering without module paths: `PhysAddr(0x1000)`, not
    `mm::addr::PhysAddr (0x1000)`."""
    return NEWTYPE_SPACE.sub(r"\1(", RUST_PATH.sub("", text))


def yes_no(flag):
    return "yes" if flag else "no"

if gdb is not None:

    def current_arch():
        name = gdb.selected_frame().architecture().name()
        return "aarch64" if "aarch64" in name else "x86_64"

    def register(name):
        return int(gdb.parse_and_eval("$" + name)) & 0xFFFF_FFFF_FFFF_FFFF

    def read_phys_factory(arch):
        inferior = gdb.selected_inferior()

        def read_virtual(va):
            return int.from_bytes(bytes(inferior.read_memory(va, 8)), "little")

        def read_phys(pa):
            try:
                text = gdb.execute("monitor xp/gx %#x" % pa, to_string=True)
                match = XP_LINE.match(text)
                if match:
                    return int(match.group(1), 16)
            except gdb.error:
                pass
            # Not QEMU's monitor: the kernel's linear map, else the early identity map.
            try:
                return read_virtual(LINEAR_MAP_BASE[arch] + pa)
            except gdb.MemoryError:
                return read_virtual(pa)

        return read_phys

    class LazymmuWalk(gdb.Command):
        """lazymmu-walk ADDR [ROOT]: walk the page tables for ADDR (see scripts/gdb/lazymmu.py)."""

        def __init__(self):
            super().__init__("lazymmu-walk", gdb.COMMAND_DATA)

        def invoke(self, argument, from_tty):
            args = gdb.string_to_argv(argument)
            if len(args) not in (1, 2):
                raise gdb.GdbError("usage: lazymmu-walk ADDR [ROOT]")
            va = int(gdb.parse_and_eval(args[0])) & 0xFFFF_FFFF_FFFF_FFFF
            arch = current_arch()
            notes = []
            if arch == "x86_64":
                cr3 = register("cr3")
                root, where = cr3 & 0x000F_FFFF_FFFF_F000, "CR3=%#x" % cr3
                if not register("cr0") >> 31 & 1:
                    notes.append("CR0.PG is 0: paging is off, the CPU uses VA as PA")
                if register("cr4") >> 12 & 1:
                    notes.append("CR4.LA57 is set: 5-level paging, this 4-level walk does not apply")
            else:
                root, name, ttbr = arm64_root(va, register("TTBR0_EL1"), register("TTBR1_EL1"))
                where = "%s=%#x" % (name, ttbr)
                if not register("SCTLR") & 1:
                    notes.append("SCTLR_EL1.M is 0: the MMU is off, the CPU uses VA as PA")
                tcr = register("TCR_EL1")
                tsz = bits(tcr, 21, 16) if va >> 63 else bits(tcr, 5, 0)
                if tsz != 16:
                    notes.append("TCR_EL1 %s is %d, not 16: not a 4-level 48-bit walk" % ("T1SZ" if va >> 63 else "T0SZ", tsz))
            if len(args) == 2:
                root = int(gdb.parse_and_eval(args[1]))
                where = "root given: %#x" % root
            print("lazymmu-walk %#x (%s, %s)" % (va, arch, where))
            for note in notes:
                print("  note: " + note)
            for line in walk(arch, va, root, read_phys_factory(arch)):
                print(line)
            print("  This is what the page tables in memory say; the CPU's TLB may still hold a")
            print("  stale translation for this VA until the kernel runs invlpg / tlbi for it.")

    LazymmuWalk()

    # spin::once::Status::Complete: `MM` has been built.
    ONCE_COMPLETE = 2
    # Single-purpose wrappers between a Rust value and what it holds
    # (Once.data, MaybeUninit.value, ManuallyDrop.value, MaybeDangling.__0,
    # Mutex.inner, UnsafeCell.value, AtomicU8.v, NonNull.pointer).
    WRAPPER_FIELDS = ("value", "__0", "inner", "data", "v", "pointer")

    def field_names(value):
        kind = value.type.strip_typedefs()
        if kind.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
            return []
        return [f.name for f in kind.fields()]

    def unwrap_to(value, wanted):
        """Descends through wrappers until `value` has the fields `wanted`."""
        for _ in range(12):
            names = field_names(value)
            if all(name in names for name in wanted):
                return value
            wrapper = next((name for name in WRAPPER_FIELDS if name in names), None)
            if wrapper is None:
                break
            value = value[wrapper]
        raise gdb.GdbError("lazymmu-lazy: no %s in %s (kernel types changed?)" % ("/".join(wanted), value.type))

    def leaf_int(value):
        """The integer inside an atomic or newtype."""
        for _ in range(8):
            names = field_names(value)
            if not names:
                return int(value)
            value = value[next((n for n in WRAPPER_FIELDS if n in names), names[0])]
        return int(value)

    def rust_str(value):
        value = unwrap_to(value, ("data_ptr", "length"))
        length = int(value["length"])
        data = gdb.selected_inferior().read_memory(int(value["data_ptr"]), length)
        return bytes(data).decode("utf-8", "replace")

    def describe_location(option):
        """`file:line` of an Option<&'static Location>, or '-'."""
        text = option.format_string()
        if text.endswith("None"):
            return "-"
        try:
            location = option[option.type.strip_typedefs().fields()[-1]]
            for _ in range(6):
                if location.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                    location = location.dereference()
                elif "line" not in field_names(location):
                    location = location[field_names(location)[0]]
            file_field = next(n for n in ("filename", "file", "file_bytes") if n in field_names(location))
            return "%s:%d" % (rust_str(location[file_field]), int(location["line"]))
        except (gdb.error, gdb.MemoryError, StopIteration):
            return shorten(text)

    def kernel_mm():
        """The built `Mm` inside `static MM: spin::Once<..>` of kernel/src/main.rs."""
        try:
            once = gdb.parse_and_eval("lazymmu::MM")
        except gdb.error:
            symbol = gdb.lookup_static_symbol("lazymmu::MM") or gdb.lookup_global_symbol("lazymmu::MM")
            if symbol is None:
                raise gdb.GdbError("lazymmu-lazy: no symbol lazymmu::MM (load the kernel ELF)")
            once = symbol.value()
        if leaf_int(once["status"]) != ONCE_COMPLETE:
            raise gdb.GdbError("lazymmu-lazy: MM is not built yet (kernel_main has not reached the mm context)")
        return unwrap_to(once["data"], ("cpus",))

    def describe_cpu(cpu, mutex, tasks, queue_capacity, batch_capacity):
        spin = unwrap_to(mutex, ("lock", "data"))
        state = unwrap_to(spin["data"], ("current", "queue"))
        current = leaf_int(state["current"])
        task_spin = unwrap_to(tasks[current], ("lock", "data"))
        task = unwrap_to(task_spin["data"], ("enable_count", "pause_count"))
        running = gdb.selected_thread() is not None and gdb.selected_thread().num - 1 == cpu
        print(
            "cpu%d%s: active=%s preempt_count=%d lock=%s; current task%d: enable_count=%d pause_count=%d barrier_pending=%s lock=%s"
            % (
                cpu,
                " (selected vCPU)" if running else "",
                yes_no(bool(state["active"])),
                int(state["preempt_count"]),
                "held" if leaf_int(spin["lock"]) else "free",
                current,
                int(task["enable_count"]),
                int(task["pause_count"]),
                yes_no(bool(task["barrier_pending"])),
                "held" if leaf_int(task_spin["lock"]) else "free",
            )
        )
        print("  entered at: %s" % describe_location(task["entered_at"]))
        queue_len = int(state["queue_len"])
        print("  queue: %d of %d" % (queue_len, queue_capacity))
        for index in range(queue_len):
            print("    [%d] %s" % (index, shorten(state["queue"][index].format_string(format="x"))))
        batch_len = int(state["batch_len"])
        flush_all = state["batch_flush_all"].format_string()
        print(
            "  batch: %d of %d%s"
            % (batch_len, batch_capacity, "" if flush_all.endswith("None") else ", plus a full flush " + shorten(flush_all).split("::")[-1])
        )
        for index in range(batch_len):
            entry = state["batch"][index]
            va, scope = entry[entry.type.fields()[0]], entry[entry.type.fields()[1]]
            print("    [%d] va=%#x %s" % (index, leaf_int(va), shorten(scope.format_string())))

    class LazymmuLazy(gdb.Command):
        """lazymmu-lazy [CPU]: each CPU's lazy MMU state and pending work (see scripts/gdb/lazymmu.py)."""

        def __init__(self):
            super().__init__("lazymmu-lazy", gdb.COMMAND_DATA)

        def invoke(self, argument, from_tty):
            args = gdb.string_to_argv(argument)
            if len(args) > 1:
                raise gdb.GdbError("usage: lazymmu-lazy [CPU]")
            mm = kernel_mm()
            cpus = mm["cpus"]
            low, high = cpus.type.strip_typedefs().range()
            wanted = range(low, high + 1)
            if args:
                cpu = int(gdb.parse_and_eval(args[0]))
                if cpu not in wanted:
                    raise gdb.GdbError("lazymmu-lazy: CPU %d is not below MAX_CPUS=%d" % (cpu, high + 1))
                wanted = [cpu]
            settings = mm["settings"]
            queue_capacity = leaf_int(settings["queue_capacity"])
            batch_capacity = leaf_int(settings["batch_capacity"])
            for cpu in wanted:
                describe_cpu(cpu, cpus[cpu], mm["tasks"], queue_capacity, batch_capacity)

    LazymmuLazy()


def self_test():
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
    # lazymmu-lazy shortens gdb's Rust rendering of queued ops.
    text = "mm::lazy::state::QueuedOp::Write{ptep: mm::addr::PhysAddr (0x1207000), value: mm::pte::PteValue (0x63)}"
    assert shorten(text) == "Write{ptep: PhysAddr(0x1207000), value: PteValue(0x63)}", shorten(text)
    assert shorten("core::option::Option<mm::mmu::TlbScope>::Some(mm::mmu::TlbScope::Broadcast)") == "Option<TlbScope>::Some(Broadcast)"
    print("lazymmu.py self-test: ok")


if __name__ == "__main__" and gdb is None:
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    else:
        print(__doc__)
