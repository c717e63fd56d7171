//! CPU1 bring-up and IPIs. CPU1 is started with INIT-SIPI-SIPI at a
//! real-mode trampoline copied to 0x8000 (below 1 MiB, as STARTUP
//! requires; no boot adapter hands out low memory). The trampoline reaches
//! long mode on transition tables next to it (identity 0..1 GiB, where the
//! trampoline runs and a direct-boot image lives, plus the kernel's upper
//! half, where a higher-half image lives), jumps to the kernel, which then
//! loads the kernel's current CR3: the trampoline pages need not be mapped
//! in the kernel's own tables.

use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use boot::long_mode;
use spin::Once;
use x86_64::registers::control::Cr3;

use super::idt::IPI_VECTOR;
use super::percpu::{self, NR_CPUS};
use super::{apic, gdt, idt, mmu, time};

const TRAMPOLINE_PHYS: u64 = 0x8000;
/// The transition tables: PML4, one PDPT, one page directory of 2 MiB
/// pages, in the low pages after the trampoline.
const TRANSITION_PML4_PHYS: u64 = 0x9000;
const TRANSITION_PDPT_PHYS: u64 = 0xa000;
const TRANSITION_PD_PHYS: u64 = 0xb000;
const ENTRIES_PER_TABLE: usize = 512;
const PTE_TABLE: u64 = long_mode::PTE_TABLE;
const PTE_LARGE_PAGE: u64 = long_mode::PTE_TABLE | long_mode::PTE_HUGE;

/// CPU1 under TCG can take long to be scheduled when the host is busy
/// (docs/tcg.md, "Timing": SMP waits of up to 3.6 s were measured).
const CPU_START_TIMEOUT_US: u64 = 5_000_000;

global_asm!(
    r#"
    .pushsection .rodata.smp_trampoline, "a"
    .global smp_trampoline_start, smp_trampoline_end
    .code16
smp_trampoline_start:
    cli
    cld
    xorw    %ax, %ax
    movw    %ax, %ds
    lgdtl   ({base} + smp_tramp_gdt_ptr - smp_trampoline_start)
    movl    %cr0, %eax
    orl     $1, %eax
    movl    %eax, %cr0
    ljmpl   $0x08, $({base} + smp_tramp32 - smp_trampoline_start)

    .code32
smp_tramp32:
    movl    $0x10, %eax
    movl    %eax, %ds
    movl    %eax, %es
    movl    %eax, %ss
    # Long mode with the boot CPU's control bits (boot::long_mode).
    movl    ${pml4}, %eax
    movl    %eax, %cr3
"#,
    boot::enter_long_mode_asm!(),
    r#"
    ljmp    $0x18, $({base} + smp_tramp64 - smp_trampoline_start)

    .code64
smp_tramp64:
    movabsq $smp_ap_entry64, %rax
    jmp     *%rax

    .balign 8
smp_tramp_gdt:
    .quad   0
    .quad   {gdt_code32}            # 0x08: 32-bit code
    .quad   {gdt_data}              # 0x10: data
    .quad   {gdt_code64}            # 0x18: 64-bit code
smp_tramp_gdt_ptr:
    .word   smp_tramp_gdt_ptr - smp_tramp_gdt - 1
    .long   {base} + smp_tramp_gdt - smp_trampoline_start
smp_trampoline_end:
    .popsection

    .pushsection .text.smp_ap_entry, "ax"
    .global smp_ap_entry64
smp_ap_entry64:
    movq    {cr3}(%rip), %rax
    movq    %rax, %cr3
    movq    {stack_top}(%rip), %rsp
    xorl    %ebp, %ebp              # end of the frame-pointer chain
    # gdb: the frame below the first Rust function is the outermost
    # (CFI in .debug_frame; the linker script drops .eh_frame).
    .cfi_sections .debug_frame
    .cfi_startproc
    .cfi_undefined %rip
    call    {ap_main}
    ud2
    .cfi_endproc
    .popsection
"#,
    base = const TRAMPOLINE_PHYS,
    pml4 = const TRANSITION_PML4_PHYS,
    cr4_set = const long_mode::CR4_SET,
    efer_msr = const long_mode::EFER_MSR,
    efer_set = const long_mode::EFER_SET,
    cr0_keep = const long_mode::CR0_KEEP,
    cr0_set = const long_mode::CR0_SET,
    gdt_code32 = const long_mode::GDT_CODE32,
    gdt_code64 = const long_mode::GDT_CODE64,
    gdt_data = const long_mode::GDT_DATA,
    cr3 = sym AP_CR3,
    stack_top = sym AP_STACK_TOP,
    ap_main = sym ap_main,
    options(att_syntax)
);

extern "C" {
    static smp_trampoline_start: u8;
    static smp_trampoline_end: u8;
}

/// Read by `smp_ap_entry64` before CPU1 has a stack.
static AP_CR3: AtomicU64 = AtomicU64::new(0);
static AP_STACK_TOP: AtomicU64 = AtomicU64::new(0);
static AP_ENTRY: Once<fn() -> !> = Once::new();

static ONLINE: [AtomicBool; NR_CPUS] = [const { AtomicBool::new(false) }; NR_CPUS];
static APIC_IDS: [AtomicU32; NR_CPUS] = [const { AtomicU32::new(0) }; NR_CPUS];

/// The `fn()` the IPI vector runs, as an address; 0 = none.
static IPI_CALLBACK: AtomicUsize = AtomicUsize::new(0);

