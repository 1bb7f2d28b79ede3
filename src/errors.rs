//! Helpers that turn library errors into the one-line messages users see.

/// The `table.key` whose line holds byte offset `pos` of a TOML text, if that line is `key = ...`.
fn key_at(text: &str, pos: usize) -> Option<String> {
    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let key = line.split_once('=')?.0.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
        return None;
    }
    let header = text[..start].lines().rev().map(str::trim).find(|l| l.starts_with('['));
    Some(match header {
        // An array of tables (`[[layer]]`): name the element, `layer 2.kernel`, counting from 0.
        Some(h) if h.starts_with("[[") => {
            let name = h.trim_matches(|c| c == '[' || c == ']').trim();
            let index = text[..start].lines().filter(|l| l.trim() == h).count() - 1;
            format!("{name} {index}.{key}")
        }
        Some(h) => format!("{}.{key}", h.trim_matches(|c| c == '[' || c == ']').trim()),
        None => key.to_string(),
    })
}

/// One line for a TOML parse or schema error: `line L, column C: [key `K`: ]message`.
/// toml's own Display spans several lines (it quotes the source), which a user-facing error
/// must not; and for type errors it does not name the key, so the key is read off the line.
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let pos = span.start.min(text.len());
            let upto = &text[..pos];
            let line = upto.matches('\n').count() + 1;
            let col = upto.len() - upto.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            // `[layer]` instead of `[[layer]]`: say so rather than "expected a sequence".
            let line_text = text[upto.rfind('\n').map_or(0, |i| i + 1)..].lines().next().unwrap_or("").trim();
            if msg.contains("expected a sequence") && line_text.starts_with('[') && !line_text.starts_with("[[") {
                let table = line_text.trim_matches(|c| c == '[' || c == ']');
                return format!("line {line}, column {col}: key `{table}`: expected an array of tables ([[{table}]]), found a table ([{table}])");
            }
            match key_at(text, pos).filter(|_| !msg.contains("field `")) {
                Some(k) => format!("line {line}, column {col}: key `{k}`: {msg}"),
                None => format!("line {line}, column {col}: {msg}"),
            }
        }
        None => msg,
    }
}

/// Formats an error chain on one line (`outer: inner: root`), as every program prints it.
pub fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct T {
        a: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        rows: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Layers {
        layer: Vec<Inner>,
    }

    #[test]
    fn type_errors_in_an_array_of_tables_name_the_element() {
        let text = "[[layer]]\nrows = 1\n\n[[layer]]\nrows = 2\n[[layer]]\nrows = -3\n";
        let e = toml::from_str::<Layers>(text).unwrap_err();
        let line = toml_error_line(text, &e);
        assert!(line.contains("key `layer 2.rows`"), "{line}");
    }

    #[test]
    fn type_errors_name_the_table_and_key_on_one_line() {
        let text = "# c\n[a]\nrows = \"four\"\n";
        let e = toml::from_str::<T>(text).unwrap_err();
        let line = toml_error_line(text, &e);
        assert!(line.starts_with("line 3, column 8: key `a.rows`: invalid type"), "{line}");
        assert!(!line.contains('\n'));
    }
}
