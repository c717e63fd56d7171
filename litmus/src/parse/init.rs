//! The `{ ... }` initial state: `0:X1=pte_x; x=1; [PTE(y)]=(oa:PA(x));
//! int z; pteval_t 0:X2=(oa:phy_y);` and so on.

use super::value::{parse_location, parse_thread_reg, parse_value};
use super::{refuse, Unsupported};
use crate::ast::{InitEntry, Value};

/// C type names herd accepts in front of an entry; all our values fit.
const TYPES: &[&str] = &["int", "int32_t", "int64_t", "uint32_t", "uint64_t", "pteval_t"];

pub fn parse_init(text: &str) -> Result<Vec<InitEntry>, Unsupported> {
    let mut entries = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        entries.push(parse_entry(entry)?);
    }
    Ok(entries)
}

fn parse_entry(entry: &str) -> Result<InitEntry, Unsupported> {
    let entry = strip_type(entry)?;
    let (lhs, rhs) = match entry.split_once('=') {
        Some((lhs, rhs)) => (lhs.trim(), Some(rhs.trim())),
        None => (entry.trim(), None),
    };
    if let Some(reg) = parse_thread_reg(lhs) {
        let (thread, reg) = reg?;
        let value = rhs.map_or_else(|| Ok(Value::Int(0)), parse_value)?;
        return Ok(InitEntry::Reg { thread, reg: reg.index, value });
    }
    let loc = parse_location(lhs)?;
    let value = rhs.map_or_else(|| Ok(Value::Int(0)), parse_value)?;
    Ok(InitEntry::Mem { loc, value })
}

/// Drops a leading C type; refuses types outside [`TYPES`] (arrays, 128-bit).
fn strip_type(entry: &str) -> Result<&str, Unsupported> {
    let entry = entry.trim();
    let Some((first, rest)) = entry.split_once(char::is_whitespace) else {
        return Ok(entry);
    };
    if TYPES.contains(&first) {
        if rest.contains('[') && !rest.trim_start().starts_with('[') {
            return refuse(format!("array `{entry}`"));
        }
        return Ok(rest);
    }
    if first.ends_with("_t") || first == "char" || first == "long" {
        return refuse(format!("type `{first}`"));
    }
    Ok(entry)
}
