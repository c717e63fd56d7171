//! One program cell: an optional `L0:` label and an instruction of the
//! subset. Any other mnemonic or addressing mode is refused by name.

use super::value::{is_identifier, parse_int, parse_reg, split_top_level};
use super::{refuse, Unsupported};
use crate::ast::{Address, BarrierKind, Instr, Operand, Tlbi};

/// Splits `L0: LDR W4,[X3]` into the label and the instruction text.
pub fn split_label(cell: &str) -> Result<(Option<String>, &str), Unsupported> {
    let Some((label, rest)) = cell.split_once(':') else {
        return Ok((None, cell));
    };
    let label = label.trim();
    if !is_identifier(label) || label.contains(char::is_whitespace) {
        return refuse(format!("program cell `{cell}`"));
    }
    Ok((Some(label.to_string()), rest.trim()))
}

pub fn parse_instr(text: &str) -> Result<Instr, Unsupported> {
    let text = text.trim();
    let (mnemonic, operands) = match text.split_once(char::is_whitespace) {
        Some((m, ops)) => (m, ops.trim()),
        None => (text, ""),
    };
    let ops: Vec<&str> = split_top_level(operands, ',').into_iter().map(str::trim).filter(|o| !o.is_empty()).collect();
    let mnemonic = mnemonic.to_ascii_uppercase();
    match mnemonic.as_str() {
        "MOV" => {
            let [dst, src] = arity::<2>(text, &ops)?;
            Ok(Instr::Mov { dst: parse_reg(dst)?, src: parse_operand(src)? })
        }
        "LSR" => {
            let [dst, src, shift] = arity::<3>(text, &ops)?;
            let shift = parse_int(shift).and_then(|s| u32::try_from(s).ok());
            let shift = shift.map_or_else(|| refuse(format!("shift in `{text}`")), Ok)?;
            Ok(Instr::Lsr { dst: parse_reg(dst)?, src: parse_reg(src)?, shift })
        }
        "EOR" => {
            let [dst, a, b] = arity::<3>(text, &ops)?;
            Ok(Instr::Eor { dst: parse_reg(dst)?, a: parse_reg(a)?, b: parse_reg(b)? })
        }
        "ADD" => {
            let (dst, a, b) = match ops.as_slice() {
                [dst, a, b] => (dst, a, b),
                [dst, a, b, ext] if is_extend(ext) => (dst, a, b),
                _ => return refuse(format!("operands of `{text}`")),
            };
            Ok(Instr::Add { dst: parse_reg(dst)?, a: parse_reg(a)?, b: parse_operand(b)? })
        }
        "LDR" | "LDAR" => {
            let [dst, addr] = arity::<2>(text, &ops)?;
            let acquire = mnemonic == "LDAR";
            Ok(Instr::Load { dst: parse_reg(dst)?, addr: parse_address(addr, !acquire)?, acquire })
        }
        "STR" | "STLR" => {
            let [src, addr] = arity::<2>(text, &ops)?;
            let release = mnemonic == "STLR";
            Ok(Instr::Store { src: parse_reg(src)?, addr: parse_address(addr, !release)?, release })
        }
        "DMB" => Ok(Instr::Dmb(parse_barrier(text, &ops)?)),
        "DSB" => Ok(Instr::Dsb(parse_barrier(text, &ops)?)),
        "ISB" if ops.is_empty() => Ok(Instr::Isb),
        "TLBI" => parse_tlbi(text, &ops),
        _ => refuse(format!("instruction {mnemonic}")),
    }
}

fn arity<'a, const N: usize>(text: &str, ops: &[&'a str]) -> Result<[&'a str; N], Unsupported> {
    <[&str; N]>::try_from(ops).map_or_else(|_| refuse(format!("operands of `{text}`")), Ok)
}

fn parse_operand(text: &str) -> Result<Operand, Unsupported> {
    match parse_int(text) {
        Some(n) => Ok(Operand::Imm(n)),
        None => parse_reg(text).map(Operand::Reg),
    }
}

