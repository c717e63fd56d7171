//! The exception vector table and the register save/restore around the Rust
//! handler. Kernel code runs on SP_EL0 ("EL1t"); every exception switches to
//! the per-CPU exception stack in SP_EL1, so an overflow of the kernel stack
//! into its guard page still reaches a working handler, and an exception
//! taken while a handler runs (EL1h) arrives at its own vector group.
//! The handler may edit the saved frame (PC, SP, registers): that is how
//! probe fixups and `catch` return to their landing points, through `eret`.

use core::arch::global_asm;

/// Everything the interrupted code owns, as saved on the exception stack.
/// FP/SIMD registers are included because the handler is ordinary Rust and
/// the target lets the compiler use them anywhere.
#[repr(C)]
#[derive(Clone)]
pub struct TrapFrame {
    pub x: [u64; 31],
    /// The interrupted stack pointer (SP_EL0 or SP_EL1, per SPSR.M[0]).
    pub sp: u64,
    pub elr: u64,
    pub spsr: u64,
    pub q: [u128; 32],
    pub fpsr: u64,
    pub fpcr: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 0x320);

/// Which of the 16 vectors was taken: `group * 4 + kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorGroup {
    /// Current EL on SP_EL0: kernel code, the normal case.
    Thread,
    /// Current EL on SP_EL1: an exception inside an exception handler.
    Handler,
    /// From EL0, which this kernel never runs.
    LowerEl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorKind {
    Sync,
    Irq,
    Fiq,
    SError,
}

pub fn decode_vector(index: u64) -> (VectorGroup, VectorKind) {
    let group = match index / 4 {
        0 => VectorGroup::Thread,
        1 => VectorGroup::Handler,
        _ => VectorGroup::LowerEl,
    };
    let kind = match index % 4 {
        0 => VectorKind::Sync,
        1 => VectorKind::Irq,
        2 => VectorKind::Fiq,
        _ => VectorKind::SError,
    };
    (group, kind)
}

extern "C" {
    /// The 2 KiB-aligned table VBAR_EL1 points at.
    pub static exception_vectors: u8;
}

