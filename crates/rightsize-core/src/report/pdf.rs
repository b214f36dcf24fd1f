//! A [`Document`] as a PDF of exactly two A4 pages, written by hand: PDF 1.4 with the standard
//! Helvetica, Helvetica-Bold and Courier fonts (every reader has them, nothing is embedded, no
//! dependency), text wrapped with the fonts' published widths. Page two starts at a named
//! heading; the text size is the largest (10 pt down to 6.5 pt) at which each part fits its
//! page. Markdown code spans (`…`) are set in Courier; a table's rows become paragraphs that
//! lead with their first cell in bold.

use std::fmt::Write as _;

use super::doc::{Block, Document};

const PAGE_W: f64 = 595.0;
const PAGE_H: f64 = 842.0;
const MARGIN_X: f64 = 44.0;
const MARGIN_TOP: f64 = 44.0;
const MARGIN_BOTTOM: f64 = 48.0;
/// Text sizes tried, largest first.
const SIZES: [f64; 8] = [10.0, 9.5, 9.0, 8.5, 8.0, 7.5, 7.0, 6.5];

/// Helvetica's advance widths (1/1000 em) for ASCII 32..=126, from the standard AFM.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Helvetica-Bold's, likewise.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
    Mono,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
            Font::Mono => "F3",
        }
    }

    /// Width of one WinAnsi byte, 1/1000 em.
    fn width(self, b: u8) -> f64 {
        if self == Font::Mono {
            return 600.0;
        }
        let table = if self == Font::Bold {
            &HELVETICA_BOLD
        } else {
            &HELVETICA
        };
        match b {
            32..=126 => f64::from(table[usize::from(b - 32)]),
            0x95 => 350.0,
            0x96 => 556.0,
            0x97 | 0x85 => 1000.0,
            0x91 | 0x92 => 222.0,
            0x93 | 0x94 => 333.0,
            0xD7 => 584.0,
            _ => 556.0,
        }
    }
}

/// Text in WinAnsi bytes; characters it lacks are spelt in ASCII.
fn win_ansi(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' '..='~' => out.push(c as u8),
            '•' => out.push(0x95),
            '–' => out.push(0x96),
            '—' => out.push(0x97),
            '…' => out.push(0x85),
            '‘' => out.push(0x91),
            '’' => out.push(0x92),
            '“' => out.push(0x93),
            '”' => out.push(0x94),
            '×' => out.push(0xD7),
            '≤' => out.extend_from_slice(b"<="),
            '≥' => out.extend_from_slice(b">="),
            '→' => out.extend_from_slice(b"->"),
            '\u{a0}'..='\u{ff}' => out.push(c as u32 as u8),
            '\t' | '\n' | '\r' => out.push(b' '),
            _ => out.push(b'?'),
        }
    }
    out
}

/// A piece of a line: font, bytes, and whether a space precedes it.
#[derive(Debug, Clone)]
struct Piece {
    font: Font,
    text: Vec<u8>,
    space_before: bool,
}

/// Splits text into pieces at spaces, code spans in Courier; `lead` is set in bold.
fn pieces(lead: Option<&str>, text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    if let Some(l) = lead {
        for (k, w) in l.split(' ').filter(|w| !w.is_empty()).enumerate() {
            out.push(Piece {
                font: Font::Bold,
                text: win_ansi(w),
                space_before: k > 0,
            });
        }
    }
    let mut code = false;
    let mut word = String::new();
    let mut space_before = !out.is_empty();
    let flush = |word: &mut String, code: bool, space_before: &mut bool, out: &mut Vec<Piece>| {
        if !word.is_empty() {
            out.push(Piece {
                font: if code { Font::Mono } else { Font::Regular },
                text: win_ansi(word),
                space_before: *space_before,
            });
            word.clear();
            *space_before = false;
        }
    };
    for c in text.chars() {
        match c {
            '`' => {
                flush(&mut word, code, &mut space_before, &mut out);
                code = !code;
            }
            ' ' | '\n' => {
                flush(&mut word, code, &mut space_before, &mut out);
                space_before = true;
            }
            _ => word.push(c),
        }
    }
    flush(&mut word, code, &mut space_before, &mut out);
    out
}

