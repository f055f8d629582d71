//! Rust source read as text, the way the checks need it: its code without comments (so that a
//! path or a query in a comment is not taken for one), its string literals apart (so that a
//! query in a string can be found, and a path in one is not code), and without the
//! `#[cfg(test)]` tail (a test may use what it likes).

/// A source file split into code and string literals, up to its `#[cfg(test)]` tail.
#[derive(Debug, Default, PartialEq)]
pub struct Lexed {
    /// The code, comments dropped and each string or char literal emptied (`""`, `' '`);
    /// line breaks kept.
    pub code: String,
    /// The contents of the string literals in the code (escapes left as written).
    pub literals: Vec<String>,
}

/// Lexes `text` (see [`Lexed`]).
pub fn lex(text: &str) -> Lexed {
    let b: Vec<char> = text.chars().collect();
    let mut out = Lexed::default();
    // Each literal with the length of the code before it, to drop those of the test tail.
    let mut literals: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let after_ident = i > 0 && is_ident(b[i - 1]);
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.code.push('\n');
                    }
                    i += 1;
                }
            }
        } else if let Some((hashes, body)) = (c == 'r' && !after_ident)
            .then(|| raw_string_start(&b, i))
            .flatten()
        {
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let mut end = body;
            while end < b.len() && !b[end..].starts_with(&closing) {
                end += 1;
            }
            literals.push((out.code.len(), b[body..end.min(b.len())].iter().collect()));
            push_emptied(&mut out.code, &b[body..end.min(b.len())], "\"\"");
            i = end + closing.len();
        } else if c == '"' {
            let mut end = i + 1;
            while end < b.len() && b[end] != '"' {
                if b[end] == '\\' {
                    end += 1;
                }
                end += 1;
            }
            let end = end.min(b.len());
            literals.push((out.code.len(), b[i + 1..end].iter().collect()));
            push_emptied(&mut out.code, &b[i + 1..end], "\"\"");
            i = end + 1;
        } else if c == '\'' && is_char_literal(&b, i) {
            let mut end = i + 1;
            while end < b.len() && b[end] != '\'' {
                if b[end] == '\\' {
                    end += 1;
                }
                end += 1;
            }
            out.code.push_str("' '");
            i = end + 1;
        } else {
            out.code.push(c);
            i += 1;
        }
    }
    let tail = out.code.find("#[cfg(test)]").unwrap_or(out.code.len());
    out.code.truncate(tail);
    out.literals = literals
        .into_iter()
        .filter(|(at, _)| *at < tail)
        .map(|(_, l)| l)
        .collect();
    out
}

/// A file's code without comments, string literals and `#[cfg(test)]` tail.
pub fn code_of(text: &str) -> String {
    lex(text).code
}

/// `shown` for a literal, with the literal's line breaks kept so that lines still count.
fn push_emptied(code: &mut String, literal: &[char], shown: &str) {
    code.push_str(shown);
    code.extend(literal.iter().filter(|c| **c == '\n'));
}

pub(crate) fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// At `r"` or `r#…#"`: the number of `#` and where the literal's body starts.
fn raw_string_start(b: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i + 1;
    while b.get(j) == Some(&'#') {
        j += 1;
    }
    (b.get(j) == Some(&'"')).then_some((j - i - 1, j + 1))
}

/// Whether the `'` at `i` opens a char literal (`'a'`, `'\n'`, `'\u{1F600}'`) rather than a
/// lifetime or a label (`'a`, `'static`).
fn is_char_literal(b: &[char], i: usize) -> bool {
    match b.get(i + 1) {
        Some('\\') => true,
        Some(_) => b.get(i + 2) == Some(&'\''),
        None => false,
    }
}

/// Whether a string literal is a SQL statement rather than a message that starts like one
/// ("INSERT … RETURNING returned no row").
pub fn looks_like_sql(literal: &str) -> bool {
    let l = literal.trim_start().to_ascii_lowercase();
    let mut words = l.split_whitespace();
    let first = words.next().unwrap_or("");
    let second = words.next().unwrap_or("");
    let bound = l.contains('$') && l.chars().any(|c| c.is_ascii_digit());
    const OBJECTS: &[&str] = &[
        "table",
        "function",
        "index",
        "or",
        "role",
        "schema",
        "extension",
        "trigger",
        "policy",
        "view",
        "type",
        "sequence",
        "unique",
        "temp",
        "temporary",
    ];
    match first {
        "select" => l.contains(" from ") || bound,
        "with" => l.contains(" as (") || l.contains(" as("),
        "insert" => l.starts_with("insert into"),
        "update" => l.contains(" set "),
        "delete" => l.starts_with("delete from"),
        "create" | "alter" | "drop" => OBJECTS.contains(&second),
        "grant" | "revoke" => l.contains(" on ") && (l.contains(" to ") || l.contains(" from ")),
        "call" => second.contains('('),
        "truncate" => second == "table" || bound,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_strings_and_the_test_tail_are_set_apart() {
        let lexed = lex("use crate::a; // crate::b\n\
             /* crate::c /* nested */ */ let s = \"crate::d \\\" still\"; let r = r#\"SELECT \"1\"\"#;\n\
             let c = '\"'; fn f<'a>(x: &'a str) {}\n\
             #[cfg(test)]\nmod tests { const Q: &str = \"DELETE FROM t\"; }");
        assert!(lexed.code.contains("use crate::a;"));
        assert!(!lexed.code.contains("crate::b") && !lexed.code.contains("crate::c"));
        assert!(!lexed.code.contains("crate::d") && !lexed.code.contains("SELECT"));
        assert!(lexed.code.contains("fn f<'a>(x: &'a str)"));
        assert!(!lexed.code.contains("mod tests"));
        assert_eq!(
            lexed.literals,
            vec![
                "crate::d \\\" still".to_string(),
                "SELECT \"1\"".to_string()
            ]
        );
        assert_eq!(lexed.code.lines().count(), 3);
    }

    #[test]
    fn statements_are_told_from_messages() {
        for sql in [
            "SELECT to_jsonb(x) FROM t WHERE id = $1",
            "select 1 from t",
            "INSERT INTO t VALUES ($1)",
            "UPDATE t SET a = $1",
            "DELETE FROM t",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "CREATE TABLE t (a int)",
            "GRANT EXECUTE ON FUNCTION f() TO r",
            "CALL p($1)",
        ] {
            assert!(looks_like_sql(sql), "{sql}");
        }
        for message in [
            "INSERT … RETURNING returned no row",
            "update the client first",
            "select a provider",
            "deleted",
            "Grant types dynamic registration may register (comma-separated).",
            "drop them (DISCARD TEMP) or call from a session without them",
            "call from a session (x)",
        ] {
            assert!(!looks_like_sql(message), "{message}");
        }
    }
}
