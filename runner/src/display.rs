//! How a serial line looks on the terminal: the arch prefix, colour when
//! stdout is a terminal, and the symbol behind a backtrace address.

use crate::symbols::Symbols;

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    Always,
    Never,
}

pub struct LineDisplay<'a> {
    prefix: String,
    colour: Colour,
    symbols: Option<&'a Symbols>,
}

impl<'a> LineDisplay<'a> {
    pub fn new(label: &str, colour: Colour, symbols: Option<&'a Symbols>) -> LineDisplay<'a> {
        LineDisplay { prefix: format!("[{label}] "), colour, symbols }
    }

    pub fn render(&self, line: &str) -> String {
        let text = match self.symbols.and_then(|symbols| symbols.annotate(line)) {
            Some(annotated) => annotated,
            None => line.to_string(),
        };
        match (self.colour, colour_of(line)) {
            (Colour::Always, Some(colour)) => format!("{}{colour}{text}{RESET}", self.prefix),
            _ => format!("{}{text}", self.prefix),
        }
    }
}

/// Green ok, red not ok and crashes, yellow SKIP and TIMEOUT.
fn colour_of(line: &str) -> Option<&'static str> {
    let body = line.trim_start();
    let directive = body.split_once(" # ").map(|(_, d)| d.trim_start().to_ascii_uppercase()).unwrap_or_default();
    if directive.starts_with("SKIP") || directive.starts_with("TIMEOUT") {
        Some(YELLOW)
    } else if body.starts_with("not ok ") || body.starts_with("# CRASH:") {
        Some(RED)
    } else if body.starts_with("ok ") {
        Some(GREEN)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_result() {
        assert_eq!(colour_of("    ok 1 a"), Some(GREEN));
        assert_eq!(colour_of("not ok 2 b # expected x, saw y"), Some(RED));
        assert_eq!(colour_of("        ok 3 none # SKIP not applicable"), Some(YELLOW));
        assert_eq!(colour_of("    not ok 4 c # TIMEOUT after 100 ms"), Some(YELLOW));
        assert_eq!(colour_of("# CRASH: page fault"), Some(RED));
        assert_eq!(colour_of("# INFO: ok then"), None);
    }

    #[test]
    fn prefix_and_plain_text_without_colour() {
        let display = LineDisplay::new("arm64", Colour::Never, None);
        assert_eq!(display.render("ok 1 boot"), "[arm64] ok 1 boot");
        let display = LineDisplay::new("x86_64", Colour::Always, None);
        assert_eq!(display.render("ok 1 boot"), format!("[x86_64] {GREEN}ok 1 boot{RESET}"));
    }
}
