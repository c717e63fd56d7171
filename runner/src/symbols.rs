//! Symbolised backtraces: the kernel prints frame-pointer backtraces as
//! `#   bt #N 0x<addr>`; the runner adds `function+0xoffset` from the
//! kernel ELF's symbol table.

use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

pub struct Symbols {
    /// Function symbols sorted by start address: (start, size, demangled name).
    functions: Vec<(u64, u64, String)>,
}

impl Symbols {
    pub fn load(elf: &Path) -> Result<Symbols, String> {
        let data = std::fs::read(elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
        let file = object::File::parse(&*data).map_err(|e| format!("{} is not an ELF: {e}", elf.display()))?;
        // Assembly labels (`pvh_start64`, `primary_entry`) are untyped symbols
        // in a code section: keep them too, they name the boot frames.
        let in_code = |symbol: &object::Symbol| {
            symbol.section_index().and_then(|index| file.section_by_index(index).ok()).map(|section| section.kind())
                == Some(SectionKind::Text)
        };
        let mut functions: Vec<(u64, u64, String)> = file
            .symbols()
            .filter(|symbol| symbol.address() != 0 && (symbol.kind() == SymbolKind::Text || in_code(symbol)))
            .filter_map(|symbol| {
                let name = symbol.name().ok()?;
                // AArch64 mapping symbols (`$x`, `$d`) and local labels name no function.
                if name.starts_with('$') || name.starts_with(".L") || name.is_empty() {
                    return None;
                }
                Some((symbol.address(), symbol.size(), format!("{:#}", rustc_demangle::demangle(name))))
            })
            .collect();
        functions.sort_by_key(|&(start, size, _)| (start, std::cmp::Reverse(size)));
        Ok(Symbols { functions })
    }

    #[cfg(test)]
    pub fn from_functions(mut functions: Vec<(u64, u64, String)>) -> Symbols {
        functions.sort_by_key(|&(start, size, _)| (start, std::cmp::Reverse(size)));
        Symbols { functions }
    }

    /// The function containing `addr` and its start address. A symbol
    /// without a size (assembly labels) covers up to the next symbol.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let index = self.functions.partition_point(|&(start, _, _)| start <= addr).checked_sub(1)?;
        // Walk back over zero-sized labels at the same spot to a sized function that covers addr.
        let candidates = self.functions[..=index].iter().rev().take(8);
        for (start, size, name) in candidates {
            if *size == 0 || addr < start + size {
                return Some((name.as_str(), *start));
            }
        }
        None
    }

    /// `line` with the symbol appended if it is a backtrace line. Frames
    /// after #0 hold return addresses, which point past the call: after a
    /// call to a function that never returns that is already the next
    /// function, so they are looked up one byte earlier (as Linux's `%pB`).
    pub fn annotate(&self, line: &str) -> Option<String> {
        let (frame, addr) = backtrace_frame(line)?;
        let (name, start) = if frame == 0 { self.lookup(addr)? } else { self.lookup(addr.checked_sub(1)?)? };
        Some(format!("{line}  {name}+{:#x}", addr - start))
    }
}

/// Frame number and address of `#   bt #N 0x<addr>` (at any indentation).
pub fn backtrace_frame(line: &str) -> Option<(u32, u64)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start().strip_prefix("bt #")?;
    let (frame, rest) = rest.split_once(char::is_whitespace)?;
    let hex = rest.trim().strip_prefix("0x")?;
    let hex = hex.split(|c: char| !c.is_ascii_hexdigit()).next()?;
    Some((frame.parse().ok()?, u64::from_str_radix(hex, 16).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Symbols {
        Symbols::from_functions(vec![
            (0x1000, 0x100, "kernel_main".to_string()),
            (0x1100, 0x20, "lazymmu::crash::crash_exit".to_string()),
            (0x2000, 0, "_start".to_string()),
        ])
    }

    #[test]
    fn finds_the_containing_function() {
        let symbols = symbols();
        assert_eq!(symbols.lookup(0x1000), Some(("kernel_main", 0x1000)));
        assert_eq!(symbols.lookup(0x10ff), Some(("kernel_main", 0x1000)));
        assert_eq!(symbols.lookup(0x1104), Some(("lazymmu::crash::crash_exit", 0x1100)));
        assert_eq!(symbols.lookup(0x2010), Some(("_start", 0x2000)));
        assert_eq!(symbols.lookup(0x0fff), None);
        assert_eq!(symbols.lookup(0x1120), None);
    }

    #[test]
    fn annotates_backtrace_lines_only() {
        let symbols = symbols();
        assert_eq!(symbols.annotate("#   bt #1 0x1010").as_deref(), Some("#   bt #1 0x1010  kernel_main+0x10"));
        // A return address right after a call that never returns belongs to the caller.
        assert_eq!(symbols.annotate("#   bt #2 0x1100").as_deref(), Some("#   bt #2 0x1100  kernel_main+0x100"));
        assert_eq!(
            symbols.annotate("#   bt #0 0x1100").as_deref(),
            Some("#   bt #0 0x1100  lazymmu::crash::crash_exit+0x0")
        );
        assert_eq!(
            symbols.annotate("    #   bt #0 0x0000000000001104").as_deref(),
            Some("    #   bt #0 0x0000000000001104  lazymmu::crash::crash_exit+0x4")
        );
        assert_eq!(symbols.annotate("# RIP 0x1010"), None);
        assert_eq!(symbols.annotate("#   bt #2 0x10"), None);
        assert_eq!(symbols.annotate("#   bt #x 0x1010"), None);
    }

    #[test]
    fn loads_a_real_elf() {
        // The test binary itself is an ELF with a symbol table.
        let me = std::env::current_exe().expect("test binary path");
        let symbols = Symbols::load(&me).expect("loads");
        assert!(!symbols.functions.is_empty());
        let not_elf = Symbols::load(Path::new("/proc/self/status"));
        assert!(not_elf.is_err());
    }
}
