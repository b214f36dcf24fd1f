//! A small document model that every report is built in once and rendered twice: Markdown for
//! review and diffs, HTML (self-contained, inline SVG charts) for reading.

use std::fmt::Write;

use super::svg::{Chart, escape};

/// One block of a document.
#[derive(Debug, Clone)]
pub enum Block {
    /// A heading, level 1 to 3.
    Heading(u8, String),
    /// A paragraph of plain text.
    Paragraph(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A numbered list.
    Numbered(Vec<String>),
    /// A table: header cells, then rows.
    Table(Vec<String>, Vec<Vec<String>>),
    /// A chart with a caption (Markdown shows the caption and points to the HTML).
    Chart(Box<Chart>, String),
}

/// A titled sequence of blocks.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// Title (the HTML `<title>` and first heading).
    pub title: String,
    /// The blocks in order.
    pub blocks: Vec<Block>,
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Document {
    /// A document with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Document {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Appends a block.
    pub fn push(&mut self, block: Block) {
        self.blocks.push(block);
    }

    /// Charts in the document.
    pub fn charts(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| matches!(b, Block::Chart(..)))
            .count()
    }

    /// The document as GitHub-flavoured Markdown; `html_name` is the file charts point to.
    pub fn markdown(&self, html_name: &str) -> String {
        let mut o = format!("# {}\n", self.title);
        for b in &self.blocks {
            o.push('\n');
            match b {
                Block::Heading(level, text) => {
                    let _ = writeln!(
                        o,
                        "{} {text}",
                        "#".repeat(usize::from(*level).clamp(1, 5) + 1)
                    );
                }
                Block::Paragraph(text) => {
                    let _ = writeln!(o, "{text}");
                }
                Block::List(items) => {
                    for i in items {
                        let _ = writeln!(o, "- {i}");
                    }
                }
                Block::Numbered(items) => {
                    for (n, i) in items.iter().enumerate() {
                        let _ = writeln!(o, "{}. {i}", n + 1);
                    }
                }
                Block::Table(head, rows) => {
                    let cells: Vec<String> = head.iter().map(|h| md_cell(h)).collect();
                    let _ = writeln!(o, "| {} |", cells.join(" | "));
                    let _ = writeln!(o, "|{}", "---|".repeat(head.len()));
                    for r in rows {
                        let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
                        let _ = writeln!(o, "| {} |", cells.join(" | "));
                    }
                }
                Block::Chart(chart, caption) => {
                    let _ = writeln!(o, "*Chart: {}* ({html_name}). {caption}", chart.title);
                }
            }
        }
        o
    }

    /// The document as one self-contained HTML page: inline CSS and SVG, no script, no
    /// external resource.
    pub fn html(&self) -> String {
        let title = escape(&self.title);
        let mut o = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n"
        );
        for b in &self.blocks {
            match b {
                Block::Heading(level, text) => {
                    let l = level.clamp(&1, &5) + 1;
                    let _ = writeln!(o, "<h{l}>{}</h{l}>", escape(text));
                }
                Block::Paragraph(text) => {
                    let _ = writeln!(o, "<p>{}</p>", escape(text));
                }
                Block::List(items) | Block::Numbered(items) => {
                    let tag = if matches!(b, Block::List(_)) {
                        "ul"
                    } else {
                        "ol"
                    };
                    let _ = write!(o, "<{tag}>");
                    for i in items {
                        let _ = write!(o, "<li>{}</li>", escape(i));
                    }
                    let _ = writeln!(o, "</{tag}>");
                }
                Block::Table(head, rows) => {
                    o.push_str("<table><thead><tr>");
                    for h in head {
                        let _ = write!(o, "<th>{}</th>", escape(h));
                    }
                    o.push_str("</tr></thead><tbody>");
                    for r in rows {
                        o.push_str("<tr>");
                        for c in r {
                            let _ = write!(o, "<td>{}</td>", escape(c));
                        }
                        o.push_str("</tr>");
                    }
                    o.push_str("</tbody></table>\n");
                }
                Block::Chart(chart, caption) => {
                    let _ = writeln!(
                        o,
                        "<figure>{}<figcaption>{}</figcaption></figure>",
                        chart.render(),
                        escape(caption)
                    );
                }
            }
        }
        o.push_str("</main>\n</body>\n</html>\n");
        o
    }
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;background:#fff;margin:0}main{max-width:1000px;margin:0 auto;padding:24px}h1{font-size:1.6em;margin:0 0 .4em}h2{font-size:1.3em;margin:1.6em 0 .4em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{font-size:1.1em}table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f6f8}figure{margin:1em 0}svg.chart{width:100%;height:auto;display:block}figcaption{font-size:.88em;color:#555}li{margin:.2em 0}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_document_two_renderings() {
        let mut d = Document::new("A <test>");
        d.push(Block::Heading(1, "Traffic".into()));
        d.push(Block::Paragraph("peak & trough".into()));
        d.push(Block::Table(
            vec!["what".into(), "value".into()],
            vec![vec!["a|b".into(), "1".into()]],
        ));
        d.push(Block::Numbered(vec!["first".into(), "second".into()]));
        d.push(Block::Chart(
            Box::new(Chart {
                title: "Rate".into(),
                ..Chart::default()
            }),
            "per minute".into(),
        ));
        let md = d.markdown("report.html");
        assert!(md.starts_with("# A <test>\n"));
        assert!(md.contains("| a\\|b | 1 |"));
        assert!(md.contains("2. second"));
        assert!(md.contains("*Chart: Rate* (report.html). per minute"));
        let html = d.html();
        assert!(html.contains("<title>A &lt;test&gt;</title>"));
        assert!(html.contains("<p>peak &amp; trough</p>"));
        assert!(html.contains("<td>a|b</td>"));
        assert_eq!(html.matches("<svg class=\"chart\"").count(), d.charts());
        assert!(!html.contains("<script"));
    }
}
