//! Symbolised backtraces: the kernel prints frame-pointer backtraces as
//! `#   bt #N 0x<addr>`; the runner adds `function+0xoffset` from the
//! kernel ELF's symbol table.

use std::path::Path;

use object::{Object, ObjectSymbol, SymbolKind};

pub struct Symbols {
    /// Function symbols sorted by start address: (start, size, demangled name).
    functions: Vec<(u64, u64, String)>,
}

impl Symbols {
    pub fn load(elf: &Path) -> Result<Symbols, String> {
        let data = std::fs::read(elf).map_err(|e| format!("cannot read {}: {e}", elf.display()))?;
        let file = object::File::parse(&*data).map_err(|e| format!("{} is not an ELF: {e}", elf.display()))?;
        let mut functions: Vec<(u64, u64, String)> = file
            .symbols()
            .filter(|symbol| symbol.kind() == SymbolKind::Text && symbol.address() != 0)
            .filter_map(|symbol| {
                let name = symbol.name().ok()?;
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

    /// The function containing `addr`, and the offset into it. A symbol
    /// without a size (assembly labels) covers up to the next symbol.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let index = self.functions.partition_point(|&(start, _, _)| start <= addr).checked_sub(1)?;
        // Walk back over zero-sized labels at the same spot to a sized function that covers addr.
        let candidates = self.functions[..=index].iter().rev().take(8);
        for (start, size, name) in candidates {
            if *size == 0 || addr < start + size {
                return Some((name.as_str(), addr - start));
            }
        }
        None
    }

    /// `line` with the symbol appended if it is a backtrace line.
    pub fn annotate(&self, line: &str) -> Option<String> {
        let addr = backtrace_address(line)?;
        let (name, offset) = self.lookup(addr)?;
        Some(format!("{line}  {name}+{offset:#x}"))
    }
}

/// The address in `#   bt #N 0x<addr>` (at any indentation).
pub fn backtrace_address(line: &str) -> Option<u64> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start().strip_prefix("bt #")?;
    let (_frame, rest) = rest.split_once(char::is_whitespace)?;
    let hex = rest.trim().strip_prefix("0x")?;
    let hex = hex.split(|c: char| !c.is_ascii_hexdigit()).next()?;
    u64::from_str_radix(hex, 16).ok()
}
