//! Reads herd7's AArch64 litmus syntax for the subset the model covers.
//! Anything else is refused with a reason ([`Unsupported`]), never guessed
//! at: an unknown instruction, header key, variant or condition form.

mod cond;
mod init;
mod instr;
mod value;

use crate::ast::{Line, Test};
use std::fmt;

/// Why a test is outside the subset (or not a litmus test at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

pub(crate) fn refuse<T>(what: impl Into<String>) -> Result<T, Unsupported> {
    Err(Unsupported(what.into()))
}

/// Header keys that only describe a test (generator metadata).
const METADATA_KEYS: &[&str] = &["Hash", "Cycle", "Relax", "Safe", "Prefetch", "Com", "Orig", "Generator", "Scopes"];

/// herd's variants that keep the semantics the model implements: VMSA on,
/// faults fatal (herd's default; the thread stops at a fault).
const ACCEPTED_VARIANTS: &[&str] = &["vmsa", "kvm", "fatal", "precise"];

/// Parses a whole test.
pub fn parse(text: &str) -> Result<Test, Unsupported> {
    let text = strip_comments(text)?;
    let open = text.find('{').map_or_else(|| refuse("no initial state `{ ... }`"), Ok)?;
    let close = text[open..].find('}').map_or_else(|| refuse("initial state not closed by `}`"), |i| Ok(open + i))?;
    let name = parse_header(&text[..open])?;
    let init = init::parse_init(&text[open + 1..close])?;
    let (program, condition) = split_condition(&text[close + 1..])?;
    let threads = parse_program(program)?;
    let condition = cond::parse_condition(condition)?;
    Ok(Test { name, init, threads, condition })
}

/// Removes `(* ... *)` comments, which may nest.
fn strip_comments(text: &str) -> Result<String, Unsupported> {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut rest = text;
    while !rest.is_empty() {
        if rest.starts_with("(*") {
            depth += 1;
            rest = &rest[2..];
        } else if depth > 0 && rest.starts_with("*)") {
            depth -= 1;
            rest = &rest[2..];
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            if depth == 0 {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    if depth > 0 {
        return refuse("comment `(*` not closed");
    }
    Ok(out)
}

/// The first line names the architecture and the test; the other header
/// lines are `key=value` pairs.
fn parse_header(header: &str) -> Result<String, Unsupported> {
    let mut lines = header.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().map_or_else(|| refuse("empty test"), Ok)?;
    let mut words = first.split_whitespace();
    let arch = words.next().unwrap_or("");
    if arch != "AArch64" {
        return refuse(format!("architecture {arch} (only AArch64)"));
    }
    let name = words.next().map_or_else(|| refuse("test without a name"), Ok)?.to_string();
    for line in lines {
        if line.starts_with('"') && line.ends_with('"') {
            // diy's description of the cycle the test exercises.
            continue;
        }
        let (key, value) = line.split_once('=').map_or_else(|| refuse(format!("header line `{line}`")), Ok)?;
        let (key, value) = (key.trim(), value.trim());
        match key {
            k if METADATA_KEYS.contains(&k) => {}
            "Variant" | "variant" => {
                for v in value.split(',').map(str::trim) {
                    if !ACCEPTED_VARIANTS.contains(&v.to_ascii_lowercase().as_str()) {
                        return refuse(format!("variant {v} (only fatal faults are modelled)"));
                    }
                }
            }
            "TTHM" => return refuse(format!("TTHM={value} (hardware access-flag/dirty-bit updates)")),
            "EL0" => return refuse(format!("EL0={value} (threads at EL0)")),
            _ => return refuse(format!("header key {key}")),
        }
    }
    Ok(name)
}

const CONDITION_KEYWORDS: &[&str] = &["exists", "~exists", "forall", "locations", "filter", "~ exists"];

/// Splits what follows the initial state into the program table and the
/// condition (which may start with `locations [...]`).
fn split_condition(rest: &str) -> Result<(&str, &str), Unsupported> {
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if CONDITION_KEYWORDS.iter().any(|k| trimmed.starts_with(k)) {
            return Ok((&rest[..offset], &rest[offset..]));
        }
        offset += line.len();
    }
    refuse("no final condition (exists / ~exists / forall)")
}

/// The program table: a header row `P0 | P1 ;` then one row per line,
/// cells separated by `|`, rows ended by `;`.
fn parse_program(program: &str) -> Result<Vec<Vec<Line>>, Unsupported> {
    let mut rows = program.split(';').map(str::trim).filter(|r| !r.is_empty());
    let header = rows.next().map_or_else(|| refuse("no program"), Ok)?;
    let mut threads = Vec::new();
    for (i, cell) in header.split('|').map(str::trim).enumerate() {
        if cell != format!("P{i}") {
            return refuse(format!("thread `{cell}` (threads must be P0, P1, ... with no fault handlers)"));
        }
        threads.push(Vec::new());
    }
    let mut pending_labels: Vec<Option<String>> = vec![None; threads.len()];
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells.len() > threads.len() {
            return refuse(format!("program row `{row}` has more cells than threads"));
        }
        for (t, cell) in cells.into_iter().enumerate() {
            let (label, instr_text) = instr::split_label(cell)?;
            if let Some(label) = label {
                if pending_labels[t].is_some() {
                    return refuse(format!("two labels on one instruction in P{t}"));
                }
                pending_labels[t] = Some(label);
            }
            if !instr_text.is_empty() {
                let instr = instr::parse_instr(instr_text)?;
                threads[t].push(Line { label: pending_labels[t].take(), instr: Some(instr) });
            }
        }
    }
    for (t, label) in pending_labels.into_iter().enumerate() {
        if label.is_some() {
            threads[t].push(Line { label, instr: None });
        }
    }
    Ok(threads)
}
