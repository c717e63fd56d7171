//! Starting CPU 1 with PSCI CPU_ON. It enters `secondary_entry` at EL1 with
//! the MMU off, at the code's physical address, and turns the MMU on with
//! the boot CPU's translation registers except TTBR0, which first holds an
//! identity map (1 GiB blocks) so the next instruction is still mapped. It
//! then jumps to the code's linked address (the same one when the image
//! runs identity mapped, the higher half under Limine), loads the kernel's
//! own TTBR0, picks up its stack, and sets up the same per-CPU state as the
//! boot CPU before calling `entry`.

use core::arch::{asm, global_asm};
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use core::mem::offset_of;

use aarch64_cpu::registers::{Readable, CPACR_EL1, MAIR_EL1, SCTLR_EL1, TCR_EL1, TTBR0_EL1, TTBR1_EL1};
use mm::pte::arm64::{attr_indx, Arm64Flags, MAIR_INDEX_DEVICE, MAIR_INDEX_NORMAL};

use super::dt::PsciConduit;
use super::timer;

/// PSCI 0.2+ function IDs (SMC64 calling convention).
const PSCI_CPU_ON: u64 = 0xc400_0003;
/// How long CPU 1 gets to report in: TCG with a busy host can take seconds
/// (docs/tcg.md, "Timing": SMP spin-waits of up to 3.6 s were measured).
const ONLINE_TIMEOUT_US: u64 = 5_000_000;

/// What `secondary_entry` reads with the MMU still off (the assembly takes
/// the field offsets from `offset_of!`).
#[repr(C)]
struct SecondaryBoot {
    mair: u64,
    tcr: u64,
    ttbr0: u64,
    ttbr1: u64,
    sctlr: u64,
    stack_top: u64,
    /// Physical address of `IDMAP`'s level-0 table.
    idmap_ttbr0: u64,
}

/// Written by the boot CPU before CPU_ON, read by CPU 1 once.
static mut SECONDARY_BOOT: SecondaryBoot =
    SecondaryBoot { mair: 0, tcr: 0, ttbr0: 0, ttbr1: 0, sctlr: 0, stack_top: 0, idmap_ttbr0: 0 };

const ENTRIES_PER_TABLE: usize = 512;
const BLOCK_SHIFT: u32 = 30;
/// Level-0 table descriptor; level-1 block descriptor (bit 1 clear), AF,
/// inner shareable, with the kernel's MAIR index for Normal memory...
const TABLE_DESCRIPTOR: u64 = Arm64Flags::VALID.union(Arm64Flags::TABLE_OR_PAGE).bits();
const NORMAL_BLOCK: u64 = Arm64Flags::VALID
    .union(Arm64Flags::ACCESS_FLAG)
    .union(Arm64Flags::SH_INNER)
    .union(attr_indx(MAIR_INDEX_NORMAL))
    .bits();
/// ...and for Device memory (virt's MMIO below 1 GiB), never executable.
const DEVICE_BLOCK: u64 = Arm64Flags::VALID
    .union(Arm64Flags::ACCESS_FLAG)
    .union(Arm64Flags::PXN)
    .union(Arm64Flags::UXN)
    .union(attr_indx(MAIR_INDEX_DEVICE))
    .bits();

/// The identity map CPU 1 turns its MMU on with: level 0 -> level 1 of
/// 1 GiB blocks over the first 512 GiB (virt's MMIO, then RAM).
#[repr(C, align(4096))]
struct IdMap {
    level0: [u64; ENTRIES_PER_TABLE],
    level1: [u64; ENTRIES_PER_TABLE],
}

static mut IDMAP: IdMap = IdMap { level0: [0; ENTRIES_PER_TABLE], level1: [0; ENTRIES_PER_TABLE] };
static SECONDARY_ENTRY: AtomicUsize = AtomicUsize::new(0);
static CPU1_ONLINE: AtomicBool = AtomicBool::new(false);

