//! Ending QEMU with a status: Arm semihosting `SYS_EXIT`. QEMU must run with
//! `-semihosting-config enable=on,target=native`; without it `hlt #0xf000` is
//! an undefined instruction (and the exception handler ends the run instead).

use core::arch::asm;

use crate::arch::QemuExit;

/// SYS_EXIT; on AArch64 x1 points at a {reason, status} block.
const SYS_EXIT: u64 = 0x18;
/// ADP_Stopped_ApplicationExit: "the program exited"; QEMU exits with the
/// status that follows it.
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// The status the host sees; identical on x86_64 (isa-debug-exit).
pub const fn host_status(status: QemuExit) -> u64 {
    match status {
        QemuExit::Pass => 33,
        QemuExit::Fail => 35,
        QemuExit::Crash => 37,
        QemuExit::BadInput => 39,
    }
}

pub fn exit_qemu(status: QemuExit) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, host_status(status)];
    // SAFETY: the semihosting call reads the two-word block through x1 and
    // does not return when QEMU honours it.
    unsafe {
        asm!(
            "hlt #0xf000",
            in("x0") SYS_EXIT,
            in("x1") block.as_ptr(),
            options(nostack, readonly)
        );
    }
    // Without semihosting the hlt traps; if anything returns, park.
    loop {
        aarch64_cpu::asm::wfe();
    }
}
