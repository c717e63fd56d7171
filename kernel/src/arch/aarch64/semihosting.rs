//! Ending QEMU with a status: Arm semihosting `SYS_EXIT`. QEMU must run with
//! `-semihosting-config enable=on,target=native`; without it `hlt #0xf000` is
//! an undefined instruction (and the exception handler ends the run instead).

use core::arch::asm;

use crate::arch::QemuExitCode;

/// SYS_EXIT; on AArch64 x1 points at a {reason, status} block.
const SYS_EXIT: u64 = 0x18;
/// ADP_Stopped_ApplicationExit: "the program exited"; QEMU exits with the
/// status that follows it.
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// Ends QEMU with `status.host_status()`, which semihosting passes through.
pub fn exit_qemu(status: QemuExitCode) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, status.host_status() as u64];
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
