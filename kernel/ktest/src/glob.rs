//! Shell-style globs for `filter=`: `*` matches any run of characters (dots
//! included), `?` exactly one; everything else matches itself.

/// Whether `pattern` matches all of `text`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: alloc::vec::Vec<char> = pattern.chars().collect();
    let text: alloc::vec::Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was and the text position it currently swallows up
    // to: on a mismatch it swallows one more character and we retry.
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                last_star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match last_star {
                Some((star_p, star_t)) => {
                    last_star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn literals_match_only_themselves() {
        assert!(glob_match("boot.wx", "boot.wx"));
        assert!(!glob_match("boot.wx", "boot.wx2"));
        assert!(!glob_match("boot.wx2", "boot.wx"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
    }

    #[test]
    fn star_spans_dots_and_may_be_empty() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "lazy_batch.barriers_batched.detects_bug"));
        assert!(glob_match("lazy_batch.*", "lazy_batch.barriers_batched"));
        assert!(glob_match("*.detects_bug", "nesting.underflow_warns.detects_bug"));
        assert!(!glob_match("*.detects_bug", "nesting.underflow_warns"));
        assert!(glob_match("a*b*c", "aXXbYYbc"));
        assert!(!glob_match("a*b*c", "aXXbYYb"));
        assert!(glob_match("**x", "x"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(glob_match("boot.?x", "boot.wx"));
        assert!(!glob_match("boot.?x", "boot.x"));
        assert!(!glob_match("boot.?", "boot.wx"));
        assert!(glob_match("n?sting.*", "nesting.in_lazy_semantics"));
    }
}
