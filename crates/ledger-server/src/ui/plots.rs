//! Plots drawn on the server as SVG documents, served from `/ui/t/{tenant}/plots/` (so
//! `img-src 'self'` covers them). Colours and sizes are presentation attributes, never a
//! `style` attribute or element, so a strict `style-src` has nothing to block.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use evidence_core::types::UnixMillis;
use ledger::store::Rail;

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 36.0;
const TOP: f64 = 28.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn frame(title: &str, out: &mut String) {
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{t}"><title>{t}</title><rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/><text x="{LEFT}" y="18" font-family="sans-serif" font-size="13" fill="#1b1f24">{t}</text>"##,
        t = esc(title)
    );
}

fn axes(max: f64, unit: &str, out: &mut String) {
    let y0 = H - BOTTOM;
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y0}" stroke="#4a5360"/><line x1="{LEFT}" y1="{y0}" x2="{}" y2="{y0}" stroke="#4a5360"/><text x="{}" y="{}" font-family="sans-serif" font-size="11" text-anchor="end" fill="#4a5360">{}</text><text x="{}" y="{y0}" font-family="sans-serif" font-size="11" text-anchor="end" fill="#4a5360">0</text>"##,
        W - 8.0,
        LEFT - 4.0,
        TOP + 4.0,
        esc(&format!("{max:.0}{unit}")),
        LEFT - 4.0
    );
}

fn bars(values: &[(String, f64)], unit: &str, fill: &str, out: &mut String) {
    let max = values.iter().map(|v| v.1).fold(0.0_f64, f64::max).max(1.0);
    axes(max, unit, out);
    #[allow(clippy::cast_precision_loss)]
    let n = values.len().max(1) as f64;
    let slot = (W - LEFT - 12.0) / n;
    let plot_h = H - BOTTOM - TOP;
    let label_every = (values.len() / 8).max(1);
    for (i, (label, v)) in values.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let x = LEFT + 4.0 + slot * i as f64;
        let h = plot_h * v / max;
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{fill}"><title>{}: {v}{unit}</title></rect>"#,
            H - BOTTOM - h,
            (slot - 2.0).max(1.0),
            esc(label)
        );
        if i % label_every == 0 {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-family="sans-serif" font-size="10" fill="#4a5360">{}</text>"##,
                x,
                H - BOTTOM + 14.0,
                esc(label)
            );
        }
    }
}

fn empty(message: &str, out: &mut String) {
    let _ =
        write!(out, r##"<text x="{LEFT}" y="{}" font-family="sans-serif" font-size="13" fill="#4a5360">{}</text>"##, H / 2.0, esc(message));
}

/// Claims appended per hour over the last 24 hours before `now`.
pub(crate) fn claims_per_hour(per_hour: &BTreeMap<i64, u64>, now: UnixMillis) -> String {
    let mut out = String::new();
    frame("Claims appended per hour, last 24 hours (UTC)", &mut out);
    let this_hour = now.0.div_euclid(3_600_000);
    #[allow(clippy::cast_precision_loss)]
    let values: Vec<(String, f64)> = (this_hour - 23..=this_hour)
        .map(|h| (format!("{:02}h", h.rem_euclid(24)), per_hour.get(&h).copied().unwrap_or(0) as f64))
        .collect();
    bars(&values, "", "#0b5cad", &mut out);
    out.push_str("</svg>");
    out
}

/// Seconds from seal to anchor per rail, for the checkpoints given (checkpoint order).
pub(crate) fn anchor_latency(points: &[(Rail, u64, f64)]) -> String {
    let mut out = String::new();
    frame("Anchoring latency per rail (seconds from seal to anchor, recent checkpoints)", &mut out);
    if points.is_empty() {
        empty("no anchored checkpoint yet", &mut out);
        out.push_str("</svg>");
        return out;
    }
    let max = points.iter().map(|p| p.2).fold(0.0_f64, f64::max).max(1.0);
    axes(max, " s", &mut out);
    let (lo, hi) = (points.iter().map(|p| p.1).min().unwrap_or(0), points.iter().map(|p| p.1).max().unwrap_or(0));
    #[allow(clippy::cast_precision_loss)]
    let span = (hi - lo).max(1) as f64;
    let plot_h = H - BOTTOM - TOP;
    for (rail, colour, dash, legend_y) in [(Rail::Tsa, "#0b5cad", "", 18.0), (Rail::Fabric, "#a1150b", " stroke-dasharray=\"5 3\"", 32.0)] {
        let mut pts: Vec<&(Rail, u64, f64)> = points.iter().filter(|p| p.0 == rail).collect();
        if pts.is_empty() {
            continue;
        }
        pts.sort_by_key(|p| p.1);
        #[allow(clippy::cast_precision_loss)]
        let path: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", LEFT + 4.0 + (W - LEFT - 16.0) * (p.1 - lo) as f64 / span, H - BOTTOM - plot_h * p.2 / max))
            .collect();
        let name = match rail {
            Rail::Tsa => "TSA",
            Rail::Fabric => "Fabric",
        };
        let _ = write!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{legend_y}" font-family="sans-serif" font-size="11" fill="{colour}">{name}</text>"#,
            path.join(" "),
            W - 60.0
        );
    }
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="{}" font-family="sans-serif" font-size="10" fill="#4a5360">checkpoint {lo}</text><text x="{}" y="{}" font-family="sans-serif" font-size="10" text-anchor="end" fill="#4a5360">checkpoint {hi}</text>"##,
        H - BOTTOM + 14.0,
        W - 8.0,
        H - BOTTOM + 14.0
    );
    out.push_str("</svg>");
    out
}

/// Rows refused at ingest, by reason, and the files refused.
pub(crate) fn refusals(by_reason: &BTreeMap<String, u64>, files: u64) -> String {
    let mut out = String::new();
    frame(&format!("Refusals at ingest by reason ({files} files refused)"), &mut out);
    if by_reason.is_empty() {
        empty("no refusal recorded", &mut out);
    } else {
        #[allow(clippy::cast_precision_loss)]
        let values: Vec<(String, f64)> = by_reason.iter().map(|(k, n)| (k.clone(), *n as f64)).collect();
        bars(&values, "", "#7a4a00", &mut out);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_have_no_style_and_escape_labels() {
        let mut m = BTreeMap::new();
        m.insert("<script>".to_owned(), 3);
        let svgs = [
            refusals(&m, 1),
            claims_per_hour(&BTreeMap::from([(10, 5)]), UnixMillis(10 * 3_600_000)),
            anchor_latency(&[(Rail::Tsa, 1, 2.0), (Rail::Fabric, 2, 3.0)]),
            anchor_latency(&[]),
        ];
        for s in &svgs {
            assert!(!s.contains("style"), "{s}");
            assert!(!s.contains("<script"), "{s}");
            assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        }
        assert!(svgs[0].contains("&lt;script&gt;"));
        assert!(svgs[1].contains("<title>10h: 5</title>"));
    }
}
