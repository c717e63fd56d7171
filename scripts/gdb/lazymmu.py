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

lazymmu-lazy shows the CPUs the kernel started (`lazymmu::smp::CPUS_ONLINE`,
kernel/src/smp.rs). Sourcing this file also loads the toolchain's Rust
pretty-printers (`rustc --print sysroot`, lib/rustlib/etc).

Without gdb, `python3 scripts/gdb/lazymmu.py --self-test` checks the
decoders (`lazymmu_tables.py`, beside this file) against hand-built tables
and the shortening of gdb's Rust rendering.
"""

import os
import re
import subprocess
import sys

# The decoders live beside this file; gdb's `source` sets __file__.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lazymmu_tables as tables  # noqa: E402
from lazymmu_tables import LINEAR_MAP_BASE, arm64_root, bits, walk  # noqa: E402

try:
    import gdb  # noqa: F401 (only inside gdb)
except ImportError:
    gdb = None

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

    def cpus_online(cpus):
        """The kernel's count of started CPUs (kernel/src/smp.rs), at most the array's length."""
        low, high = cpus.type.strip_typedefs().range()
        try:
            online = leaf_int(gdb.parse_and_eval("lazymmu::smp::CPUS_ONLINE"))
        except gdb.error:
            print("lazymmu-lazy: no symbol lazymmu::smp::CPUS_ONLINE; showing all %d CPU slots" % (high - low + 1))
            return high - low + 1
        return min(online, high - low + 1)

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
            wanted = range(cpus_online(cpus))
            if args:
                cpu = int(gdb.parse_and_eval(args[0]))
                if cpu not in wanted:
                    raise gdb.GdbError("lazymmu-lazy: CPU %d is not online (%d online)" % (cpu, len(wanted)))
                wanted = [cpu]
            instrumentation = mm["instr"]
            queue_capacity = leaf_int(instrumentation["queue_capacity"])
            batch_capacity = leaf_int(instrumentation["batch_capacity"])
            for cpu in wanted:
                describe_cpu(cpu, cpus[cpu], mm["tasks"], queue_capacity, batch_capacity)

    LazymmuLazy()

    def load_rust_pretty_printers():
        """Sources the toolchain's Rust pretty-printers (the workspace's toolchain, from rust-toolchain.toml)."""
        workspace = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
        try:
            sysroot = subprocess.run(
                ["rustc", "--print", "sysroot"], cwd=workspace, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as error:
            print("lazymmu.py: Rust pretty-printers not loaded: rustc --print sysroot failed (%s)" % error)
            return
        etc = os.path.join(sysroot, "lib", "rustlib", "etc")
        if not os.path.isfile(os.path.join(etc, "gdb_lookup.py")):
            print("lazymmu.py: Rust pretty-printers not loaded: no gdb_lookup.py in %s" % etc)
            return
        # What the toolchain's gdb_load_rust_pretty_printers.py does, without
        # sourcing it from here (it finds its directory through __file__).
        if etc not in sys.path:
            sys.path.append(etc)
        import gdb_lookup  # noqa: E402 (from the toolchain, found only now)

        gdb_lookup.register_printers(gdb.current_objfile() or gdb.current_progspace())

    load_rust_pretty_printers()


def self_test():
    tables.self_test()
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
