//! Suite `boot`: the kernel's own tables are in force and the real MMU
//! enforces them (W^X, the stack guard page, unmapped addresses), the
//! linear map aliases the kernel map, and both CPUs' translation-control
//! registers hold what the tables and flushes depend on; [`machine`] checks
//! what every other suite stands on (the boot information, the probes,
//! `catch`).

mod machine;

use core::sync::atomic::{AtomicU64, Ordering};

use ktest::{kcheck, kcheck_eq, kdiag, ktest_case, Ctx, Judge};
use mm::FaultKind;

use crate::arch;
use crate::paging::image_layout;

/// Lives in .rodata: the store probe must fault on it.
static RODATA_WORD: u64 = 0x0123_4567_89ab_cdef;
/// Lives in .data: the fetch probe must fault on it, the alias check reads it.
static DATA_WORDS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

fn addr_of<T>(value: &T) -> u64 {
    value as *const T as u64
}

fn fault_kind(result: Result<(), mm::Fault>) -> Option<FaultKind> {
    result.err().map(|fault| fault.kind)
}

ktest_case!(boot, rodata_store_faults, desc = "a store to .rodata faults as write-protected", |ctx: &mut Ctx| {
    let va = addr_of(&RODATA_WORD);
    let seen = fault_kind(arch::probe_write(va, RODATA_WORD));
    kcheck_eq!(ctx, Judge::Mmu, seen, Some(FaultKind::WriteProtected), "store to .rodata");
});

ktest_case!(boot, text_store_faults, desc = "a store to .text faults as write-protected (W^X)", |ctx: &mut Ctx| {
    let va = arch::return_only as *const () as u64;
    let word = arch::probe_read(va).unwrap_or(0);
    let seen = fault_kind(arch::probe_write(va, word));
    kcheck_eq!(ctx, Judge::Mmu, seen, Some(FaultKind::WriteProtected), "store to .text");
});

ktest_case!(boot, text_fetch_works, desc = "a call into .text runs", |ctx: &mut Ctx| {
    let seen = fault_kind(arch::probe_exec(arch::return_only as *const () as u64));
    kcheck_eq!(ctx, Judge::Mmu, seen, None, "call of a `ret` in .text");
});

ktest_case!(boot, data_fetch_faults, desc = "a call into .data faults as no-execute (W^X)", |ctx: &mut Ctx| {
    // A copy of a `ret`: if .data were executable the call would return.
    let ret = arch::probe_read(arch::return_only as *const () as u64).unwrap_or(0);
    DATA_WORDS[0].store(ret, Ordering::SeqCst);
    let seen = fault_kind(arch::probe_exec(addr_of(&DATA_WORDS[0])));
    kcheck_eq!(ctx, Judge::Mmu, seen, Some(FaultKind::NoExecute), "call into .data");
});

ktest_case!(
    boot,
    stack_guard_faults,
    desc = "a read of the boot stack's guard page faults as not mapped",
    |ctx: &mut Ctx| {
        let guard = image_layout().stack_guard;
        let seen = arch::probe_read(guard).err().map(|fault| fault.kind);
        kcheck_eq!(ctx, Judge::Mmu, seen, Some(FaultKind::NotMapped), "read of the stack guard page");
    }
);

ktest_case!(
    boot,
    unmapped_faults,
    desc = "a read of an unmapped kernel address faults as not mapped",
    |ctx: &mut Ctx| {
        // The top of the vmalloc area: nothing is ever mapped there.
        let layout = crate::mm().layout();
        let va = layout.vmalloc_base.as_u64() + layout.vmalloc_size - mm::PAGE_SIZE;
        let seen = arch::probe_read(va).err().map(|fault| fault.kind);
        kcheck_eq!(ctx, Judge::Mmu, seen, Some(FaultKind::NotMapped), "read of an unmapped address");
    }
);

ktest_case!(
    boot,
    linear_map_aliases_kernel_map,
    desc = "the linear map shows the kernel image's frames at the same contents",
    |ctx: &mut Ctx| {
        let kernel_va = addr_of(&DATA_WORDS[1]);
        let linear_va =
            crate::mm().layout().phys_to_virt(mm::PhysAddr::new(kernel_va - crate::boot_info().kernel_virt_offset));
        let tag = 0x1a2b_3c4d_5e6f_7081 ^ arch::ticks();
        DATA_WORDS[1].store(tag, Ordering::SeqCst);
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            arch::probe_read(linear_va.as_u64()),
            Ok(tag),
            "linear map read of a kernel-map store"
        );
        let written = arch::probe_write(linear_va.as_u64(), !tag);
        kcheck!(ctx, Judge::Mmu, written.is_ok(), "store through the linear map: {written:?}");
        kcheck_eq!(
            ctx,
            Judge::Mmu,
            DATA_WORDS[1].load(Ordering::SeqCst),
            !tag,
            "kernel map read of a linear-map store"
        );
    }
);

/// Checks each translation-control field `cpu` holds against what it must be.
fn check_translation_fields(ctx: &mut Ctx, cpu: usize, registers: &arch::TranslationRegisters) {
    for field in arch::translation_fields(registers) {
        kcheck_eq!(
            ctx,
            Judge::State,
            field.seen,
            field.expected,
            "cpu{cpu} {}.{} ({})",
            field.register,
            field.field,
            field.meaning
        );
    }
}

ktest_case!(
    boot,
    translation_control,
    desc = "both CPUs' translation-control registers hold each field the tables and flushes depend on",
    |ctx: &mut Ctx| {
        check_translation_fields(ctx, arch::cpu_id(), &arch::translation_registers());
        match crate::smp::remote_translation_registers() {
            Some(registers) => check_translation_fields(ctx, 1, &registers),
            None => kdiag!(ctx, "translation_control: CPU1 did not answer; checked cpu0 only"),
        }
    }
);