fn is_extend(text: &str) -> bool {
    matches!(text.to_ascii_uppercase().as_str(), "SXTW" | "UXTW")
}

/// `[Xn]`, or with `indexed`: `[Xn,Xm]`, `[Xn,Wm,SXTW]`, `[Xn,Wm,UXTW]`.
fn parse_address(text: &str, indexed: bool) -> Result<Address, Unsupported> {
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
    let inner = inner.map_or_else(|| refuse(format!("addressing mode `{text}`")), Ok)?;
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [base] => Ok(Address { base: parse_reg(base)?, index: None }),
        [base, index] | [base, index, _] if indexed && (parts.len() == 2 || is_extend(parts[2])) => {
            if parse_int(index).is_some() {
                return refuse(format!("immediate offset in `{text}`"));
            }
            Ok(Address { base: parse_reg(base)?, index: Some(parse_reg(index)?) })
        }
        _ => refuse(format!("addressing mode `{text}`")),
    }
}

fn parse_barrier(text: &str, ops: &[&str]) -> Result<BarrierKind, Unsupported> {
    let [option] = arity::<1>(text, ops)?;
    match option.to_ascii_uppercase().as_str() {
        "SY" | "ISH" | "OSH" | "NSH" => Ok(BarrierKind::Full),
        "LD" | "ISHLD" | "OSHLD" | "NSHLD" => Ok(BarrierKind::Load),
        "ST" | "ISHST" | "OSHST" | "NSHST" => Ok(BarrierKind::Store),
        other => refuse(format!("barrier option {other}")),
    }
}

/// `TLBI VAAE1IS,X9`, `TLBI VMALLE1IS` and their non-broadcast forms.
fn parse_tlbi(text: &str, ops: &[&str]) -> Result<Instr, Unsupported> {
    let (op, reg) = match ops {
        [op] => (op.to_ascii_uppercase(), None),
        [op, reg] => (op.to_ascii_uppercase(), Some(parse_reg(reg)?)),
        _ => return refuse(format!("operands of `{text}`")),
    };
    let (base, broadcast) = match op.strip_suffix("IS") {
        Some(base) => (base, true),
        None => (op.as_str(), false),
    };
    let by_va = match base {
        "VAE1" | "VALE1" | "VAAE1" | "VAALE1" => true,
        "VMALLE1" => false,
        _ => return refuse(format!("TLBI {op}")),
    };
    if by_va != reg.is_some() {
        return refuse(format!("operands of `{text}`"));
    }
    Ok(Instr::Tlbi(Tlbi { by_va, broadcast, reg }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_subset() {
        assert!(matches!(parse_instr("LDR W4,[X3]"), Ok(Instr::Load { acquire: false, .. })));
        assert!(matches!(parse_instr("STR W5,[X3,W4,SXTW]"), Ok(Instr::Store { .. })));
        assert_eq!(parse_instr("DSB ISHST"), Ok(Instr::Dsb(BarrierKind::Store)));
        assert_eq!(parse_instr("TLBI VMALLE1IS"), Ok(Instr::Tlbi(Tlbi { by_va: false, broadcast: true, reg: None })));
        assert!(matches!(parse_instr("TLBI VALE1,X9"), Ok(Instr::Tlbi(Tlbi { by_va: true, broadcast: false, .. }))));
        assert_eq!(split_label("L0: LDR W4,[X3]").map(|(l, _)| l), Ok(Some("L0".to_string())));
    }

    #[test]
    fn refuses_what_is_outside() {
        assert_eq!(parse_instr("CAS X1,X2,[X3]"), Err(Unsupported("instruction CAS".into())));
        assert_eq!(parse_instr("LDR W4,[X3,#8]"), Err(Unsupported("immediate offset in `[X3,#8]`".into())));
        assert_eq!(parse_instr("TLBI ALLE1IS"), Err(Unsupported("TLBI ALLE1IS".into())));
        assert_eq!(parse_instr("LDAR W4,[X3,X5]"), Err(Unsupported("addressing mode `[X3,X5]`".into())));
        assert!(parse_instr("DMB OSHX").is_err());
    }
}
