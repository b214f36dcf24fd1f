//! Reading multi-document YAML (or JSON) into typed objects with errors that name the file, line,
//! column and field path, e.g. `hpa.yaml:14:9: spec.metrics[0].resource.target
//! .averageUtilization: expected an integer, found "60%"`, and warnings for unknown fields.

use serde::de::DeserializeOwned;

/// One YAML document of a file and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<'a> {
    /// The document's text.
    pub text: &'a str,
    /// 1-based line of the file where the document's text starts.
    pub first_line: u64,
}

/// Splits a YAML stream at `---` document markers (and `...` ends). JSON text is one document.
/// Documents that hold only comments and blank lines are dropped.
pub fn split_documents(text: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u64;
    let mut offset = 0usize;
    fn push<'a>(text: &'a str, first_line: u64, docs: &mut Vec<Document<'a>>) {
        let meaningful = text.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && t != "---"
        });
        if meaningful {
            docs.push(Document { text, first_line });
        }
    }
    for (line_no, line) in (1u64..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker =
            bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t") || bare == "...";
        if is_marker {
            push(&text[start..offset], start_line, &mut docs);
            // Content after `--- ` on the same line belongs to the next document.
            let rest = if bare.len() > 3 && bare.starts_with("---") {
                4
            } else {
                line.len()
            };
            start = offset + rest.min(line.len());
            start_line = line_no + u64::from(rest >= line.len());
        }
        offset += line.len();
    }
    push(&text[start..], start_line, &mut docs);
    docs
}

/// A configuration error located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// The field path (`spec.metrics[0].type`), empty for syntax errors.
    pub path: String,
    /// What is wrong, and what was found.
    pub message: String,
}

/// serde_ignored's path (`spec.?.containers.0.image`) in the notation of Kubernetes messages
/// (`spec.containers[0].image`).
fn field_path(raw: &str) -> String {
    let mut out = String::new();
    for seg in raw.split('.').filter(|s| *s != "?") {
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

/// The scalar that starts at `column` of `line` in `text`, for quoting in a message.
fn token_at(text: &str, line: u64, column: u64) -> Option<String> {
    let l = text
        .lines()
        .nth(usize::try_from(line.checked_sub(1)?).ok()?)?;
    let from = l
        .char_indices()
        .nth(usize::try_from(column.checked_sub(1)?).ok()?)
        .map(|(i, _)| i)?;
    let rest = l[from..].trim();
    let rest = rest
        .split(" #")
        .next()
        .unwrap_or(rest)
        .trim_end_matches([',', '}', ']']);
    (!rest.is_empty()).then(|| {
        if rest.starts_with(['"', '\'']) {
            rest.to_string()
        } else {
            format!("{rest:?}")
        }
    })
}

/// Turns serde's and serde-saphyr's wording into "expected …, found …".
fn explain(raw: &str, found: Option<String>) -> String {
    let raw = raw.split(" at line ").next().unwrap_or(raw).trim();
    let expected = if raw.starts_with("invalid i") || raw.starts_with("invalid u") {
        Some("expected an integer")
    } else if raw.starts_with("invalid f") {
        Some("expected a number")
    } else if raw.starts_with("invalid bool") {
        Some("expected true or false")
    } else {
        None
    };
    if let Some(rest) = raw.strip_prefix("invalid type: ")
        && let Some((what, exp)) = rest.split_once(", expected ")
    {
        let exp = match exp {
            "i32" | "i64" | "u32" | "u64" | "u16" | "i16" => "an integer",
            "f64" | "f32" => "a number",
            other => other,
        };
        return format!("expected {exp}, found {what}");
    }
    match (expected, found) {
        (Some(e), Some(f)) => format!("{e}, found {f}"),
        (Some(e), None) => e.to_string(),
        (None, _) => raw.to_string(),
    }
}

/// Deserializes one document into `T`. Unknown fields are reported through `unknown` as
/// field paths; they do not fail the parse.
pub fn parse_document<T: DeserializeOwned>(
    doc: &Document<'_>,
    file: &str,
    unknown: &mut Vec<String>,
) -> Result<T, ConfigError> {
    let options = serde_saphyr::options! { with_snippet: false };
    let mut failed_path = None;
    let result = serde_saphyr::with_deserializer_from_str_with_options(doc.text, options, |de| {
        let mut note = |path: serde_ignored::Path<'_>| {
            let path = path.to_string();
            // serde-saphyr's span marker is not a field of the user's document.
            if !path.contains("__serde_saphyr_private") {
                unknown.push(field_path(&path));
            }
        };
        let ignored = serde_ignored::Deserializer::new(de, &mut note);
        serde_path_to_error::deserialize(ignored).map_err(|e| {
            failed_path = Some(e.path().to_string());
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((1, 1), |l| (l.line().max(1), l.column().max(1)));
        let path = failed_path.filter(|p| p != ".").unwrap_or_default();
        let message = explain(&e.to_string(), token_at(doc.text, line, column));
        ConfigError {
            file: file.to_string(),
            line: doc.first_line + line - 1,
            column,
            path,
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Target {
        average_utilization: Option<i32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Doc {
        kind: String,
        target: Option<Target>,
    }

    #[test]
    fn splits_documents_and_keeps_their_lines() {
        let text =
            "# leading comment\n---\nkind: A\n---\n# only a comment\n---\nkind: B\nx: 1\n...\n";
        let docs = split_documents(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].first_line, 3);
        assert!(docs[0].text.starts_with("kind: A"));
        assert_eq!(docs[1].first_line, 7);
        assert_eq!(split_documents("{\"kind\": \"A\"}").len(), 1);
        assert!(split_documents("\n# nothing\n").is_empty());
    }

    #[test]
    fn errors_name_line_column_path_and_value() {
        let text = "kind: A\n---\nkind: B\ntarget:\n  averageUtilization: \"60%\"\n";
        let docs = split_documents(text);
        let mut unknown = Vec::new();
        let err = parse_document::<Doc>(&docs[1], "hpa.yaml", &mut unknown).expect_err("bad int");
        assert_eq!(err.line, 5, "{err}");
        assert_eq!(err.path, "target.averageUtilization");
        assert_eq!(
            err.to_string(),
            "hpa.yaml:5:23: target.averageUtilization: expected an integer, found \"60%\""
        );
    }

    #[test]
    fn unknown_fields_are_reported_not_fatal() {
        let docs = split_documents("kind: A\ncolour: blue\ntarget:\n  shape: round\n");
        let mut unknown = Vec::new();
        let d: Doc = parse_document(&docs[0], "x.yaml", &mut unknown).expect("parses");
        assert_eq!(d.kind, "A");
        assert_eq!(
            unknown,
            vec!["colour".to_string(), "target.shape".to_string()]
        );
    }

    #[test]
    fn syntax_errors_are_located() {
        let docs = split_documents("kind: A\n---\nkind: [B\n");
        let err = parse_document::<Doc>(&docs[1], "x.yaml", &mut Vec::new()).expect_err("syntax");
        assert_eq!(err.line, 3, "{err}");
        assert!(err.to_string().starts_with("x.yaml:3:"), "{err}");
    }
}
