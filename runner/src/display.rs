//! How a serial line looks on the terminal: the arch prefix, colour (see
//! [`ColorChoice`]), and the symbol behind a backtrace address; and the
//! colour of the runner's own result lines.

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

/// `--color`: `auto` colours a terminal unless `NO_COLOR` is set (to
/// anything but the empty string, as no-color.org asks) or `TERM=dumb`;
/// `always` and `never` override both, as a command-line option should.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// The colour decision for stdout in this environment.
    pub fn for_stdout(self) -> Colour {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
        self.decide(std::io::stdout().is_terminal(), no_color, dumb)
    }

    pub fn decide(self, is_terminal: bool, no_color: bool, dumb_terminal: bool) -> Colour {
        match self {
            ColorChoice::Always => Colour::Always,
            ColorChoice::Never => Colour::Never,
            ColorChoice::Auto if is_terminal && !no_color && !dumb_terminal => Colour::Always,
            ColorChoice::Auto => Colour::Never,
        }
    }
}

/// How the runner's own lines end: pass, failure, or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Warning,
}

/// `text` in the tone's colour when colour is on.
pub fn paint(text: &str, tone: Tone, colour: Colour) -> String {
    let code = match tone {
        Tone::Good => GREEN,
        Tone::Bad => RED,
        Tone::Warning => YELLOW,
    };
    match colour {
        Colour::Always => format!("{code}{text}{RESET}"),
        Colour::Never => text.to_string(),
    }
}

/// The tone of a line the report prints after a run: `FAIL ...`,
/// `CRASH ...` and `MALFORMED ...` are bad.
pub fn tone_of_result_line(line: &str) -> Option<Tone> {
    ["FAIL ", "CRASH ", "MALFORMED "].iter().any(|word| line.starts_with(word)).then_some(Tone::Bad)
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
    fn colour_choice_follows_no_color_term_and_the_option() {
        assert_eq!(ColorChoice::Auto.decide(true, false, false), Colour::Always);
        assert_eq!(ColorChoice::Auto.decide(false, false, false), Colour::Never, "not a terminal");
        assert_eq!(ColorChoice::Auto.decide(true, true, false), Colour::Never, "NO_COLOR");
        assert_eq!(ColorChoice::Auto.decide(true, false, true), Colour::Never, "TERM=dumb");
        assert_eq!(ColorChoice::Always.decide(false, true, true), Colour::Always);
        assert_eq!(ColorChoice::Never.decide(true, false, false), Colour::Never);
    }

    #[test]
    fn result_lines_are_painted_by_tone() {
        assert_eq!(tone_of_result_line("FAIL a.b[c]: x"), Some(Tone::Bad));
        assert_eq!(tone_of_result_line("CRASH in a: y"), Some(Tone::Bad));
        assert_eq!(tone_of_result_line("suite  pass"), None);
        assert_eq!(paint("ok", Tone::Good, Colour::Always), format!("{GREEN}ok{RESET}"));
        assert_eq!(paint("ok", Tone::Good, Colour::Never), "ok");
    }

    #[test]
    fn prefix_and_plain_text_without_colour() {
        let display = LineDisplay::new("arm64", Colour::Never, None);
        assert_eq!(display.render("ok 1 boot"), "[arm64] ok 1 boot");
        let display = LineDisplay::new("x86_64", Colour::Always, None);
        assert_eq!(display.render("ok 1 boot"), format!("[x86_64] {GREEN}ok 1 boot{RESET}"));
    }
}
