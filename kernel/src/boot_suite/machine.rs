//! The machine the other suites stand on: the boot adapter's memory map is
//! consistent, a probe names the fault it took (kind, access, address), an
//! instruction fetch from MMIO faults, and `catch` turns a wild store inside
//! a case into a value.

use ktest::{kcheck, kcheck_eq, ktest_case, Ctx, Judge};
use mm::{Access, Fault, FaultAddr, FaultKind};

use crate::arch::{self, Caught};

/// The top page of the vmalloc area: nothing is ever mapped there.
fn unmapped_va() -> u64 {
    let layout = crate::mm().layout();
    layout.vmalloc_base.as_u64() + layout.vmalloc_size - mm::PAGE_SIZE
}

/// In neither half of the address space on either arch (x86_64
/// non-canonical, arm64 outside both TTBR ranges).
const OUTSIDE_BOTH_HALVES: u64 = 0x8000_0000_0000_0000;

ktest_case!(
    boot,
    boot_info_is_consistent,
    desc = "the boot adapter's memory map: RAM present, the kernel image in RAM, usable regions clear of it",
    |ctx: &mut Ctx| {
        let info = crate::boot_info();
        let ram = info.ram();
        for region in ram {
            log::info!("boot: ram    {:#012x}..{:#012x}", region.base, region.end());
        }
        for region in info.usable() {
            log::info!("boot: usable {:#012x}..{:#012x}", region.base, region.end());
        }
        let image = info.kernel_phys;
        log::info!("boot: kernel {:#012x}..{:#012x}", image.base, image.end());
        let in_ram = |base: u64, end: u64| ram.iter().any(|r| r.base <= base && end <= r.end());
        kcheck!(ctx, Judge::State, !ram.is_empty(), "boot info: no RAM region");
        kcheck!(ctx, Judge::State, in_ram(image.base, image.end()), "boot info: kernel image outside RAM");
        for region in info.usable() {
            let (base, end) = (region.base, region.end());
            kcheck!(ctx, Judge::State, in_ram(base, end), "boot info: usable {base:#x}..{end:#x} outside RAM");
            let overlaps_image = base < image.end() && image.base < end;
            kcheck!(ctx, Judge::State, !overlaps_image, "boot info: usable {base:#x}..{end:#x} overlaps the kernel");
        }
    }
);

ktest_case!(
    boot,
    probes_name_their_faults,
    desc = "a probe of an unmapped address names the fault's kind, access and address",
    |ctx: &mut Ctx| {
        let va = unmapped_va();
        let expected = |access| Err(Fault { kind: FaultKind::NotMapped, access, addr: FaultAddr(va) });
        kcheck_eq!(ctx, Judge::Mmu, arch::probe_read(va).map(|_| ()), expected(Access::Read), "probe_read, unmapped");
        kcheck_eq!(ctx, Judge::Mmu, arch::probe_write(va, 1), expected(Access::Write), "probe_write, unmapped");
        kcheck_eq!(ctx, Judge::Mmu, arch::probe_exec(va), expected(Access::Exec), "probe_exec, unmapped");
        let outside = arch::probe_read(OUTSIDE_BOTH_HALVES);
        let named = matches!(outside, Err(f) if f.addr == FaultAddr(OUTSIDE_BOTH_HALVES) && f.access == Access::Read);
        kcheck!(ctx, Judge::Mmu, named, "probe_read outside both halves: {outside:x?}");
    }
);

ktest_case!(boot, mmio_fetch_faults, desc = "an instruction fetch from MMIO faults as no-execute", |ctx: &mut Ctx| {
    let Some(mmio) = arch::mmio_regions().first() else {
        ctx.skip(format_args!("no MMIO region is mapped"));
        return;
    };
    let seen = arch::probe_exec(mmio.base).err().map(|fault| fault.kind);
    kcheck_eq!(ctx, Judge::Mmu, seen, Some(FaultKind::NoExecute), "call into MMIO at {:#x}", mmio.base);
});

ktest_case!(
    boot,
    catch_turns_a_wild_store_into_a_value,
    desc = "catch() turns a wild store inside a case into a value, not a crash",
    |ctx: &mut Ctx| {
        kcheck_eq!(ctx, Judge::State, arch::catch(&mut || (), None), Ok(()), "catch of a closure that returns");
        let va = unmapped_va();
        let mut after_store = false;
        let caught = arch::catch(
            &mut || {
                // SAFETY: not sound on purpose: the store must fault, and
                // `catch` must turn the fault into a value.
                unsafe { core::ptr::write_volatile(va as *mut u64, 1) };
                after_store = true;
            },
            None,
        );
        let expected =
            Err(Caught::Fault(Fault { kind: FaultKind::NotMapped, access: Access::Write, addr: FaultAddr(va) }));
        kcheck_eq!(ctx, Judge::Mmu, caught, expected, "catch of a wild store");
        kcheck!(ctx, Judge::State, !after_store, "catch: the closure ran on past the faulting store");
    }
);
