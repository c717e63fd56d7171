//! The IDT and the entry stubs: every vector enters `trap_common`, which
//! saves all general registers as a [`TrapFrame`] and calls
//! `trap::dispatch`. Handlers redirect a trap by editing the frame (the
//! probe fixups, `catch`), so there is one exit path, `iretq`.

use core::arch::global_asm;

use spin::Once;
use x86_64::structures::idt::InterruptDescriptorTable;
use x86_64::VirtAddr;

use super::gdt::DOUBLE_FAULT_IST_INDEX;

/// Legacy 8259 PIC vectors after remapping (all masked; only spurious ones).
pub const PIC_VECTORS: core::ops::RangeInclusive<u64> = 0x20..=0x2f;
pub const TIMER_VECTOR: u8 = 0x30;
/// The resched IPI (arch/preempt.rs), sent to this CPU or the other one.
pub const RESCHED_VECTOR: u8 = 0xf2;
/// The yield, `int` in the task that gives its CPU away.
pub const YIELD_VECTOR: u8 = 0xf3;
pub const IPI_VECTOR: u8 = 0xf0;
pub const TLB_SHOOTDOWN_VECTOR: u8 = 0xf1;
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// The interrupted context, as `trap_common` and the CPU pushed it.
#[repr(C)]
#[derive(Clone, Debug)]
pub struct TrapFrame {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors that push none.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// Bytes per entry stub: the IDT entry of vector `v` is `trap_stubs + v * 16`.
const STUB_SIZE: u64 = 16;

// Vectors whose exception pushes an error code: 8, 10-14, 17, 21, 29, 30.
// The other stubs push a 0 so every frame has the same shape. The CPU
// aligns RSP to 16 before pushing, so after 22 quadwords the call below is
// made with the 16-byte alignment the ABI wants.
global_asm!(
    r#"
    .pushsection .text.trap_entry, "ax"
    // CFI in .debug_frame (the linker script drops .eh_frame): gdb unwinds
    // from a handler through the trap frame into the interrupted code.
    .cfi_sections .debug_frame
    .balign 16
    .global trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if vec < 32
    .if ((0x60227d00 >> vec) & 1) == 0
    push 0
    .endif
    .else
    push 0
    .endif
    push vec
    jmp trap_common
    .set vec, vec + 1
    .endr

trap_common:
    push r15
    push r14
    push r13
    push r12
    push r11
    push r10
    push r9
    push r8
    push rbp
    push rdi
    push rsi
    push rdx
    push rcx
    push rbx
    push rax
    // For gdb, from here to the first pop: the caller of this frame is the
    // interrupted code, its registers (RIP, RSP included) are the trap
    // frame at the CFA. .debug_frame has no signal-frame flag, so gdb looks
    // the interrupted RIP up as a return address (RIP - 1).
    .cfi_startproc
    .cfi_def_cfa rsp, 0
    .cfi_offset rax, 0
    .cfi_offset rbx, 8
    .cfi_offset rcx, 16
    .cfi_offset rdx, 24
    .cfi_offset rsi, 32
    .cfi_offset rdi, 40
    .cfi_offset rbp, 48
    .cfi_offset r8, 56
    .cfi_offset r9, 64
    .cfi_offset r10, 72
    .cfi_offset r11, 80
    .cfi_offset r12, 88
    .cfi_offset r13, 96
    .cfi_offset r14, 104
    .cfi_offset r15, 112
    .cfi_offset rip, 136
    .cfi_offset rsp, 160
    mov rdi, rsp
    cld
    call {dispatch}
    pop rax
    .cfi_endproc
    pop rbx
    pop rcx
    pop rdx
    pop rsi
    pop rdi
    pop rbp
    pop r8
    pop r9
    pop r10
    pop r11
    pop r12
    pop r13
    pop r14
    pop r15
    add rsp, 16
    iretq
    .popsection
"#,
    dispatch = sym super::trap::dispatch,
);

extern "C" {
    static trap_stubs: u8;
}

static IDT: Once<InterruptDescriptorTable> = Once::new();

fn stub(vector: u8) -> VirtAddr {
    // Only the address of the asm label is used.
    VirtAddr::from_ptr(core::ptr::addr_of!(trap_stubs)) + u64::from(vector) * STUB_SIZE
}

/// Builds the IDT (once) and loads it on this CPU. Must run after
/// `gdt::init`: the entries take the current CS as their code selector.
pub fn load() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        // SAFETY: each address is the stub for that vector, which saves the
        // full context and ends in `iretq`; the IST index names the
        // double-fault stack every CPU's TSS provides.
        unsafe {
            idt.divide_error.set_handler_addr(stub(0));
            idt.debug.set_handler_addr(stub(1));
            idt.non_maskable_interrupt.set_handler_addr(stub(2));
            idt.breakpoint.set_handler_addr(stub(3));
            idt.overflow.set_handler_addr(stub(4));
            idt.bound_range_exceeded.set_handler_addr(stub(5));
            idt.invalid_opcode.set_handler_addr(stub(6));
            idt.device_not_available.set_handler_addr(stub(7));
            idt.double_fault.set_handler_addr(stub(8)).set_stack_index(DOUBLE_FAULT_IST_INDEX);
            idt.invalid_tss.set_handler_addr(stub(10));
            idt.segment_not_present.set_handler_addr(stub(11));
            idt.stack_segment_fault.set_handler_addr(stub(12));
            idt.general_protection_fault.set_handler_addr(stub(13));
            idt.page_fault.set_handler_addr(stub(14));
            idt.x87_floating_point.set_handler_addr(stub(16));
            idt.alignment_check.set_handler_addr(stub(17));
            idt.machine_check.set_handler_addr(stub(18));
            idt.simd_floating_point.set_handler_addr(stub(19));
            idt.virtualization.set_handler_addr(stub(20));
            idt.cp_protection_exception.set_handler_addr(stub(21));
            idt.hv_injection_exception.set_handler_addr(stub(28));
            idt.vmm_communication_exception.set_handler_addr(stub(29));
            idt.security_exception.set_handler_addr(stub(30));
            for vector in 32..=255u8 {
                idt[vector].set_handler_addr(stub(vector));
            }
        }
        idt
    });
    idt.load();
}

/// Name of an exception vector, for the crash dump.
pub fn exception_name(vector: u64) -> &'static str {
    match vector {
        0 => "#DE divide error",
        1 => "#DB debug",
        2 => "NMI",
        3 => "#BP breakpoint",
        4 => "#OF overflow",
        5 => "#BR bound range",
        6 => "#UD invalid opcode",
        7 => "#NM device not available",
        8 => "#DF double fault",
        10 => "#TS invalid TSS",
        11 => "#NP segment not present",
        12 => "#SS stack-segment fault",
        13 => "#GP general protection",
        14 => "#PF page fault",
        16 => "#MF x87 error",
        17 => "#AC alignment check",
        18 => "#MC machine check",
        19 => "#XM SIMD error",
        20 => "#VE virtualization",
        21 => "#CP control protection",
        vector if vector < 32 => "reserved exception",
        _ => "unexpected interrupt",
    }
}
