//! Hand-written SVG charts for the reports: line, step and dot series over numeric axes, with
//! shaded x-bands (off-peak hours, an interval) and labelled reference lines (the SLO). No
//! dependency, no script: the markup is the chart, so a browser, a PDF writer or a diff can read it.

use std::fmt::Write;

/// Chart width in user units (the SVG scales to its container).
const WIDTH: f64 = 960.0;
/// Chart height in user units.
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 44.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A polyline; `None` values break it.
    Line,
    /// Horizontal steps, each value held until the next x.
    Step,
    /// A dot per point.
    Dots,
}

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// How it is drawn.
    pub mark: Mark,
    /// `(x, y)` points in x order; `None` for no value.
    pub points: Vec<(f64, Option<f64>)>,
}

/// A horizontal reference line with a label, e.g. the SLO.
#[derive(Debug, Clone)]
pub struct RefLine {
    /// Where: a y value for horizontal lines, an x value for vertical ones.
    pub at: f64,
    /// Label drawn beside it.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
}

/// A chart over numeric x and y axes.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Title drawn on top and used as the accessible name.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// X ticks with their labels; empty: evenly spaced numbers.
    pub x_ticks: Vec<(f64, String)>,
    /// X range; `None`: the data's.
    pub x_range: Option<(f64, f64)>,
    /// Top of the y axis; `None`: the data's maximum (values above it are clipped to it).
    pub y_max: Option<f64>,
    /// The series.
    pub series: Vec<Series>,
    /// Shaded x ranges, with one legend name for them all.
    pub bands: Vec<(f64, f64)>,
    /// Legend name of the bands.
    pub band_label: String,
    /// Horizontal reference lines.
    pub h_lines: Vec<RefLine>,
    /// Vertical reference lines.
    pub v_lines: Vec<RefLine>,
}

/// Escapes text for XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A "nice" step (1, 2 or 5 × 10^k) that cuts `span` into about `count` parts.
fn nice_step(span: f64, count: f64) -> f64 {
    if !(span > 0.0 && span.is_finite()) {
        return 1.0;
    }
    let raw = span / count;
    let magnitude = 10f64.powf(raw.log10().floor());
    let r = raw / magnitude;
    let nice = if r <= 1.0 {
        1.0
    } else if r <= 2.0 {
        2.0
    } else if r <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A number for an axis label: no trailing zeros, thousands as `k`.
fn tick_label(v: f64, step: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{}k", trim(v / 1000.0, step / 1000.0))
    } else {
        trim(v, step)
    }
}

fn trim(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10() - 1e-9).ceil() as usize
    };
    format!("{v:.decimals$}")
}

