//! Report tests: failure lines, the table, and that the JUnit XML and JSON
//! are well-formed with the right counts (checked by small readers here, so
//! the runner needs no XML or JSON crate).

use super::*;
use crate::ktap::parse;

const LOG: &str = "\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: boot
    1..2
    ok 1 rodata_store_faults
    # wx: expected a fault, saw none (boot.rs:1)
    not ok 2 wx_text_not_writable # expected a fault at va:0x1000, saw none
not ok 1 boot
    KTAP version 1
    # Subtest: lazy_batch
    1..1
        KTAP version 1
        # Subtest: barriers_batched
        1..3
        ok 1 none # SKIP not applicable <here>
        ok 2 arm64
        not ok 3 queued # TIMEOUT after 100 ms
    not ok 1 barriers_batched
not ok 2 lazy_batch
";

#[test]
fn leaf_names_and_failure_lines() {
    let report = parse(LOG);
    assert_eq!(report.problems, vec![]);
    let names: Vec<String> = leaves(&report).iter().map(|l| l.display_name.clone()).collect();
    assert_eq!(
        names,
        [
            "boot.rodata_store_faults",
            "boot.wx_text_not_writable",
            "lazy_batch.barriers_batched[none]",
            "lazy_batch.barriers_batched[arm64]",
            "lazy_batch.barriers_batched[queued]"
        ]
    );
    assert_eq!(
        failure_lines(&report, false),
        [
            "FAIL boot.wx_text_not_writable: expected a fault at va:0x1000, saw none",
            "FAIL lazy_batch.barriers_batched[queued]: TIMEOUT after 100 ms"
        ]
    );
}

#[test]
fn crash_and_problems_in_failure_lines() {
    let crashed =
        parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n    ok 1 a\n# CRASH: boom\n");
    assert_eq!(failure_lines(&crashed, false), ["CRASH in s test #2, after s.a: boom"]);
    let garbage = parse("KTAP version 1\n1..1\nxyz\nok 1 a\n");
    assert_eq!(failure_lines(&garbage, false), ["MALFORMED line 3: not KTAP: `xyz`"]);
    let killed = parse("KTAP version 1\n1..2\nok 1 a\n");
    assert_eq!(failure_lines(&killed, false).len(), 1);
    assert_eq!(failure_lines(&killed, true), Vec::<String>::new());
}

#[test]
fn summary_table_counts_leaves() {
    let table = summary::table(&parse(LOG));
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["suite", "pass", "fail", "skip", "timeout", "total"]);
    assert_eq!(rows[1], ["boot", "1", "1", "0", "0", "2"]);
    assert_eq!(rows[2], ["lazy_batch", "1", "0", "1", "1", "3"]);
    assert_eq!(rows[3], ["total", "2", "1", "1", "1", "5"]);
}

#[test]
fn junit_is_well_formed_with_counts() {
    let xml = junit::to_xml(&parse(LOG), "x86_64", None);
    let elements = xml_elements(&xml);
    let root = elements.iter().find(|e| e.name == "testsuites").expect("root");
    assert_eq!(root.attr("tests"), Some("5"));
    assert_eq!(root.attr("failures"), Some("2"));
    assert_eq!(root.attr("skipped"), Some("1"));
    assert_eq!(root.attr("errors"), Some("0"));
    assert_eq!(elements.iter().filter(|e| e.name == "testsuite").count(), 2);
    assert_eq!(elements.iter().filter(|e| e.name == "testcase").count(), 5);
    assert_eq!(elements.iter().filter(|e| e.name == "failure").count(), 2);
    let skipped = elements.iter().find(|e| e.name == "skipped").expect("skipped");
    assert_eq!(skipped.attr("message"), Some("not applicable &lt;here&gt;"));
    let timeout = elements.iter().find(|e| e.attr("type") == Some("timeout")).expect("timeout failure");
    assert_eq!(timeout.attr("message"), Some("TIMEOUT after 100 ms"));
    assert!(elements.iter().any(|e| e.attr("name") == Some("barriers_batched[queued]")));
}

#[test]
fn junit_records_a_broken_run() {
    let report = parse("KTAP version 1\n1..1\n# CRASH: page fault \"quoted\" & <odd>\x01\n");
    let xml = junit::to_xml(&report, "aarch64", Some("kernel crashed: page fault"));
    let elements = xml_elements(&xml);
    assert_eq!(elements[0].attr("errors"), Some("1"));
    assert_eq!(elements.iter().filter(|e| e.name == "error").count(), 1);
    assert!(!xml.contains('\x01'));
}

