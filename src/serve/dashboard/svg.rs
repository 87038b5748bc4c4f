//! The dashboard's charts as inline SVG: horizontal stacked bars (statuses by section,
//! reports by timeliness) and columns (the share on track over quarters).
//!
//! Hand-written rather than drawn with `plotters`: the charts are a few dozen rectangles
//! and labels, and plotters' SVG backend measures its text through its font stack
//! (font-kit / ttf-parser), a large dependency for this; the browser lays the text out
//! here, in the page's own font, so Vietnamese marks render as in the tables.
//!
//! Owns: `Segment`, `stacked_bars`, `columns` and `esc`. Receives: labels, values and
//! colours (`report::Bucket`) from `serve::dashboard`. Hands on: SVG markup as `String`s to
//! `serve::dashboard`'s pages.

use std::fmt::Write as _;

/// One coloured part of a bar.
pub struct Segment<'a> {
    pub value: usize,
    pub color: &'a str,
    pub label: &'a str,
}

/// Text for SVG content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const LABEL_W: f64 = 190.0;
const BAR_W: f64 = 560.0;
const ROW_H: f64 = 30.0;

/// One bar per row, its segments proportional to their values; a legend below.
pub fn stacked_bars(title: &str, rows: &[(String, Vec<Segment<'_>>)]) -> String {
    let legend_h = 26.0;
    let height = rows.len() as f64 * ROW_H + legend_h + 10.0;
    let width = LABEL_W + BAR_W + 60.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-label="{}">"#,
        esc(title)
    );
    for (i, (label, segments)) in rows.iter().enumerate() {
        let y = i as f64 * ROW_H + 4.0;
        let total: usize = segments.iter().map(|g| g.value).sum();
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end" font-size="13">{}</text>"#,
            LABEL_W - 8.0,
            y + 16.0,
            esc(label)
        );
        let mut x = LABEL_W;
        for g in segments.iter().filter(|g| g.value > 0) {
            let w = BAR_W * g.value as f64 / total.max(1) as f64;
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="22" fill="{}" stroke="#fff"><title>{}: {}</title></rect>"##,
                g.color,
                esc(g.label),
                g.value
            );
            if w >= 22.0 {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="12">{}</text>"#,
                    x + w / 2.0,
                    y + 15.0,
                    g.value
                );
            }
            x += w;
        }
        let _ = write!(s, r#"<text x="{:.1}" y="{}" font-size="12">{total}</text>"#, LABEL_W + BAR_W + 6.0, y + 15.0);
    }
    // The legend: every colour once, in the order given.
    let mut x = LABEL_W;
    let y = rows.len() as f64 * ROW_H + 10.0;
    let mut seen: Vec<&str> = Vec::new();
    for g in rows.iter().flat_map(|(_, segs)| segs.iter()) {
        if seen.contains(&g.label) {
            continue;
        }
        seen.push(g.label);
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{y}" width="12" height="12" fill="{}" stroke="#888"/><text x="{:.1}" y="{}" font-size="12">{}</text>"##,
            g.color,
            x + 16.0,
            y + 11.0,
            esc(g.label)
        );
        x += 28.0 + g.label.chars().count() as f64 * 6.6;
    }
    s.push_str("</svg>");
    s
}

/// One column per point (a share from 0 to 1, or none), its percent above it.
pub fn columns(title: &str, points: &[(String, Option<f64>)]) -> String {
    let (plot_h, top, bottom) = (180.0, 20.0, 30.0);
    let col_w = 70.0;
    let left = 40.0;
    let width = left + points.len().max(1) as f64 * col_w + 10.0;
    let height = top + plot_h + bottom;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" aria-label="{}">"#,
        esc(title)
    );
    for pct in [0, 50, 100] {
        let y = top + plot_h * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{:.1}" y1="{y}" y2="{y}" stroke="#ccc"/><text x="{}" y="{}" text-anchor="end" font-size="11">{pct}%</text>"##,
            width - 10.0,
            left - 4.0,
            y + 4.0
        );
    }
    for (i, (label, share)) in points.iter().enumerate() {
        let x = left + i as f64 * col_w + 12.0;
        if let Some(v) = share {
            let h = plot_h * v.clamp(0.0, 1.0);
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="#4472C4"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"##,
                top + plot_h - h,
                col_w - 24.0,
                esc(label),
                super::pct(Some(*v)),
                x + (col_w - 24.0) / 2.0,
                top + plot_h - h - 4.0,
                super::pct(Some(*v))
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12">{}</text>"#,
            x + (col_w - 24.0) / 2.0,
            top + plot_h + 18.0,
            esc(label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_proportional_and_text_is_escaped() {
        let rows = vec![(
            "I. Chính quyền số <&>".to_string(),
            vec![
                Segment { value: 3, color: "#C6EFCE", label: "Đạt" },
                Segment { value: 1, color: "#FFC7CE", label: "Chậm" },
                Segment { value: 0, color: "#F4B183", label: "Thiếu" },
            ],
        )];
        let svg = stacked_bars("Tình trạng", &rows);
        assert!(svg.contains("Chính quyền số &lt;&amp;&gt;"), "{svg}");
        assert!(svg.contains(r#"width="420.0""#) && svg.contains(r#"width="140.0""#), "{svg}");
        assert!(svg.contains("<title>Đạt: 3</title>"));
        assert!(!svg.contains("<title>Thiếu"), "an empty segment was drawn");
        assert!(svg.contains(">Thiếu</text>"), "the legend lists every status given");
    }

    #[test]
    fn columns_skip_quarters_without_a_share() {
        let svg = columns("Xu hướng", &[("Quý I/2024".into(), None), ("Quý II/2024".into(), Some(0.5))]);
        assert_eq!(svg.matches("<rect").count(), 1);
        assert!(svg.contains("<title>Quý II/2024: 50%</title>"), "{svg}");
    }
}