/// Records the boot CPU (called from `init_cpu0` once the LAPIC is on).
pub fn init_cpu0() {
    APIC_IDS[0].store(apic::id(), Ordering::Relaxed);
    ONLINE[0].store(true, Ordering::Release);
}

pub fn cpu_online(cpu: usize) -> bool {
    cpu < NR_CPUS && ONLINE[cpu].load(Ordering::Acquire)
}

/// Starts CPU1 on `stack_top` with the kernel's current page tables, the
/// same GDT layout, IDT and LAPIC set-up as CPU0, interrupts enabled (it
/// must answer IPIs, TLB shootdowns included), running `entry`.
pub fn start_cpu1(stack_top: u64, entry: fn() -> !) -> Result<(), &'static str> {
    if AP_ENTRY.get().is_some() {
        return Err("CPU1 was already started");
    }
    AP_ENTRY.call_once(|| entry);
    let start = core::ptr::addr_of!(smp_trampoline_start);
    let len = core::ptr::addr_of!(smp_trampoline_end) as usize - start as usize;
    // SAFETY: the trampoline page is RAM below 1 MiB that BootInfo keeps out
    // of the usable list, so nothing else lives there, and it is reachable
    // through the current phys→virt offset (identity or linear map).
    unsafe {
        core::ptr::copy_nonoverlapping(start, mmu::phys_to_virt(TRAMPOLINE_PHYS) as *mut u8, len);
    }
    let cr3 = Cr3::read_raw().0.start_address().as_u64();
    write_transition_tables(cr3);
    AP_CR3.store(cr3, Ordering::Release);
    AP_STACK_TOP.store(stack_top, Ordering::Release);

    // QEMU numbers the CPUs' APIC IDs contiguously from the boot CPU's.
    let target = APIC_IDS[0].load(Ordering::Relaxed) + 1;
    let page = (TRAMPOLINE_PHYS >> 12) as u8;
    // The MP spec's 10 ms after INIT and 200 us between SIPIs are for
    // hardware; QEMU needs neither, so the waits are short.
    apic::send_init(target);
    time::delay_us(1_000);
    apic::send_startup(target, page);
    if !wait_online(1, 200) {
        apic::send_startup(target, page);
    }
    if wait_online(1, CPU_START_TIMEOUT_US) {
        Ok(())
    } else {
        Err("CPU1 did not come online within 5 s of INIT-SIPI-SIPI")
    }
}

/// Builds the tables the trampoline enters long mode on: 0..1 GiB
/// identity in 2 MiB pages, and the upper half of `kernel_cr3`'s PML4.
fn write_transition_tables(kernel_cr3: u64) {
    let table = |phys: u64| mmu::phys_to_virt(phys) as *mut u64;
    let upper_half = ENTRIES_PER_TABLE / 2..ENTRIES_PER_TABLE;
    // SAFETY: the three pages are low RAM that no boot adapter hands out,
    // reachable through the current phys→virt offset like the trampoline
    // page; `kernel_cr3` is the live PML4, only read.
    unsafe {
        for phys in [TRANSITION_PML4_PHYS, TRANSITION_PDPT_PHYS] {
            core::ptr::write_bytes(table(phys), 0, ENTRIES_PER_TABLE);
        }
        table(TRANSITION_PML4_PHYS).write(TRANSITION_PDPT_PHYS | PTE_TABLE);
        for index in upper_half {
            let entry = table(kernel_cr3).add(index).read();
            table(TRANSITION_PML4_PHYS).add(index).write(entry);
        }
        table(TRANSITION_PDPT_PHYS).write(TRANSITION_PD_PHYS | PTE_TABLE);
        for index in 0..ENTRIES_PER_TABLE {
            table(TRANSITION_PD_PHYS).add(index).write(((index as u64) << 21) | PTE_LARGE_PAGE);
        }
    }
}

fn wait_online(cpu: usize, timeout_us: u64) -> bool {
    let deadline = time::ticks() + time::us_to_ticks(timeout_us);
    while !cpu_online(cpu) {
        if time::ticks() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// CPU1's first Rust code, on its own stack and the kernel's tables.
extern "C" fn ap_main() -> ! {
    percpu::init(1);
    gdt::init(1);
    idt::load();
    apic::init_local();
    APIC_IDS[1].store(apic::id(), Ordering::Relaxed);
    ONLINE[1].store(true, Ordering::Release);
    x86_64::instructions::interrupts::enable();
    let entry = AP_ENTRY.get().expect("CPU1 entry set before STARTUP");
    entry()
}

pub fn set_ipi_callback(callback: fn()) {
    IPI_CALLBACK.store(callback as usize, Ordering::Release);
}

/// Sends the IPI vector to `cpu`, whose handler runs the IPI callback. A
/// CPU that is not online is skipped.
pub fn send_ipi(cpu: usize) {
    send_vector(cpu, IPI_VECTOR);
}

pub fn send_vector(cpu: usize, vector: u8) {
    if cpu_online(cpu) {
        apic::send_fixed_ipi(APIC_IDS[cpu].load(Ordering::Relaxed), vector);
    }
}

pub fn ipi_interrupt() {
    let callback = IPI_CALLBACK.load(Ordering::Acquire);
    if callback != 0 {
        // SAFETY: the only non-zero values stored are `fn()` pointers
        // (set_ipi_callback), so this turns one back into what it was.
        let callback: fn() = unsafe { core::mem::transmute::<usize, fn()>(callback) };
        callback();
    }
}