/// One laid-out line: pieces with their x offsets, the size, the leading.
#[derive(Debug, Clone)]
struct Line {
    x: f64,
    size: f64,
    runs: Vec<(Font, f64, Vec<u8>)>,
    /// Space above the line's baseline, points.
    advance: f64,
}

fn text_width(font: Font, bytes: &[u8], size: f64) -> f64 {
    bytes.iter().map(|&b| font.width(b)).sum::<f64>() * size / 1000.0
}

/// Wraps `ps` into lines `width` wide starting at `x` (continuation lines at `hang`).
fn wrap(ps: &[Piece], x: f64, hang: f64, width: f64, size: f64, leading: f64) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut cur = Line {
        x,
        size,
        runs: Vec::new(),
        advance: leading,
    };
    let mut used = 0.0;
    let limit = |l: &Line| width - (l.x - x);
    let continuation = || Line {
        x: x + hang,
        size,
        runs: Vec::new(),
        advance: leading,
    };
    for p in ps {
        let mut text = p.text.clone();
        loop {
            let space = if p.space_before && !cur.runs.is_empty() {
                text_width(p.font, b" ", size)
            } else {
                0.0
            };
            let w = text_width(p.font, &text, size);
            if used + space + w <= limit(&cur) {
                cur.runs.push((p.font, used + space, text));
                used += space + w;
                break;
            }
            if !cur.runs.is_empty() {
                lines.push(std::mem::replace(&mut cur, continuation()));
                used = 0.0;
                continue;
            }
            // A piece wider than a whole line: cut it where it fills the line.
            let mut cut = 0;
            let mut acc = 0.0;
            for (k, &b) in text.iter().enumerate() {
                acc += p.font.width(b) * size / 1000.0;
                if acc > limit(&cur) {
                    break;
                }
                cut = k + 1;
            }
            let cut = cut.max(1);
            let rest = text.split_off(cut);
            cur.runs.push((p.font, 0.0, text));
            lines.push(std::mem::replace(&mut cur, continuation()));
            used = 0.0;
            text = rest;
            if text.is_empty() {
                break;
            }
        }
    }
    if !cur.runs.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Lays out blocks at a text size; `None` when they do not fit one page.
fn layout(title: Option<&str>, blocks: &[Block], size: f64) -> Option<Vec<Line>> {
    let width = PAGE_W - 2.0 * MARGIN_X;
    let leading = size * 1.28;
    let mut lines = Vec::new();
    let gap = |lines: &mut Vec<Line>, pts: f64| {
        lines.push(Line {
            x: MARGIN_X,
            size,
            runs: Vec::new(),
            advance: pts,
        })
    };
    if let Some(t) = title {
        let s = size * 1.6;
        let ps: Vec<Piece> = pieces(Some(t), "");
        lines.extend(wrap(&ps, MARGIN_X, 0.0, width, s, s * 1.2));
        gap(&mut lines, size * 0.4);
    }
    for b in blocks {
        match b {
            Block::Heading(_, text) => {
                let s = size * 1.25;
                gap(&mut lines, size * 0.5);
                lines.extend(wrap(
                    &pieces(Some(text), ""),
                    MARGIN_X,
                    0.0,
                    width,
                    s,
                    s * 1.25,
                ));
            }
            Block::Paragraph(text) => {
                lines.extend(wrap(
                    &pieces(None, text),
                    MARGIN_X,
                    0.0,
                    width,
                    size,
                    leading,
                ));
                gap(&mut lines, size * 0.3);
            }
            Block::List(items) | Block::Numbered(items) => {
                let numbered = matches!(b, Block::Numbered(_));
                for (k, item) in items.iter().enumerate() {
                    let mark = if numbered {
                        format!("{}.", k + 1)
                    } else {
                        "•".to_string()
                    };
                    let hang = size * 1.4;
                    let mut ls = wrap(
                        &pieces(None, item),
                        MARGIN_X + hang,
                        0.0,
                        width - hang,
                        size,
                        leading,
                    );
                    if let Some(first) = ls.first_mut() {
                        first
                            .runs
                            .insert(0, (Font::Regular, -hang, win_ansi(&mark)));
                    }
                    lines.extend(ls);
                }
                gap(&mut lines, size * 0.3);
            }
            Block::Table(header, rows) => {
                for row in rows {
                    let lead = row.first().map(String::as_str).unwrap_or("");
                    let rest: Vec<String> = row
                        .iter()
                        .zip(header)
                        .skip(1)
                        .map(|(cell, h)| format!("{h}: {cell}"))
                        .collect();
                    let lead = format!("{lead}:");
                    let hang = size * 1.4;
                    lines.extend(wrap(
                        &pieces(Some(&lead), &rest.join("; ")),
                        MARGIN_X,
                        hang,
                        width,
                        size,
                        leading,
                    ));
                    gap(&mut lines, size * 0.25);
                }
            }
            Block::Chart(_, caption) => {
                lines.extend(wrap(
                    &pieces(Some("Chart (see the HTML):"), caption),
                    MARGIN_X,
                    0.0,
                    width,
                    size,
                    leading,
                ));
            }
        }
    }
    let height: f64 = lines.iter().map(|l| l.advance).sum();
    (height <= PAGE_H - MARGIN_TOP - MARGIN_BOTTOM).then_some(lines)
}

fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for &b in bytes {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// The content stream of a page.
fn content(lines: &[Line], footer: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut y = PAGE_H - MARGIN_TOP;
    for l in lines {
        y -= l.advance;
        for (font, dx, text) in &l.runs {
            out.extend_from_slice(
                format!(
                    "BT /{} {:.2} Tf {:.2} {:.2} Td (",
                    font.resource(),
                    l.size,
                    l.x + dx,
                    y
                )
                .as_bytes(),
            );
            out.extend_from_slice(&escape(text));
            out.extend_from_slice(b") Tj ET\n");
        }
    }
    out.extend_from_slice(
        format!(
            "BT /F1 7 Tf {:.2} {:.2} Td (",
            MARGIN_X,
            MARGIN_BOTTOM / 2.0
        )
        .as_bytes(),
    );
    out.extend_from_slice(&escape(&win_ansi(footer)));
    out.extend_from_slice(b") Tj ET\n");
    out
}

/// Why a document cannot be set on two pages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// No heading starts page two.
    #[error("no heading {0:?} to start page two at")]
    NoBreak(String),
    /// A part is too long even at the smallest size.
    #[error("page {0} does not fit on one page even at 6.5 pt")]
    TooLong(usize),
}

/// `doc` as a two-page PDF, page two starting at the heading that begins with `page_two_at`.
pub fn two_pages(doc: &Document, page_two_at: &str) -> Result<Vec<u8>, PdfError> {
    let cut = doc
        .blocks
        .iter()
        .position(|b| matches!(b, Block::Heading(_, t) if t.starts_with(page_two_at)))
        .ok_or_else(|| PdfError::NoBreak(page_two_at.to_string()))?;
    let (first, second) = doc.blocks.split_at(cut);
    let mut pages = None;
    for size in SIZES {
        if let (Some(a), Some(b)) = (
            layout(Some(&doc.title), first, size),
            layout(None, second, size),
        ) {
            pages = Some([a, b]);
            break;
        }
    }
    let pages = match pages {
        Some(p) => p,
        None => {
            let page = if layout(Some(&doc.title), first, 6.5).is_none() {
                1
            } else {
                2
            };
            return Err(PdfError::TooLong(page));
        }
    };
    Ok(write_pdf(&doc.title, &pages))
}

