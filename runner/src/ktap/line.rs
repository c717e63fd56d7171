//! The pieces of one KTAP line: a result line, its directive, a printed
//! counts line.

use super::{PrintedCounts, Status};

pub struct ResultLine {
    pub is_ok: bool,
    pub number: usize,
    pub name: String,
    pub directive: Option<String>,
}

pub fn parse_result(body: &str) -> Option<ResultLine> {
    let (is_ok, rest) =
        if let Some(rest) = body.strip_prefix("not ok ") { (false, rest) } else { (true, body.strip_prefix("ok ")?) };
    let (number, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let number = number.parse().ok()?;
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    let (name, directive) = match rest.split_once(" # ") {
        Some((name, directive)) => (name, Some(directive.trim().to_string())),
        None => (rest, None),
    };
    Some(ResultLine { is_ok, number, name: name.trim().to_string(), directive })
}

/// SKIP wins over ok/not ok (as in KUnit); TIMEOUT only on a `not ok`.
pub fn status_of(is_ok: bool, directive: Option<String>) -> (Status, Option<String>) {
    let plain = if is_ok { Status::Pass } else { Status::Fail };
    let Some(directive) = directive else { return (plain, None) };
    if let Some(reason) = strip_keyword(&directive, "SKIP") {
        let reason = reason.trim();
        (Status::Skip, (!reason.is_empty()).then(|| reason.to_string()))
    } else if !is_ok && strip_keyword(&directive, "TIMEOUT").is_some() {
        (Status::Timeout, Some(directive))
    } else {
        (plain, Some(directive))
    }
}

fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    let rest = &text[keyword.len()..];
    (head.eq_ignore_ascii_case(keyword) && (rest.is_empty() || rest.starts_with(char::is_whitespace))).then_some(rest)
}

/// `<name>: pass:P fail:F skip:S total:T`
pub fn parse_counts(text: &str) -> Option<(&str, PrintedCounts)> {
    let (name, rest) = text.split_once(": pass:")?;
    let mut values = [0usize; 4];
    let keys = ["pass", "fail", "skip", "total"];
    let mut count = 0;
    for (index, field) in rest.split_whitespace().enumerate() {
        let (key, value) = if index == 0 { ("pass", field) } else { field.split_once(':')? };
        if index >= keys.len() || key != keys[index] {
            return None;
        }
        values[index] = value.parse().ok()?;
        count += 1;
    }
    (count == keys.len())
        .then_some((name, PrintedCounts { pass: values[0], fail: values[1], skip: values[2], total: values[3] }))
}

/// A line quoted in a problem: at most 100 characters of it.
pub fn shorten(line: &str) -> String {
    const MAX: usize = 100;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}