global_asm!(
    r#"
    .section .text.boot, "ax"
    .global secondary_entry
secondary_entry:                    // x0 = &SECONDARY_BOOT (physical)
    mov     x19, x0
    mov     x0, #{fpen}             // CPACR_EL1.FPEN: FP/SIMD for Rust
    msr     cpacr_el1, x0
    isb
    ldr     x1, [x19, #{mair}]
    ldr     x2, [x19, #{tcr}]
    msr     mair_el1, x1
    msr     tcr_el1, x2
    ldr     x1, [x19, #{idmap_ttbr0}]
    ldr     x2, [x19, #{ttbr1}]
    msr     ttbr0_el1, x1
    msr     ttbr1_el1, x2
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    ldr     x1, [x19, #{sctlr}]
    msr     sctlr_el1, x1
    isb
    // The block is still reachable at its physical address: read what is
    // left before TTBR0 changes.
    ldr     x20, [x19, #{ttbr0}]
    ldr     x21, [x19, #{stack_top}]
    ldr     x1, =secondary_linked
    br      x1
secondary_linked:
    msr     ttbr0_el1, x20
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    msr     spsel, #0
    mov     sp, x21
    mov     x29, xzr
    mov     x30, xzr
    // gdb: the frame below the first Rust function is the outermost
    // (CFI in .debug_frame; the linker script drops .eh_frame).
    .cfi_sections .debug_frame
    .cfi_startproc
    .cfi_undefined x30
    bl      secondary_start
1:  wfe
    b       1b
    .cfi_endproc
    .ltorg
"#,
    fpen = const CPACR_EL1::FPEN::TrapNothing.value,
    mair = const offset_of!(SecondaryBoot, mair),
    tcr = const offset_of!(SecondaryBoot, tcr),
    ttbr0 = const offset_of!(SecondaryBoot, ttbr0),
    ttbr1 = const offset_of!(SecondaryBoot, ttbr1),
    sctlr = const offset_of!(SecondaryBoot, sctlr),
    stack_top = const offset_of!(SecondaryBoot, stack_top),
    idmap_ttbr0 = const offset_of!(SecondaryBoot, idmap_ttbr0),
);

extern "C" {
    fn secondary_entry();
}

#[no_mangle]
extern "C" fn secondary_start() -> ! {
    super::init_secondary(1);
    CPU1_ONLINE.store(true, Ordering::Release);
    let entry = SECONDARY_ENTRY.load(Ordering::Acquire);
    // SAFETY: `start_cpu1` stored a `fn() -> !` before CPU_ON.
    let entry: fn() -> ! = unsafe { core::mem::transmute::<usize, fn() -> !>(entry) };
    entry()
}

fn psci_call(conduit: PsciConduit, function: u64, arg0: u64, arg1: u64, arg2: u64) -> i64 {
    let mut result = function;
    // SAFETY: a PSCI call per the SMC calling convention: x0..x3 in, x0
    // out, x4..x17 may be clobbered by the firmware.
    unsafe {
        match conduit {
            PsciConduit::Hvc => asm!(
                "hvc #0",
                inout("x0") result, inout("x1") arg0 => _, inout("x2") arg1 => _,
                inout("x3") arg2 => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
                out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
                options(nostack)
            ),
            PsciConduit::Smc => asm!(
                "smc #0",
                inout("x0") result, inout("x1") arg0 => _, inout("x2") arg1 => _,
                inout("x3") arg2 => _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
                out("x8") _, out("x9") _, out("x10") _, out("x11") _, out("x12") _,
                out("x13") _, out("x14") _, out("x15") _, out("x16") _, out("x17") _,
                options(nostack)
            ),
        }
    }
    result as i64
}

/// Starts CPU 1 on `stack_top` (a VA valid in the current tables) running
/// `entry`, and waits (bounded) until it reports in.
pub fn start_cpu1(
    conduit: Option<PsciConduit>,
    mpidr: Option<u64>,
    stack_top: u64,
    entry: fn() -> !,
) -> Result<(), &'static str> {
    let conduit = conduit.ok_or("no PSCI node in the device tree")?;
    let mpidr = mpidr.ok_or("the device tree lists no second CPU")?;
    if CPU1_ONLINE.load(Ordering::Acquire) {
        return Err("cpu1 is already running");
    }
    SECONDARY_ENTRY.store(entry as usize, Ordering::Release);
    // SAFETY: CPU 1 is not running yet, so nothing else reads the block;
    // afterwards only `secondary_entry` reads it.
    let boot = unsafe { &mut *addr_of_mut!(SECONDARY_BOOT) };
    boot.mair = MAIR_EL1.get();
    boot.tcr = TCR_EL1.get();
    boot.ttbr0 = TTBR0_EL1.get();
    boot.ttbr1 = TTBR1_EL1.get();
    boot.sctlr = SCTLR_EL1.get();
    boot.stack_top = stack_top;
    // The image runs at its physical address plus this (0 when identity
    // mapped): CPU_ON and the MMU-off code need physical addresses.
    let virt_offset = super::kernel_virt_offset();
    // SAFETY: as for SECONDARY_BOOT: CPU 1 is not running yet.
    let idmap = unsafe { &mut *addr_of_mut!(IDMAP) };
    idmap.level0[0] = (addr_of_mut!(idmap.level1) as u64 - virt_offset) | TABLE_DESCRIPTOR;
    for (index, entry) in idmap.level1.iter_mut().enumerate() {
        let block = if index == 0 { DEVICE_BLOCK } else { NORMAL_BLOCK };
        *entry = ((index as u64) << BLOCK_SHIFT) | block;
    }
    boot.idmap_ttbr0 = addr_of_mut!(idmap.level0) as u64 - virt_offset;
    // CPU 1 reads the block with its MMU (and so its caches) off. TCG has no
    // caches to clean; the barrier orders the stores before the CPU_ON.
    // SAFETY: a barrier only.
    unsafe { asm!("dsb sy", options(nostack, preserves_flags)) };

    let entry_pa = secondary_entry as *const () as u64 - virt_offset;
    let context_pa = addr_of_mut!(SECONDARY_BOOT) as u64 - virt_offset;
    let status = psci_call(conduit, PSCI_CPU_ON, mpidr, entry_pa, context_pa);
    if status != 0 {
        return Err(match status {
            -2 => "PSCI CPU_ON: invalid parameters",
            -4 => "PSCI CPU_ON: cpu1 already on",
            -5 => "PSCI CPU_ON: cpu1 already being turned on",
            _ => "PSCI CPU_ON failed",
        });
    }
    let deadline = timer::deadline_after_us(ONLINE_TIMEOUT_US);
    while !CPU1_ONLINE.load(Ordering::Acquire) {
        if timer::ticks() > deadline {
            return Err("cpu1 did not come online within 5 s");
        }
        core::hint::spin_loop();
    }
    Ok(())
}