#[test]
fn json_is_kunit_shaped() {
    let json = json::to_json(&parse(LOG), "x86_64", "/b");
    let value = Json::parse(&json);
    assert_eq!(value.get("name").and_then(Json::as_str), Some("KUnit Test Group"));
    let suites = value.get("sub_groups").and_then(Json::as_array).expect("sub_groups");
    assert_eq!(suites.len(), 2);
    let boot = &suites[0];
    assert_eq!(boot.get("name").and_then(Json::as_str), Some("boot"));
    let statuses: Vec<&str> = boot
        .get("test_cases")
        .and_then(Json::as_array)
        .expect("cases")
        .iter()
        .map(|c| c.get("status").and_then(Json::as_str).expect("status"))
        .collect();
    assert_eq!(statuses, ["PASS", "FAIL"]);
    let batched = &suites[1].get("sub_groups").and_then(Json::as_array).expect("case groups")[0];
    let statuses: Vec<&str> = batched
        .get("test_cases")
        .and_then(Json::as_array)
        .expect("variants")
        .iter()
        .map(|c| c.get("status").and_then(Json::as_str).expect("status"))
        .collect();
    assert_eq!(statuses, ["SKIP", "PASS", "FAIL"]);
    assert_eq!(value.get("arch").and_then(Json::as_str), Some("x86_64"));
}

#[test]
fn json_escapes_and_marks_a_crash() {
    let report = parse("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\"\\\n    1..1\n# CRASH: x\n");
    let value = Json::parse(&json::to_json(&report, "aarch64", "C:\\b\n"));
    let cases = value.get("test_cases").and_then(Json::as_array).expect("cases");
    assert_eq!(cases[0].get("name").and_then(Json::as_str), Some("s\"\\"));
    assert_eq!(cases[0].get("status").and_then(Json::as_str), Some("ERROR"));
}

/// One start or empty element of a checked XML document.
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Element {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Checks that tags nest and close, attributes are quoted, and text holds no
/// raw `<` or `&`; returns the elements in document order.
fn xml_elements(xml: &str) -> Vec<Element> {
    let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").expect("declaration");
    let mut elements = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "raw > in text {text:?}");
        check_entities(text);
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched close tag");
            continue;
        }
        let empty = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut attrs_text) = tag.split_once(' ').unwrap_or((tag, ""));
        let mut attrs = Vec::new();
        while !attrs_text.trim().is_empty() {
            let (key, after) = attrs_text.trim_start().split_once("=\"").expect("quoted attribute");
            let (value, after) = after.split_once('"').expect("closing quote");
            assert!(!value.contains('<'), "raw < in attribute");
            check_entities(value);
            attrs.push((key.to_string(), value.to_string()));
            attrs_text = after;
        }
        if !empty {
            open.push(name.to_string());
        }
        elements.push(Element { name: name.to_string(), attrs });
    }
    assert!(open.is_empty(), "unclosed elements {open:?}");
    assert!(rest.trim().is_empty());
    elements
}

fn check_entities(text: &str) {
    for (index, _) in text.match_indices('&') {
        let entity = &text[index..text[index..].find(';').expect("entity end") + index + 1];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#10;", "&#9;"].contains(&entity),
            "bad entity {entity}"
        );
    }
}

/// A strict little JSON reader for the tests.
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Number,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Json {
        let mut chars = text.chars().peekable();
        let value = Json::value(&mut chars);
        assert!(chars.all(char::is_whitespace), "trailing characters");
        value
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    fn value(chars: &mut std::iter::Peekable<std::str::Chars>) -> Json {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek().copied().expect("value") {
            '{' => {
                chars.next();
                let mut fields = Vec::new();
                loop {
                    while chars.next_if(|c| c.is_whitespace()).is_some() {}
                    if chars.next_if_eq(&'}').is_some() {
                        return Json::Object(fields);
                    }
                    if !fields.is_empty() {
                        assert_eq!(chars.next(), Some(','));
                    }
                    let Json::String(key) = Json::value(chars) else { panic!("object key") };
                    while chars.next_if(|c| c.is_whitespace()).is_some() {}
                    assert_eq!(chars.next(), Some(':'));
                    fields.push((key, Json::value(chars)));
                }
            }
            '[' => {
                chars.next();
                let mut items = Vec::new();
                loop {
                    while chars.next_if(|c| c.is_whitespace()).is_some() {}
                    if chars.next_if_eq(&']').is_some() {
                        return Json::Array(items);
                    }
                    if !items.is_empty() {
                        assert_eq!(chars.next(), Some(','));
                    }
                    items.push(Json::value(chars));
                }
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next().expect("string end") {
                        '"' => return Json::String(s),
                        '\\' => match chars.next().expect("escape") {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            'u' => {
                                let hex: String = (0..4).map(|_| chars.next().expect("hex")).collect();
                                s.push(char::from_u32(u32::from_str_radix(&hex, 16).expect("hex")).expect("char"));
                            }
                            c @ ('"' | '\\' | '/') => s.push(c),
                            c => panic!("bad escape {c}"),
                        },
                        c => {
                            assert!(c as u32 >= 0x20, "raw control character in string");
                            s.push(c);
                        }
                    }
                }
            }
            'n' => Json::literal(chars, "null", Json::Null),
            't' => Json::literal(chars, "true", Json::Bool),
            'f' => Json::literal(chars, "false", Json::Bool),
            _ => {
                let number: String =
                    std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_digit() || "-+.eE".contains(*c))).collect();
                assert!(number.parse::<f64>().is_ok(), "bad number {number:?}");
                Json::Number
            }
        }
    }

    fn literal(chars: &mut std::iter::Peekable<std::str::Chars>, word: &str, value: Json) -> Json {
        for expected in word.chars() {
            assert_eq!(chars.next(), Some(expected));
        }
        value
    }
}