impl Chart {
    fn x_extent(&self) -> (f64, f64) {
        if let Some(r) = self.x_range {
            return r;
        }
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0));
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        if lo.is_finite() && hi > lo {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 0.5, lo + 0.5)
        } else {
            (0.0, 1.0)
        }
    }

    fn y_top(&self) -> f64 {
        if let Some(m) = self.y_max.filter(|m| *m > 0.0 && m.is_finite()) {
            return m;
        }
        let data = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1))
            .chain(self.h_lines.iter().map(|l| l.at))
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        if data > 0.0 { data * 1.08 } else { 1.0 }
    }

    /// Points drawn: series points with a value, for tests and the browser check.
    pub fn drawn_points(&self) -> usize {
        self.series
            .iter()
            .map(|s| s.points.iter().filter(|p| p.1.is_some()).count())
            .sum()
    }

    /// The chart as an `<svg>` element (class `chart`).
    pub fn render(&self) -> String {
        let (x0, x1) = self.x_extent();
        let y1 = self.y_top();
        let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
        let sy = |y: f64| TOP + ph - (y.clamp(0.0, y1) / y1) * ph;
        let mut o = String::new();
        let title = escape(&self.title);
        let _ = write!(
            o,
            r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}" data-points="{}"><title>{title}</title>"#,
            self.drawn_points()
        );
        let _ = write!(
            o,
            r##"<text x="{LEFT}" y="18" font-size="14" font-weight="600" fill="#222">{title}</text>"##
        );
        // Bands under everything.
        for &(a, b) in &self.bands {
            let (a, b) = (a.max(x0), b.min(x1));
            if b > a {
                let _ = write!(
                    o,
                    r##"<rect class="band" x="{:.1}" y="{TOP}" width="{:.1}" height="{ph}" fill="#e8eef7"/>"##,
                    sx(a),
                    sx(b) - sx(a)
                );
            }
        }
        // Grid and y ticks.
        let ystep = nice_step(y1, 5.0);
        let mut y = 0.0;
        while y <= y1 + ystep * 1e-9 {
            let py = sy(y);
            let _ = write!(
                o,
                r##"<line x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                py + 4.0,
                tick_label(y, ystep)
            );
            y += ystep;
        }
        // X ticks.
        let ticks: Vec<(f64, String)> = if self.x_ticks.is_empty() {
            let step = nice_step(x1 - x0, 8.0);
            let mut v = (x0 / step).ceil() * step;
            let mut t = Vec::new();
            while v <= x1 + step * 1e-9 {
                t.push((v, tick_label(v, step)));
                v += step;
            }
            t
        } else {
            self.x_ticks.clone()
        };
        for (x, label) in ticks.iter().filter(|t| t.0 >= x0 && t.0 <= x1) {
            let px = sx(*x);
            let _ = write!(
                o,
                r##"<line x1="{px:.1}" x2="{px:.1}" y1="{:.1}" y2="{:.1}" stroke="#999"/><text x="{px:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
                TOP + ph,
                TOP + ph + 4.0,
                TOP + ph + 16.0,
                escape(label)
            );
        }
        // Axes and their labels.
        let _ = write!(
            o,
            r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{:.1}" stroke="#444"/><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#444"/>"##,
            TOP + ph,
            LEFT + pw,
            TOP + ph,
            TOP + ph
        );
        let _ = write!(
            o,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="middle" fill="#333">{}</text><text transform="translate(14 {:.1}) rotate(-90)" font-size="12" text-anchor="middle" fill="#333">{}</text>"##,
            LEFT + pw / 2.0,
            HEIGHT - 8.0,
            escape(&self.x_label),
            TOP + ph / 2.0,
            escape(&self.y_label)
        );
        // Series.
        for s in &self.series {
            match s.mark {
                Mark::Line | Mark::Step => {
                    let mut runs: Vec<String> = Vec::new();
                    let mut current = String::new();
                    let mut last_y: Option<f64> = None;
                    for &(x, y) in &s.points {
                        match y {
                            Some(y) if y.is_finite() => {
                                if let (Mark::Step, Some(ly)) = (s.mark, last_y) {
                                    let _ = write!(current, "{:.1},{:.1} ", sx(x), sy(ly));
                                }
                                let _ = write!(current, "{:.1},{:.1} ", sx(x), sy(y));
                                last_y = Some(y);
                            }
                            _ => {
                                if !current.is_empty() {
                                    runs.push(std::mem::take(&mut current));
                                }
                                last_y = None;
                            }
                        }
                    }
                    if !current.is_empty() {
                        runs.push(current);
                    }
                    for run in runs {
                        let _ = write!(
                            o,
                            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="1.6" points="{}"/>"#,
                            s.color,
                            run.trim_end()
                        );
                    }
                }
                Mark::Dots => {
                    for &(x, y) in &s.points {
                        if let Some(y) = y.filter(|y| y.is_finite()) {
                            let _ = write!(
                                o,
                                r#"<circle class="series" cx="{:.1}" cy="{:.1}" r="3" fill="{}"/>"#,
                                sx(x),
                                sy(y),
                                s.color
                            );
                        }
                    }
                }
            }
        }
        for l in &self.h_lines {
            let py = sy(l.at);
            let _ = write!(
                o,
                r#"<line x1="{LEFT}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}" stroke="{}" stroke-dasharray="6 4" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="{}">{}</text>"#,
                LEFT + pw,
                l.color,
                LEFT + pw - 4.0,
                py - 4.0,
                l.color,
                escape(&l.label)
            );
        }
        for l in &self.v_lines {
            if l.at < x0 || l.at > x1 {
                continue;
            }
            let px = sx(l.at);
            let _ = write!(
                o,
                r#"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{:.1}" stroke="{}" stroke-dasharray="6 4" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="11" fill="{}">{}</text>"#,
                TOP + ph,
                l.color,
                px + 4.0,
                TOP + 12.0,
                l.color,
                escape(&l.label)
            );
        }
        // Legend, top right.
        let mut entries: Vec<(&str, String)> = self
            .series
            .iter()
            .map(|s| (s.color, s.name.clone()))
            .collect();
        if !self.bands.is_empty() && !self.band_label.is_empty() {
            entries.push(("#c9d6ea", self.band_label.clone()));
        }
        let mut lx = WIDTH - RIGHT;
        for (color, name) in entries.iter().rev() {
            let w = 22.0 + 6.5 * name.chars().count() as f64;
            lx -= w;
            let _ = write!(
                o,
                r##"<rect x="{lx:.1}" y="9" width="12" height="10" fill="{color}"/><text x="{:.1}" y="18" font-size="11" fill="#333">{}</text>"##,
                lx + 16.0,
                escape(name)
            );
        }
        o.push_str("</svg>");
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: Vec<(f64, Option<f64>)>) -> Chart {
        Chart {
            title: "Rate <per> minute".into(),
            x_label: "day".into(),
            y_label: "req/s".into(),
            series: vec![Series {
                name: "rate".into(),
                color: "#1f77b4",
                mark: Mark::Line,
                points,
            }],
            h_lines: vec![RefLine {
                at: 5.0,
                label: "SLO".into(),
                color: "#c00",
            }],
            ..Chart::default()
        }
    }

    #[test]
    fn gaps_split_lines_and_text_is_escaped() {
        let svg = chart(vec![
            (0.0, Some(1.0)),
            (1.0, Some(2.0)),
            (2.0, None),
            (3.0, Some(3.0)),
            (4.0, Some(4.0)),
        ])
        .render();
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains("Rate &lt;per&gt; minute"));
        assert!(svg.contains(r#"data-points="4""#));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn degenerate_data_still_draws_finite_coordinates() {
        for points in [
            vec![],
            vec![(3.0, Some(0.0))],
            vec![(0.0, Some(f64::NAN)), (1.0, None)],
            vec![(0.0, Some(1e12)), (1.0, Some(-5.0))],
        ] {
            let svg = chart(points).render();
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        }
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
        assert_eq!(nice_step(0.3, 5.0), 0.1);
        assert_eq!(tick_label(12_000.0, 2_000.0), "12k");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
    }
}