global_asm!(
    r#"
    .macro VENTRY index
    .balign 0x80
    sub     sp, sp, #0x320
    stp     x0, x1, [sp]
    mov     x0, #\index
    b       exception_entry
    .endm

    .section .text.exceptions, "ax"
    // CFI in .debug_frame (the linker script drops .eh_frame): gdb unwinds
    // from a handler through the trap frame into the interrupted code.
    .cfi_sections .debug_frame
    .balign 0x800
    .global exception_vectors
exception_vectors:
    VENTRY 0
    VENTRY 1
    VENTRY 2
    VENTRY 3
    VENTRY 4
    VENTRY 5
    VENTRY 6
    VENTRY 7
    VENTRY 8
    VENTRY 9
    VENTRY 10
    VENTRY 11
    VENTRY 12
    VENTRY 13
    VENTRY 14
    VENTRY 15

exception_entry:
    // For gdb, the caller of this frame is the interrupted code: its
    // registers are the trap frame at the CFA and its PC is ELR, saved as
    // DWARF column 32 (the PC; the return column stays x30, which is the
    // interrupted x30). .debug_frame has no signal-frame flag, so gdb looks
    // the interrupted PC up as a return address (PC - 1).
    .cfi_startproc
    .cfi_def_cfa sp, 0
    stp     x2, x3, [sp, #0x10]
    stp     x4, x5, [sp, #0x20]
    stp     x6, x7, [sp, #0x30]
    stp     x8, x9, [sp, #0x40]
    stp     x10, x11, [sp, #0x50]
    stp     x12, x13, [sp, #0x60]
    stp     x14, x15, [sp, #0x70]
    stp     x16, x17, [sp, #0x80]
    stp     x18, x19, [sp, #0x90]
    stp     x20, x21, [sp, #0xa0]
    stp     x22, x23, [sp, #0xb0]
    stp     x24, x25, [sp, #0xc0]
    stp     x26, x27, [sp, #0xd0]
    stp     x28, x29, [sp, #0xe0]
    str     x30, [sp, #0xf0]
    mrs     x1, spsr_el1
    tbnz    x1, #0, 1f
    mrs     x2, sp_el0
    b       2f
1:  add     x2, sp, #0x320
2:  mrs     x3, elr_el1
    stp     x2, x3, [sp, #0xf8]
    str     x1, [sp, #0x108]
    .irp    reg, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
    .cfi_offset \reg, \reg * 8
    .endr
    .cfi_offset sp, 0xf8
    .cfi_offset 32, 0x100
    add     x2, sp, #0x110
    stp     q0, q1, [x2], #32
    stp     q2, q3, [x2], #32
    stp     q4, q5, [x2], #32
    stp     q6, q7, [x2], #32
    stp     q8, q9, [x2], #32
    stp     q10, q11, [x2], #32
    stp     q12, q13, [x2], #32
    stp     q14, q15, [x2], #32
    stp     q16, q17, [x2], #32
    stp     q18, q19, [x2], #32
    stp     q20, q21, [x2], #32
    stp     q22, q23, [x2], #32
    stp     q24, q25, [x2], #32
    stp     q26, q27, [x2], #32
    stp     q28, q29, [x2], #32
    stp     q30, q31, [x2], #32
    mrs     x4, fpsr
    mrs     x5, fpcr
    stp     x4, x5, [x2]

    // A frame record linking the handler's backtrace to the interrupted
    // code: (x29, elr) as if the interrupted PC had called the handler.
    ldr     x29, [sp, #0xe8]
    stp     x29, x3, [sp, #-16]!
    .cfi_adjust_cfa_offset 16
    mov     x29, sp
    .cfi_def_cfa x29, 16
    add     x1, sp, #16
    bl      handle_exception
    add     sp, sp, #16
    .cfi_def_cfa sp, 0

    add     x2, sp, #0x110
    ldp     q0, q1, [x2], #32
    ldp     q2, q3, [x2], #32
    ldp     q4, q5, [x2], #32
    ldp     q6, q7, [x2], #32
    ldp     q8, q9, [x2], #32
    ldp     q10, q11, [x2], #32
    ldp     q12, q13, [x2], #32
    ldp     q14, q15, [x2], #32
    ldp     q16, q17, [x2], #32
    ldp     q18, q19, [x2], #32
    ldp     q20, q21, [x2], #32
    ldp     q22, q23, [x2], #32
    ldp     q24, q25, [x2], #32
    ldp     q26, q27, [x2], #32
    ldp     q28, q29, [x2], #32
    ldp     q30, q31, [x2], #32
    ldp     x3, x4, [x2]
    msr     fpsr, x3
    msr     fpcr, x4
    ldp     x2, x3, [sp, #0xf8]
    ldr     x1, [sp, #0x108]
    msr     elr_el1, x3
    msr     spsr_el1, x1
    // Returning to thread context: its SP may have been redirected.
    tbnz    x1, #0, 3f
    msr     sp_el0, x2
3:  ldp     x0, x1, [sp]
    ldp     x2, x3, [sp, #0x10]
    ldp     x4, x5, [sp, #0x20]
    ldp     x6, x7, [sp, #0x30]
    ldp     x8, x9, [sp, #0x40]
    ldp     x10, x11, [sp, #0x50]
    ldp     x12, x13, [sp, #0x60]
    ldp     x14, x15, [sp, #0x70]
    ldp     x16, x17, [sp, #0x80]
    ldp     x18, x19, [sp, #0x90]
    ldp     x20, x21, [sp, #0xa0]
    ldp     x22, x23, [sp, #0xb0]
    ldp     x24, x25, [sp, #0xc0]
    ldp     x26, x27, [sp, #0xd0]
    ldp     x28, x29, [sp, #0xe0]
    ldr     x30, [sp, #0xf0]
    add     sp, sp, #0x320
    eret
    .cfi_endproc
"#
);
