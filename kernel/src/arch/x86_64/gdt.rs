//! Per-CPU GDT and TSS. The TSS exists for its interrupt stack table: a
//! double fault runs on its own stack, so a kernel stack overflow into the
//! guard page ends in a register dump instead of a triple-fault reset.

use core::ptr::addr_of;

use spin::Once;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

use super::percpu::NR_CPUS;

/// IST slot (0-based, as the IDT entry takes it) of the double-fault stack.
pub const DOUBLE_FAULT_IST_INDEX: u16 = 0;

const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct IstStack([u8; IST_STACK_SIZE]);

/// Only the CPU touches these stacks; Rust never reads or writes them.
static mut DOUBLE_FAULT_STACKS: [IstStack; NR_CPUS] = [const { IstStack([0; IST_STACK_SIZE]) }; NR_CPUS];

struct CpuGdt {
    gdt: GlobalDescriptorTable,
    code: SegmentSelector,
    data: SegmentSelector,
    tss: SegmentSelector,
}

static TSS: [Once<TaskStateSegment>; NR_CPUS] = [const { Once::new() }; NR_CPUS];
static GDT: [Once<CpuGdt>; NR_CPUS] = [const { Once::new() }; NR_CPUS];

/// Loads `cpu`'s GDT, reloads the segment registers and its TSS.
pub fn init(cpu: usize) {
    let tss = TSS[cpu].call_once(|| {
        let mut tss = TaskStateSegment::new();
        // SAFETY: only the address is taken; no reference to the static.
        let stack = unsafe { addr_of!(DOUBLE_FAULT_STACKS[cpu]) };
        tss.interrupt_stack_table[usize::from(DOUBLE_FAULT_IST_INDEX)] =
            VirtAddr::from_ptr(stack) + IST_STACK_SIZE as u64;
        tss
    });
    let cpu_gdt = GDT[cpu].call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        let code = gdt.append(Descriptor::kernel_code_segment());
        let data = gdt.append(Descriptor::kernel_data_segment());
        let tss = gdt.append(Descriptor::tss_segment(tss));
        CpuGdt { gdt, code, data, tss }
    });
    cpu_gdt.gdt.load();
    // SAFETY: the selectors index the GDT just loaded, which is 'static;
    // the code segment is the 64-bit ring-0 one we are running in, and the
    // TSS descriptor is this CPU's own (loading marks it busy).
    unsafe {
        CS::set_reg(cpu_gdt.code);
        SS::set_reg(cpu_gdt.data);
        DS::set_reg(cpu_gdt.data);
        ES::set_reg(cpu_gdt.data);
        load_tss(cpu_gdt.tss);
    }
}
