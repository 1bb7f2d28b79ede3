//! Helpers that turn library errors into the one-line messages users see.

/// One line for a TOML parse or schema error: `line L, column C: message`.
/// toml's own Display spans several lines (it quotes the source), which a user-facing error
/// must not.
pub fn toml_error_line(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let upto = &text[..span.start.min(text.len())];
            let line = upto.matches('\n').count() + 1;
            let col = upto.len() - upto.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {col}: {msg}")
        }
        None => msg,
    }
}

/// Formats an error chain on one line (`outer: inner: root`), as every program prints it.
pub fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}
