//! The final condition: `exists (0:X4=1 /\ ~fault(P1:L0,x))`, `~exists`,
//! `forall`, with `~`/`not`, `/\`, `\/`, parentheses, register, memory and
//! fault atoms. An optional `locations [...]` line before it is skipped.

use super::value::{parse_location, parse_thread_reg, parse_value};
use super::{refuse, Unsupported};
use crate::ast::{Atom, Condition, FaultAtom, FaultKind, Prop, Quantifier};

pub fn parse_condition(text: &str) -> Result<Condition, Unsupported> {
    let mut text = text.trim();
    if let Some(rest) = text.strip_prefix("locations") {
        let close = rest.find(']').map_or_else(|| refuse("`locations [` not closed"), Ok)?;
        text = rest[close + 1..].trim();
    }
    let (quantifier, rest) = if let Some(rest) = text.strip_prefix("forall") {
        (Quantifier::Forall, rest)
    } else if let Some(rest) = text.strip_prefix("exists") {
        (Quantifier::Exists, rest)
    } else if let Some(rest) = text.strip_prefix('~').map(str::trim_start).and_then(|t| t.strip_prefix("exists")) {
        (Quantifier::NotExists, rest)
    } else {
        let word = text.split_whitespace().next().unwrap_or("");
        return refuse(format!("condition `{word}` (only exists, ~exists, forall)"));
    };
    let mut cursor = Cursor { text: rest, pos: 0 };
    let prop = cursor.or()?;
    // herd tolerates a `;` after the proposition.
    cursor.eat(";");
    cursor.skip_ws();
    if cursor.pos < cursor.text.len() {
        return refuse(format!("condition text after the proposition: `{}`", cursor.rest().trim()));
    }
    Ok(Condition { quantifier, prop })
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// Eats `word` only when a word boundary follows.
    fn eat_word(&mut self, word: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        let boundary = rest[word.len().min(rest.len())..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric());
        if rest.starts_with(word) && boundary {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Prop, Unsupported> {
        let mut prop = self.and()?;
        while self.eat("\\/") {
            prop = Prop::Or(Box::new(prop), Box::new(self.and()?));
        }
        Ok(prop)
    }

    fn and(&mut self) -> Result<Prop, Unsupported> {
        let mut prop = self.unary()?;
        while self.eat("/\\") {
            prop = Prop::And(Box::new(prop), Box::new(self.unary()?));
        }
        Ok(prop)
    }

    fn unary(&mut self) -> Result<Prop, Unsupported> {
        if self.eat("~") || self.eat_word("not") {
            return Ok(Prop::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let prop = self.or()?;
            if !self.eat(")") {
                return refuse("condition: `(` not closed");
            }
            return Ok(prop);
        }
        if self.eat_word("true") {
            return Ok(Prop::True);
        }
        if self.eat_word("false") {
            return Ok(Prop::Not(Box::new(Prop::True)));
        }
        if self.eat("fault(") || self.eat("Fault(") {
            return self.fault();
        }
        self.equality()
    }

    fn fault(&mut self) -> Result<Prop, Unsupported> {
        let close = self.rest().find(')').map_or_else(|| refuse("condition: `fault(` not closed"), Ok)?;
        let args = &self.rest()[..close];
        self.pos += close + 1;
        let mut parts = args.split(',').map(str::trim);
        let who = parts.next().unwrap_or("");
        let (thread, label) = match who.split_once(':') {
            Some((t, l)) => (t, Some(l.trim().to_string())),
            None => (who, None),
        };
        let thread = thread.strip_prefix('P').and_then(|t| t.trim().parse().ok());
        let thread = thread.map_or_else(|| refuse(format!("fault atom `fault({args})`")), Ok)?;
        let mut atom = FaultAtom { thread, label, va: None, kind: None };
        for part in parts {
            match part {
                "MMU:Translation" => atom.kind = Some(FaultKind::Translation),
                "MMU:AccessFlag" => atom.kind = Some(FaultKind::AccessFlag),
                "MMU:Permission" => atom.kind = Some(FaultKind::Permission),
                va if atom.va.is_none() && atom.kind.is_none() && super::value::is_identifier(va) => {
                    atom.va = Some(va.to_string());
                }
                _ => return refuse(format!("fault atom `fault({args})`")),
            }
        }
        Ok(Prop::Atom(Atom::Fault(atom)))
    }

    /// `lhs=value` where the value may be a parenthesised descriptor.
    fn equality(&mut self) -> Result<Prop, Unsupported> {
        self.skip_ws();
        let eq =
            self.rest().find('=').map_or_else(|| refuse(format!("condition atom `{}`", self.rest().trim())), Ok)?;
        let lhs = self.rest()[..eq].trim();
        if lhs.is_empty() || lhs.contains(['(', ')', '/', '\\']) && !lhs.contains("PTE(") {
            return refuse(format!("condition atom `{lhs}`"));
        }
        self.pos += eq + 1;
        self.skip_ws();
        let rest = self.rest();
        let len = if rest.starts_with('(') {
            closing_paren(rest).map_or_else(|| refuse("condition: descriptor not closed"), |i| Ok(i + 1))?
        } else {
            rest.find(|c: char| c.is_whitespace() || c == ')' || c == '/' || c == '\\').unwrap_or(rest.len())
        };
        let value = parse_value(&rest[..len])?;
        self.pos += len;
        let atom = match parse_thread_reg(lhs) {
            Some(reg) => {
                let (thread, reg) = reg?;
                Atom::Reg { thread, reg: reg.index, value }
            }
            None => Atom::Mem { loc: parse_location(lhs)?, value },
        };
        Ok(Prop::Atom(atom))
    }
}

/// The index of the `)` matching the `(` that starts `text`.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}
