//! COM1 (a 16550 UART at I/O port 0x3f8): the console, and QEMU's
//! `isa-debug-exit` device at port 0xf4: the run's exit status.

use uart_16550::SerialPort;
use x86_64::instructions::port::Port;

use crate::arch::QemuExitCode;

const COM1: u16 = 0x3f8;
const ISA_DEBUG_EXIT: u16 = 0xf4;

fn com1() -> SerialPort {
    // SAFETY: every PC (and QEMU q35) has a 16550 at 0x3f8; the handle is
    // just the port number, so handing out several cannot alias memory.
    unsafe { SerialPort::new(COM1) }
}

/// Programs 38400 8N1 with FIFOs; output works without it under QEMU, but a
/// real UART needs the divisor.
pub fn init() {
    com1().init();
}

/// Raw bytes to COM1. Takes no lock: the console module serialises normal
/// output, and the crash path must not wait for anyone.
pub fn write_bytes(bytes: &[u8]) {
    let mut port = com1();
    for &byte in bytes {
        port.send_raw(byte);
    }
}

/// Ends QEMU: `isa-debug-exit` turns a write of `v` into exit status
/// `(v << 1) | 1`, which `QemuExitCode::isa_debug_exit_value` accounts for.
pub fn exit_qemu(status: QemuExitCode) -> ! {
    let value = status.isa_debug_exit_value();
    // SAFETY: the runner always starts QEMU with isa-debug-exit at 0xf4; on
    // a machine without it the write is ignored and we halt below.
    unsafe { Port::new(ISA_DEBUG_EXIT).write(value) };
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