fn write_pdf(title: &str, pages: &[Vec<Line>]) -> Vec<u8> {
    // Objects: 1 catalog, 2 pages, 3-5 fonts, 6 info, then a page and its content per page.
    let n = pages.len();
    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n).map(|k| format!("{} 0 R", 7 + 2 * k)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
    for base in ["Helvetica", "Helvetica-Bold", "Courier"] {
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
            )
            .into_bytes(),
        );
    }
    let mut info = b"<< /Title (".to_vec();
    info.extend_from_slice(&escape(&win_ansi(title)));
    info.extend_from_slice(b") /Producer (rightsize) >>");
    objects.push(info);
    for (k, lines) in pages.iter().enumerate() {
        let body = content(lines, &format!("{title} - page {} of {n}", k + 1));
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents {} 0 R >>",
                8 + 2 * k
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", body.len()).into_bytes();
        stream.extend_from_slice(&body);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (k, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", k + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in &offsets {
        let _ = writeln!(table, "{o:010} 00000 n ");
    }
    out.extend_from_slice(table.as_bytes());
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(paragraphs_on_two: usize) -> Document {
        let mut d = Document::new("Rollout plan: autoscaling of serving/reco");
        d.push(Block::Heading(2, "Scope".into()));
        d.push(Block::Paragraph(
            "Change: `kubectl apply -f proposed/` (a (parenthesised) note \\ with a backslash)."
                .into(),
        ));
        d.push(Block::Numbered(vec!["first".into(), "second".into()]));
        d.push(Block::Table(
            vec!["trigger".into(), "for".into()],
            vec![vec!["RightsizeP99AboveSLO".into(), "5 min".into()]],
        ));
        d.push(Block::Heading(2, "Rollback triggers".into()));
        for k in 0..paragraphs_on_two {
            d.push(Block::Paragraph(
                format!("Paragraph {k} of the second page. ").repeat(8),
            ));
        }
        d
    }

    /// Where `needle` first occurs in `hay` at or after `from`.
    fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    }

    /// The offsets in the xref table point at their objects; stream lengths are right.
    fn check_structure(pdf: &[u8]) {
        assert!(pdf.starts_with(b"%PDF-1.4"));
        let tail = find(pdf, b"startxref\n", 0).expect("startxref") + 10;
        let end = find(pdf, b"\n", tail).expect("newline");
        let start: usize = std::str::from_utf8(&pdf[tail..end])
            .expect("ascii")
            .parse()
            .expect("offset");
        assert!(pdf[start..].starts_with(b"xref\n"));
        let table = std::str::from_utf8(&pdf[start..tail]).expect("ascii");
        for (k, line) in table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .enumerate()
        {
            let off: usize = line[..10].parse().expect("offset");
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj", k + 1).as_bytes()),
                "object {} not at {off}",
                k + 1
            );
        }
        let mut at = 0;
        let mut pages = 0;
        while let Some(p) = find(pdf, b"/Type /Page ", at) {
            pages += 1;
            at = p + 1;
        }
        assert_eq!(pages, 2);
        let mut at = 0;
        while let Some(p) = find(pdf, b"<< /Length ", at) {
            let close = find(pdf, b" >>\nstream\n", p).expect("stream");
            let len: usize = std::str::from_utf8(&pdf[p + 11..close])
                .expect("ascii")
                .parse()
                .expect("length");
            let body = close + 11;
            assert!(pdf[body + len..].starts_with(b"\nendstream"));
            at = body;
        }
    }

    #[test]
    fn a_document_becomes_two_pages_split_at_the_heading() {
        let pdf = two_pages(&doc(3), "Rollback triggers").expect("fits");
        check_structure(&pdf);
        let text = String::from_utf8_lossy(&pdf);
        // The title, escaped parentheses and backslashes, the code span in Courier.
        assert!(text.contains("(Rollout) Tj"), "{text}");
        assert!(text.contains("\\(parenthesised\\)"));
        assert!(text.contains("\\\\"));
        assert!(text.contains("/F3 10.00 Tf"));
        assert!(text.contains("page 2 of 2"));
    }

    #[test]
    fn long_parts_shrink_the_text_and_too_long_ones_are_refused() {
        let pdf = two_pages(&doc(20), "Rollback triggers").expect("fits smaller");
        check_structure(&pdf);
        assert!(!String::from_utf8_lossy(&pdf).contains("/F1 10.00 Tf"));
        assert_eq!(
            two_pages(&doc(400), "Rollback triggers"),
            Err(PdfError::TooLong(2))
        );
        assert_eq!(
            two_pages(&doc(1), "Nowhere"),
            Err(PdfError::NoBreak("Nowhere".into()))
        );
    }

    #[test]
    fn lines_never_run_past_the_margin() {
        let ps = pieces(None, &"word ".repeat(200));
        let lines = wrap(&ps, MARGIN_X, 0.0, 300.0, 10.0, 12.0);
        for l in &lines {
            let (font, dx, text) = l.runs.last().expect("runs");
            assert!(l.x + dx + text_width(*font, text, 10.0) <= MARGIN_X + 300.0 + 1e-9);
        }
        // A token wider than the line is cut.
        let lines = wrap(
            &pieces(None, &"x".repeat(400)),
            MARGIN_X,
            0.0,
            100.0,
            10.0,
            12.0,
        );
        assert!(lines.len() > 10);
    }
}
