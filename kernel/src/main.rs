//! lazymmu: boots, installs its own page tables and runs the lazy-MMU
//! scenarios, reporting in KTAP on the first serial port.
#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod bench_suite;
mod boot_suite;
mod console;
mod crash;
mod crash_suite;
mod env;
mod heap;
mod paging;
mod platform;
mod smp;

use boot::{BootInfo, MemoryRegion};
use mm::{FrameAllocator, Mm, Mmu, PhysAddr};
use scenarios::{EnvRef, KernelMm};

use arch::QemuExitCode;

static HW_MMU: arch::HwMmu = arch::HwMmu;
static FRAMES: spin::Mutex<FrameAllocator> = spin::Mutex::new(FrameAllocator::empty());
static MM: spin::Once<KernelMm> = spin::Once::new();
static BOOT_INFO: spin::Once<&'static BootInfo> = spin::Once::new();

/// What the boot adapter handed over.
pub fn boot_info() -> &'static BootInfo {
    BOOT_INFO.get().expect("kernel_main stores the boot info first")
}

/// The `mm` context, once `kernel_main` has built it.
pub fn mm() -> &'static KernelMm {
    MM.get().expect("mm is set up before any case runs")
}

/// The portable entry every boot adapter calls once it has a stack and an
/// identity map of RAM.
#[no_mangle]
pub extern "Rust" fn kernel_main(info: &'static BootInfo) -> ! {
    BOOT_INFO.call_once(|| info);
    arch::init_cpu0(info);
    console::init();
    let Some(heap_region) = heap::choose_region(info) else {
        crash::crash_exit(format_args!("no RAM region large enough for the heap"));
    };
    give_frames(info, heap_region);
    let roots = match paging::init(info, &HW_MMU, &FRAMES) {
        Ok(roots) => roots,
        Err(error) => crash::crash_exit(format_args!("building the kernel page tables failed: {error:?}")),
    };
    // SAFETY: the heap region was kept from the frame allocator and the
    // linear map built above maps it read-write.
    unsafe { heap::init(arch::LINEAR_MAP_BASE + heap_region.base, heap_region) };
    let mm = MM.call_once(|| Mm::new(&HW_MMU as &'static dyn Mmu, &FRAMES, roots, paging::kernel_layout(info)));
    mm.set_scheduler(&env::KernelEnv);
    smp::start_cpu1();
    scenarios::link_cases();

    let cases = platform::runnable_cases(info.cmdline());
    let options = match ktest::cmdline::parse(info.cmdline(), info.cmdline_truncated, &cases) {
        Ok(options) => options,
        Err(error) => {
            kprintln!("KTAP version 1");
            kprintln!("# lazymmu: bad command line: {error}");
            kprintln!("1..0");
            arch::exit_qemu(QemuExitCode::BadInput)
        }
    };
    console::set_level(options.log);
    let summary = ktest::run_cases(&platform::KernelPlatform, &options, &EnvRef::new(&env::KernelEnv), &cases);
    report_memory(mm);
    arch::exit_qemu(if summary.passed() { QemuExitCode::Pass } else { QemuExitCode::Fail })
}

/// Hands every usable page except the heap's to the frame allocator.
fn give_frames(info: &BootInfo, heap: MemoryRegion) {
    let mut frames = FRAMES.lock();
    for region in info.usable() {
        let mut add = |base: u64, end: u64| {
            if end > base {
                if let Err(error) = frames.add_range(PhysAddr::new(base), end - base) {
                    log::warn!("RAM {base:#x}..{end:#x} left out: {error}");
                }
            }
        };
        add(region.base, region.end().min(heap.base).max(region.base));
        add(region.base.max(heap.end()), region.end());
    }
}

fn report_memory(mm: &KernelMm) {
    let stats = mm.frames().lock().stats();
    let (heap_used, heap_free) = heap::usage();
    kprintln!(
        "# lazymmu: frames total={} peak_used={} used={} heap_used={} heap_free={}",
        stats.total,
        stats.peak_used,
        stats.used,
        heap_used,
        heap_free
    );
}
