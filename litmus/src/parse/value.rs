//! Values, locations and registers as the initial state and the condition
//! spell them.

use super::{refuse, Unsupported};
use crate::ast::{Location, PteLiteral, Reg, Value, ZERO_REG};

/// `x`, `[x]`, `pte_x`, `PTE(x)`, `[PTE(x)]`.
pub fn parse_location(text: &str) -> Result<Location, Unsupported> {
    let text = text.trim();
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text).trim();
    if let Some(va) = pte_name(inner) {
        return Ok(Location::Pte(va));
    }
    if inner.starts_with("phy_") || inner.starts_with("PA(") {
        return refuse(format!("physical location `{inner}`"));
    }
    if is_identifier(inner) {
        return Ok(Location::Data(inner.to_string()));
    }
    refuse(format!("location `{text}`"))
}

/// `pte_x` or `PTE(x)` gives `x`.
fn pte_name(text: &str) -> Option<String> {
    if let Some(va) = text.strip_prefix("pte_") {
        return is_identifier(va).then(|| va.to_string());
    }
    let va = text.strip_prefix("PTE(")?.strip_suffix(')')?.trim();
    is_identifier(va).then(|| va.to_string())
}

/// `phy_x` or `PA(x)` gives `x`.
fn phys_name(text: &str) -> Option<String> {
    if let Some(va) = text.strip_prefix("phy_") {
        return is_identifier(va).then(|| va.to_string());
    }
    let va = text.strip_prefix("PA(")?.strip_suffix(')')?.trim();
    is_identifier(va).then(|| va.to_string())
}

pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An integer, a virtual address, a table-entry address or a descriptor.
pub fn parse_value(text: &str) -> Result<Value, Unsupported> {
    let text = text.trim();
    if text.starts_with('(') {
        return parse_pte(text).map(Value::Pte);
    }
    if let Some(n) = parse_int(text) {
        return Ok(Value::Int(n));
    }
    if let Some(va) = pte_name(text) {
        return Ok(Value::PteAddr(va));
    }
    if phys_name(text).is_some() {
        return refuse(format!("physical address `{text}` as a value"));
    }
    if is_identifier(text) {
        return Ok(Value::Va(text.to_string()));
    }
    refuse(format!("value `{text}`"))
}

pub fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix('#').unwrap_or(text);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let n = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => digits.parse().ok()?,
        None => return None,
    };
    Some(if negative { -n } else { n })
}

/// `(oa:phy_y, valid:0, af:1, db:1, dbm:0, el0:1)`, any subset, any order.
fn parse_pte(text: &str) -> Result<PteLiteral, Unsupported> {
    let inner = text.strip_prefix('(').and_then(|t| t.strip_suffix(')'));
    let inner = inner.map_or_else(|| refuse(format!("descriptor `{text}`")), Ok)?;
    let mut pte = PteLiteral::default();
    for field in split_top_level(inner, ',') {
        let field = field.trim();
        if field.is_empty() {
            continue;
        }
        let (key, value) = field.split_once(':').map_or_else(|| refuse(format!("descriptor field `{field}`")), Ok)?;
        let (key, value) = (key.trim(), value.trim());
        if key == "oa" {
            let oa = phys_name(value).map_or_else(|| refuse(format!("output address `{value}`")), Ok)?;
            pte.oa = Some(oa);
            continue;
        }
        let bit = match value {
            "0" => false,
            "1" => true,
            _ => return refuse(format!("descriptor field `{field}`")),
        };
        let slot = match key {
            "valid" => &mut pte.valid,
            "af" => &mut pte.af,
            "db" => &mut pte.db,
            "dbm" => &mut pte.dbm,
            "el0" => &mut pte.el0,
            _ => return refuse(format!("descriptor field `{key}`")),
        };
        *slot = Some(bit);
    }
    Ok(pte)
}

/// Splits on `sep` outside parentheses and brackets.
pub fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `X3`, `W3`, `XZR`, `WZR` (case-insensitive).
pub fn parse_reg(text: &str) -> Result<Reg, Unsupported> {
    let upper = text.trim().to_ascii_uppercase();
    let (wide, rest) = match upper.split_at_checked(1) {
        Some(("X", rest)) => (true, rest),
        Some(("W", rest)) => (false, rest),
        _ => return refuse(format!("register `{}`", text.trim())),
    };
    if rest == "ZR" {
        return Ok(Reg { index: ZERO_REG, wide });
    }
    match rest.parse::<u8>() {
        Ok(index) if index < ZERO_REG => Ok(Reg { index, wide }),
        _ => refuse(format!("register `{}`", text.trim())),
    }
}

/// `0:X3` gives thread 0, register 3.
pub fn parse_thread_reg(text: &str) -> Option<Result<(usize, Reg), Unsupported>> {
    let (thread, reg) = text.trim().split_once(':')?;
    let thread = thread.trim();
    let thread = thread.strip_prefix('P').unwrap_or(thread).parse::<usize>().ok()?;
    Some(parse_reg(reg).map(|r| (thread, r)))
}
