//! The `log` backend and `print!` macros on the first serial port. Log lines
//! are KTAP diagnostics (`# ` prefix) so they never break the parser.

use core::fmt::{self, Write};

use crate::arch;

struct Serial;

impl Write for Serial {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        arch::console_write(s.as_bytes());
        Ok(())
    }
}

static CONSOLE_LOCK: spin::Mutex<()> = spin::Mutex::new(());

pub fn print(args: fmt::Arguments) {
    let _guard = CONSOLE_LOCK.lock();
    let _ = Serial.write_fmt(args);
}

/// Printing from a crash path must not wait for a lock the crashed code holds.
pub fn print_unlocked(args: fmt::Arguments) {
    let _ = Serial.write_fmt(args);
}

#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! kprintln {
    () => { $crate::kprint!("\n") };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

struct KtapLogger;

impl log::Log for KtapLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            print(format_args!("# {}: {}\n", record.level(), record.args()));
        }
    }

    fn flush(&self) {}
}

static LOGGER: KtapLogger = KtapLogger;

pub fn init() {
    // The only error is "already set", which a second call may ignore.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}

/// Applies the command line's `log=` level.
pub fn set_level(level: ktest::LogLevel) {
    let filter = match level {
        ktest::LogLevel::Error => log::LevelFilter::Error,
        ktest::LogLevel::Warn => log::LevelFilter::Warn,
        ktest::LogLevel::Info => log::LevelFilter::Info,
        ktest::LogLevel::Debug => log::LevelFilter::Debug,
        ktest::LogLevel::Trace => log::LevelFilter::Trace,
    };
    log::set_max_level(filter);
}
