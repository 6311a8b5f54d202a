//! Rendering a [`ReportInput`] into an unsigned PDF: deterministic, tagged, searchable, with
//! vector plots and the bundles attached.
//!
//! The output depends on the input alone: no clock, no randomness, no system fonts
//! (the fonts are embedded in the binary), and krilla derives the document id from the
//! content. Same input, same bytes: `tests/render.rs` checks it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use evidence_core::types::UnixMillis;
use krilla::configure::{ConfigurationBuilder, PdfVersion};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::metadata::{DateTime, Metadata};
use krilla::{Document, SerializeSettings};
use sha2::Digest as _;

use crate::fonts::{Face, FontError, Fonts};
use crate::layout::{A4, A4_LANDSCAPE, ArtifactKind, BLACK, Doc, GREY, Item, Kind, LIGHT, NodeId, Owner, RED, Rgb, grouped_hex, pt, wrap};
use crate::model::{AnchorState, Date, Finding, InputError, Rail, ReportInput, Status};

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The input has a value of the wrong shape.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The embedded fonts are missing.
    #[error(transparent)]
    Font(#[from] FontError),
    /// An attachment's MIME type is not `type/subtype`.
    #[error("attachment {name:?}: MIME type {mime:?} is not type/subtype")]
    MimeType {
        /// The attachment.
        name: String,
        /// Its MIME type.
        mime: String,
    },
    /// The PDF engine refused the document (a bug here, not bad input).
    #[error("the PDF engine (krilla) refused the document: {detail}")]
    Engine {
        /// krilla's error, as it describes it.
        detail: String,
    },
}

/// An unsigned report.
#[derive(Clone, Debug)]
pub struct RenderedReport {
    /// The PDF bytes.
    pub pdf: Vec<u8>,
    /// SHA-256 of `pdf` (the `report_issued` claim's "before signing" hash).
    pub sha256: [u8; 32],
    /// Number of pages.
    pub pages: usize,
}

/// Renders the report (see the crate docs for what it contains).
///
/// # Errors
/// [`RenderError`]: bad input shapes first ([`ReportInput::validate`]).
pub fn render(input: &ReportInput) -> Result<RenderedReport, RenderError> {
    input.validate()?;
    let fonts = Fonts::load()?;
    let mut doc = Doc::new();
    let mut r = R { doc: &mut doc, fonts: &fonts, input };
    r.cover();
    r.summary();
    r.findings_table();
    r.retractions();
    r.how_to_verify();
    r.attachments();
    r.furniture();
    let pages = doc.pages.len();

    let configuration = ConfigurationBuilder::new()
        .with_version(PdfVersion::Pdf20)
        .finish()
        .map_err(|e| RenderError::Engine { detail: format!("{e:?}") })?;
    let settings = SerializeSettings { enable_tagging: true, configuration, ..SerializeSettings::default() };
    let mut document = Document::new_with(settings);
    let created = pdf_date(input.generated_at);
    let title = format!("Findings report: tenant {}, {} to {}", input.tenant, input.period.from, input.period.to);
    let mut meta = Metadata::new()
        .title(title)
        .description(format!(
            "Signed evidence report cut at checkpoint {} of ledger {}{}",
            input.checkpoint.seq,
            input.ledger,
            if input.development { " (DEVELOPMENT: not evidence)" } else { "" }
        ))
        .language("en".into())
        .creator("evidence-ledger reports".into())
        .producer(format!("evidence-ledger reports {}", env!("CARGO_PKG_VERSION")))
        .creation_date(created)
        .document_id(format!("{}/{}/{}", input.ledger, input.tenant, input.checkpoint.checkpoint_hash_hex));
    meta = meta.keywords(vec!["evidence".into(), "findings".into(), input.tenant.clone()]);
    document.set_metadata(meta);
    doc.emit(&mut document, &fonts);
    for a in &input.attachments {
        let mime =
            MimeType::new(&a.mime_type).ok_or_else(|| RenderError::MimeType { name: a.file_name.clone(), mime: a.mime_type.clone() })?;
        document.embed_file(EmbeddedFile {
            path: a.file_name.clone(),
            mime_type: Some(mime),
            description: Some(a.description.clone()),
            association_kind: AssociationKind::Supplement,
            data: a.bytes.clone().into(),
            modification_date: Some(created),
            compress: Some(true),
            location: None,
        });
    }
    let pdf = document.finish().map_err(|e| RenderError::Engine { detail: format!("{e:?}") })?;
    let sha256 = sha2::Sha256::digest(&pdf).into();
    Ok(RenderedReport { pdf, sha256, pages })
}

fn pdf_date(t: UnixMillis) -> DateTime {
    let d = Date::of(t);
    let secs = t.0.div_euclid(1000).rem_euclid(86_400);
    let h = u8::try_from(secs / 3600).unwrap_or(0);
    let m = u8::try_from(secs / 60 % 60).unwrap_or(0);
    let s = u8::try_from(secs % 60).unwrap_or(0);
    DateTime::new(d.year).month(d.month).day(d.day).hour(h).minute(m).second(s).utc_offset_hour(0).utc_offset_minute(0)
}

/// `1,250.00` (two decimals, thousands separated).
pub(crate) fn money(cents: i64) -> String {
    let neg = cents < 0;
    let c = cents.unsigned_abs();
    let whole = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{:02}", if neg { "-" } else { "" }, c % 100)
}

fn time(t: UnixMillis) -> String {
    t.to_rfc3339()
}

const MARGIN: f32 = 48.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = 56.0;

struct R<'a> {
    doc: &'a mut Doc,
    fonts: &'a Fonts,
    input: &'a ReportInput,
}

/// A running column of text on portrait pages.
struct Flow {
    page: usize,
    y: f32,
}

impl R<'_> {
    // A text run is its page, position, face, size, text, colour and structure owner.
    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, page: usize, x: f32, y: f32, face: Face, size: f32, text: &str, color: Rgb, owner: Owner) {
        self.doc.push(page, Item::Text { x, y, face, size, text: text.to_owned(), color, owner });
    }

    fn start_flow(&mut self) -> Flow {
        let page = self.doc.new_page(A4);
        Flow { page, y: TOP }
    }

    fn ensure(&mut self, f: &mut Flow, h: f32) {
        if f.y + h > A4.1 - BOTTOM {
            f.page = self.doc.new_page(A4);
            f.y = TOP;
        }
    }

    fn heading(&mut self, f: &mut Flow, parent: NodeId, level: u16, text: &str) {
        let size = match level {
            1 => 18.0,
            2 => 13.0,
            _ => 11.0,
        };
        f.y += if level == 1 { 0.0 } else { 8.0 };
        self.ensure(f, size * 2.6);
        let n = self.doc.node(Some(parent), Kind::H(level, text.to_owned()));
        f.y += size;
        self.text(f.page, MARGIN, f.y, Face::SerifBold, size, text, BLACK, Owner::Node(n));
        f.y += size * 0.6;
    }

    /// A wrapped paragraph.
    fn para(&mut self, f: &mut Flow, parent: NodeId, face: Face, size: f32, indent: f32, text: &str) {
        let n = self.doc.node(Some(parent), if matches!(face, Face::Mono | Face::MonoBold) { Kind::Code } else { Kind::P });
        let lh = size * 1.3;
        let width = A4.0 - 2.0 * MARGIN - indent;
        for line in wrap(self.fonts, face, size, width, text) {
            self.ensure(f, lh);
            f.y += lh;
            self.text(f.page, MARGIN + indent, f.y, face, size, &line, BLACK, Owner::Node(n));
        }
        f.y += size * 0.5;
    }

    /// A key: value line (the value wrapped in its own column).
    fn kv(&mut self, f: &mut Flow, parent: NodeId, key: &str, value: &str, mono: bool) {
        let size = 9.5;
        let lh = size * 1.35;
        let key_w = 150.0;
        let (face, vsize) = if mono { (Face::Mono, 8.0) } else { (Face::Serif, size) };
        let lines = wrap(self.fonts, face, vsize, A4.0 - 2.0 * MARGIN - key_w, value);
        self.ensure(f, lh * pt(lines.len().min(6)));
        let n = self.doc.node(Some(parent), Kind::P);
        f.y += lh;
        self.text(f.page, MARGIN, f.y, Face::SerifBold, size, key, BLACK, Owner::Node(n));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.ensure(f, lh);
                f.y += lh;
            }
            self.text(f.page, MARGIN + key_w, f.y, face, vsize, line, BLACK, Owner::Node(n));
        }
    }

    fn cover(&mut self) {
        let input = self.input;
        let sec = self.doc.node(None, Kind::Section);
        let mut f = self.start_flow();
        f.y += 40.0;
        self.heading(&mut f, sec, 1, "Findings report");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            11.0,
            0.0,
            &format!("Tenant {} of ledger {}, {} to {}.", input.tenant, input.ledger, input.period.from, input.period.to),
        );
        if input.development {
            self.para(
                &mut f,
                sec,
                Face::SerifBold,
                11.0,
                0.0,
                "DEVELOPMENT: not evidence. This report was produced with development trust material (development TSA, \
                 development Fabric emulator, development signing CA); anyone holding those files can forge it.",
            );
        }
        let c = &input.checkpoint;
        self.heading(&mut f, sec, 2, "Report");
        self.kv(&mut f, sec, "Tenant", &input.tenant, false);
        self.kv(&mut f, sec, "Ledger", &input.ledger, false);
        self.kv(&mut f, sec, "Period", &format!("{} to {} (both days included)", input.period.from, input.period.to), false);
        self.kv(&mut f, sec, "Generated at", &format!("{} (the seal time of the checkpoint below)", time(input.generated_at)), false);
        let (mut active, mut retracted, mut superseded) = (0, 0, 0);
        for x in &input.findings {
            match x.status {
                Status::Active => active += 1,
                Status::Retracted { .. } => retracted += 1,
                Status::Superseded { .. } => superseded += 1,
            }
        }
        self.kv(
            &mut f,
            sec,
            "Findings",
            &format!("{} listed: {active} active, {retracted} retracted, {superseded} superseded", input.findings.len()),
            false,
        );
        self.kv(&mut f, sec, "Attachments", &format!("{} evidence bundles embedded in this PDF", input.attachments.len()), false);
        self.heading(&mut f, sec, 2, "Cut at checkpoint");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "Every claim listed in this report is a leaf of the tenant's log at or below this checkpoint's tree size.",
        );
        self.kv(&mut f, sec, "Checkpoint", &format!("seq {}, tree size {}", c.seq, c.tree_size), false);
        self.kv(&mut f, sec, "Root hash", &grouped_hex(&c.root_hex), true);
        self.kv(&mut f, sec, "Checkpoint hash", &grouped_hex(&c.checkpoint_hash_hex), true);
        self.kv(&mut f, sec, "Sealed at", &time(c.sealed_at), false);
        match &c.tsa {
            Some(t) => {
                self.kv(&mut f, sec, "TSA genTime", &time(t.gen_time), false);
                self.kv(&mut f, sec, "TSA", &t.name, false);
            }
            None => self.kv(&mut f, sec, "TSA genTime", "not anchored yet", false),
        }
        match &c.fabric {
            Some(x) => {
                self.kv(&mut f, sec, "Fabric block", &x.block.to_string(), false);
                let tx = x.tx_id.as_deref().map_or_else(|| "not named by the stored receipt".to_owned(), grouped_hex);
                self.kv(&mut f, sec, "Fabric transaction", &tx, true);
            }
            None => self.kv(&mut f, sec, "Fabric block", "not anchored yet", false),
        }
        self.heading(&mut f, sec, 2, "Signature");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "This PDF carries a PAdES baseline B-T signature (ETSI.CAdES.detached) over the whole document, with an RFC 3161 \
             signature time-stamp. Any PDF reader that validates signatures shows whether the document changed after signing; \
             page \"How to verify this report\" says how to check each listed claim against the ledger.",
        );
    }

    fn summary(&mut self) {
        let input = self.input;
        let sec = self.doc.node(None, Kind::Section);
        let mut f = self.start_flow();
        self.heading(&mut f, sec, 1, "Summary");
        let w = A4.0 - 2.0 * MARGIN;

        let mut per_analyzer: BTreeMap<&str, (f64, i64)> = BTreeMap::new();
        for x in &input.findings {
            let e = per_analyzer.entry(x.analyzer.as_str()).or_default();
            e.0 += 1.0;
            if matches!(x.status, Status::Active) {
                e.1 = e.1.saturating_add(x.at_stake_cents.unwrap_or(0));
            }
        }
        let bars: Vec<(String, f64, String)> = per_analyzer.iter().map(|(k, (n, _))| ((*k).to_owned(), *n, format!("{n}"))).collect();
        self.bar_chart(&mut f, sec, w, "Findings per analyzer (all statuses)", &bars);

        let amounts: Vec<(String, f64, String)> = per_analyzer
            .iter()
            .map(|(k, (_, c))| {
                #[allow(clippy::cast_precision_loss)]
                let v = *c as f64 / 100.0;
                ((*k).to_owned(), v, format!("{} {}", money(*c), input.currency))
            })
            .collect();
        self.bar_chart(&mut f, sec, w, &format!("Amount at stake per analyzer, active findings ({})", input.currency), &amounts);

        self.week_chart(&mut f, sec, w);
        self.delay_chart(&mut f, sec, w);
    }

    /// Horizontal bars, one per label.
    fn bar_chart(&mut self, f: &mut Flow, parent: NodeId, w: f32, title: &str, bars: &[(String, f64, String)]) {
        let row = 14.0;
        let h = 30.0 + row * pt(bars.len().max(1));
        self.ensure(f, h + 10.0);
        let alt = format!(
            "{title}: {}",
            if bars.is_empty() {
                "no findings".to_owned()
            } else {
                bars.iter().map(|(k, _, v)| format!("{k} {v}")).collect::<Vec<_>>().join("; ")
            }
        );
        let fig = self.doc.node(Some(parent), Kind::Figure(alt));
        let own = Owner::Node(fig);
        f.y += 16.0;
        self.text(f.page, MARGIN, f.y, Face::SerifBold, 10.0, title, BLACK, own);
        f.y += 8.0;
        let label_w = 110.0;
        let value_w = 110.0;
        let bar_w = w - label_w - value_w;
        let max = bars.iter().map(|b| b.1.abs()).fold(0.0_f64, f64::max);
        let top = f.y;
        for (i, (k, v, shown)) in bars.iter().enumerate() {
            let y = top + row * pt(i);
            self.text(f.page, MARGIN, y + 10.0, Face::Serif, 8.5, k, BLACK, own);
            #[allow(clippy::cast_possible_truncation)]
            let len = if max > 0.0 { (v.abs() / max) as f32 * bar_w } else { 0.0 };
            self.doc.push(
                f.page,
                Item::Rect { x: MARGIN + label_w, y: y + 2.0, w: len.max(0.5), h: row - 4.0, color: Rgb(70, 110, 160), owner: own },
            );
            self.text(f.page, MARGIN + label_w + len + 4.0, y + 10.0, Face::Serif, 8.5, shown, BLACK, own);
        }
        if bars.is_empty() {
            self.text(f.page, MARGIN, top + 10.0, Face::SerifItalic, 8.5, "no findings in this period", GREY, own);
        }
        let bottom = top + row * pt(bars.len().max(1));
        self.doc.push(
            f.page,
            Item::Line { points: vec![(MARGIN + label_w, top), (MARGIN + label_w, bottom)], width: 0.6, color: BLACK, owner: own },
        );
        f.y = bottom + 6.0;
    }

    /// Findings per ISO week of the period (columns).
    fn week_chart(&mut self, f: &mut Flow, parent: NodeId, w: f32) {
        let input = self.input;
        let first = input.period.from.week_start();
        let last = input.period.to.week_start();
        let weeks = usize::try_from((last.days_since_epoch() - first.days_since_epoch()) / 7 + 1).unwrap_or(1).min(520);
        let mut counts = vec![0u32; weeks];
        let mut outside = 0u32;
        for x in &input.findings {
            let d = x.date.week_start().days_since_epoch() - first.days_since_epoch();
            match usize::try_from(d / 7) {
                Ok(i) if d >= 0 && i < weeks => counts[i] += 1,
                _ => outside += 1,
            }
        }
        let h = 150.0;
        self.ensure(f, h + 30.0);
        let week_label = |i: usize| {
            let d = first.days_since_epoch() + 7 * i64::try_from(i).unwrap_or(0);
            Date::of(UnixMillis(d * 86_400_000)).to_string()
        };
        let mut alt = format!("Findings per week (weeks start on Monday), {weeks} weeks: ");
        alt.push_str(
            &counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| format!("week of {} {c}", week_label(i)))
                .collect::<Vec<_>>()
                .join("; "),
        );
        if outside > 0 {
            let _ = write!(alt, "; {outside} dated outside the period");
        }
        let fig = self.doc.node(Some(parent), Kind::Figure(alt));
        let own = Owner::Node(fig);
        f.y += 16.0;
        self.text(
            f.page,
            MARGIN,
            f.y,
            Face::SerifBold,
            10.0,
            "Findings per week (by the finding's business date; weeks start on Monday)",
            BLACK,
            own,
        );
        let top = f.y + 14.0;
        let axis_x = MARGIN + 30.0;
        let plot_w = w - 30.0;
        let plot_h = h - 40.0;
        let base = top + plot_h;
        let max = counts.iter().copied().max().unwrap_or(0).max(1);
        self.doc.push(
            f.page,
            Item::Line { points: vec![(axis_x, top), (axis_x, base), (axis_x + plot_w, base)], width: 0.6, color: BLACK, owner: own },
        );
        // Y ticks: 0, max/2, max.
        for t in [0, max.div_ceil(2), max] {
            #[allow(clippy::cast_precision_loss)]
            let y = base - plot_h * (t as f32 / max as f32);
            self.doc.push(f.page, Item::Line { points: vec![(axis_x - 3.0, y), (axis_x, y)], width: 0.6, color: BLACK, owner: own });
            self.text(f.page, MARGIN, y + 3.0, Face::Serif, 7.5, &t.to_string(), BLACK, own);
        }
        let col = plot_w / pt(weeks);
        let label_every = (weeks / 8).max(1);
        for (i, c) in counts.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let bh = plot_h * (*c as f32 / max as f32);
            let x = axis_x + col * pt(i);
            if *c > 0 {
                self.doc.push(
                    f.page,
                    Item::Rect { x: x + col * 0.15, y: base - bh, w: col * 0.7, h: bh, color: Rgb(70, 110, 160), owner: own },
                );
            }
            if i % label_every == 0 {
                self.text(f.page, x, base + 10.0, Face::Serif, 6.5, &week_label(i), BLACK, own);
            }
        }
        if outside > 0 {
            self.text(
                f.page,
                axis_x,
                base + 20.0,
                Face::SerifItalic,
                7.5,
                &format!("{outside} finding(s) dated outside the period are not plotted"),
                GREY,
                own,
            );
        }
        f.y = base + 26.0;
    }

    /// Anchoring delay (seal to anchor) per checkpoint, one line per rail.
    fn delay_chart(&mut self, f: &mut Flow, parent: NodeId, w: f32) {
        let input = self.input;
        let mut per_rail: BTreeMap<Rail, Vec<(u64, u64)>> = BTreeMap::new();
        for d in &input.anchor_delays {
            per_rail.entry(d.rail).or_default().push((d.checkpoint_seq, d.delay_ms));
        }
        for v in per_rail.values_mut() {
            v.sort_unstable();
        }
        let h = 170.0;
        self.ensure(f, h + 30.0);
        let mut alt = String::from("Anchoring delay from seal to anchor, seconds, per checkpoint and rail: ");
        let stats: Vec<String> = per_rail
            .iter()
            .map(|(r, v)| {
                let mut d: Vec<u64> = v.iter().map(|p| p.1).collect();
                d.sort_unstable();
                format!("{} {} checkpoints, median {}, max {}", r.name(), d.len(), secs(d[d.len() / 2]), secs(d[d.len() - 1]))
            })
            .collect();
        alt.push_str(if stats.is_empty() { "no anchors in this period" } else { "" });
        alt.push_str(&stats.join("; "));
        let fig = self.doc.node(Some(parent), Kind::Figure(alt));
        let own = Owner::Node(fig);
        f.y += 16.0;
        self.text(
            f.page,
            MARGIN,
            f.y,
            Face::SerifBold,
            10.0,
            "Anchoring delay per rail (seconds from seal to anchor, by checkpoint)",
            BLACK,
            own,
        );
        let top = f.y + 14.0;
        let axis_x = MARGIN + 36.0;
        let plot_w = w - 36.0;
        let plot_h = h - 60.0;
        let base = top + plot_h;
        self.doc.push(
            f.page,
            Item::Line { points: vec![(axis_x, top), (axis_x, base), (axis_x + plot_w, base)], width: 0.6, color: BLACK, owner: own },
        );
        let all: Vec<&(u64, u64)> = per_rail.values().flatten().collect();
        let max_ms = all.iter().map(|p| p.1).max().unwrap_or(0).max(1000);
        let (min_seq, max_seq) = (all.iter().map(|p| p.0).min().unwrap_or(0), all.iter().map(|p| p.0).max().unwrap_or(1));
        let span = (max_seq - min_seq).max(1);
        #[allow(clippy::cast_precision_loss)]
        let px = |seq: u64| axis_x + plot_w * ((seq - min_seq) as f32 / span as f32);
        #[allow(clippy::cast_precision_loss)]
        let py = |ms: u64| base - plot_h * (ms as f32 / max_ms as f32);
        for t in [0, max_ms / 2, max_ms] {
            let y = py(t);
            self.doc.push(f.page, Item::Line { points: vec![(axis_x - 3.0, y), (axis_x, y)], width: 0.6, color: BLACK, owner: own });
            self.text(f.page, MARGIN, y + 3.0, Face::Serif, 7.5, &secs(t), BLACK, own);
        }
        self.text(f.page, axis_x, base + 10.0, Face::Serif, 7.0, &format!("checkpoint {min_seq}"), BLACK, own);
        let right = format!("checkpoint {max_seq}");
        let rw = self.fonts.width(Face::Serif, 7.0, &right);
        self.text(f.page, axis_x + plot_w - rw, base + 10.0, Face::Serif, 7.0, &right, BLACK, own);
        let colors = [Rgb(70, 110, 160), Rgb(200, 110, 30)];
        for (i, (rail, pts)) in per_rail.iter().enumerate() {
            let c = colors[i % colors.len()];
            let points: Vec<(f32, f32)> = pts.iter().map(|(s, d)| (px(*s), py(*d))).collect();
            if points.len() == 1 {
                let (x, y) = points[0];
                self.doc.push(f.page, Item::Rect { x: x - 1.5, y: y - 1.5, w: 3.0, h: 3.0, color: c, owner: own });
            } else {
                self.doc.push(f.page, Item::Line { points, width: 1.0, color: c, owner: own });
            }
            let ly = base + 24.0 + 11.0 * pt(i);
            self.doc.push(f.page, Item::Rect { x: axis_x, y: ly - 6.0, w: 14.0, h: 3.0, color: c, owner: own });
            self.text(f.page, axis_x + 20.0, ly, Face::Serif, 8.0, &stats[i], BLACK, own);
            let _ = rail;
        }
        if per_rail.is_empty() {
            self.text(f.page, axis_x + 6.0, top + 20.0, Face::SerifItalic, 8.0, "no anchors in this period", GREY, own);
        }
        f.y = base + 30.0 + 11.0 * pt(per_rail.len());
    }

    fn findings_table(&mut self) {
        let input = self.input;
        let sec = self.doc.node(None, Kind::Section);
        let cols = columns();
        let size = 7.0;
        let lh = 8.4;
        let pad = 2.5;
        let (pw, ph) = A4_LANDSCAPE;
        let margin = 36.0;
        let body_bottom = ph - 44.0;
        let mut page = self.doc.new_page(A4_LANDSCAPE);
        let mut y = 50.0;
        let h1 = self.doc.node(Some(sec), Kind::H(1, "Findings".into()));
        y += 16.0;
        self.text(page, margin, y, Face::SerifBold, 16.0, "Findings", BLACK, Owner::Node(h1));
        let intro = self.doc.node(Some(sec), Kind::P);
        y += 14.0;
        let intro_text = format!(
            "{} claims, in log order. Staff appear by personnel code only. Each content hash is SHA-256 of the claim's canonical bytes; \
             leaf is its index in tenant {}'s log; checkpoint is the first checkpoint sealing it.",
            input.findings.len(),
            input.tenant
        );
        for line in wrap(self.fonts, Face::Serif, 8.5, pw - 2.0 * margin, &intro_text) {
            self.text(page, margin, y, Face::Serif, 8.5, &line, BLACK, Owner::Node(intro));
            y += 11.0;
        }
        y += 4.0;
        let table = self.doc.node(
            Some(sec),
            Kind::Table(format!(
                "Findings of tenant {} from {} to {}: one row per claim",
                input.tenant, input.period.from, input.period.to
            )),
        );
        let thead = self.doc.node(Some(table), Kind::THead);
        let tbody = self.doc.node(Some(table), Kind::TBody);

        let header_h = lh + 2.0 * pad;
        let draw_header = |r: &mut Self, page: usize, y: f32, tagged: bool| {
            let tr = if tagged { Some(r.doc.node(Some(thead), Kind::Tr)) } else { None };
            r.doc.push(
                page,
                Item::Rect { x: margin, y, w: pw - 2.0 * margin, h: header_h, color: LIGHT, owner: Owner::Artifact(ArtifactKind::Layout) },
            );
            let mut x = margin;
            for c in &cols {
                let owner = match tr {
                    Some(tr) => Owner::Node(r.doc.node(Some(tr), Kind::Th)),
                    None => Owner::Artifact(ArtifactKind::Page),
                };
                r.text(page, x + pad, y + pad + size, Face::SerifBold, size, c.title, BLACK, owner);
                x += c.width;
            }
        };
        draw_header(self, page, y, true);
        y += header_h;

        for (row_i, finding) in input.findings.iter().enumerate() {
            let cells: Vec<Vec<String>> =
                cols.iter().map(|c| wrap(self.fonts, c.face, size, c.width - 2.0 * pad, &(c.value)(finding, input))).collect();
            let n_lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let tr = self.doc.node(Some(tbody), Kind::Tr);
            let tds: Vec<NodeId> = cols.iter().map(|_| self.doc.node(Some(tr), Kind::Td)).collect();
            let mut done = 0;
            while done < n_lines {
                let avail = ((body_bottom - y - 2.0 * pad) / lh).floor();
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let avail = if avail < 1.0 { 0 } else { avail as usize };
                // Start a row on a new page unless it fits, or unless it cannot fit on any page.
                let full_page = ((body_bottom - 50.0 - header_h - 2.0 * pad) / lh).floor();
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let full_page = full_page.max(1.0) as usize;
                if avail == 0 || (done == 0 && avail < n_lines && n_lines <= full_page) {
                    page = self.doc.new_page(A4_LANDSCAPE);
                    y = 50.0;
                    draw_header(self, page, y, false);
                    y += header_h;
                    continue;
                }
                let take = avail.min(n_lines - done);
                let row_h = pt(take) * lh + 2.0 * pad;
                if row_i % 2 == 1 {
                    self.doc.push(
                        page,
                        Item::Rect {
                            x: margin,
                            y,
                            w: pw - 2.0 * margin,
                            h: row_h,
                            color: Rgb(244, 244, 244),
                            owner: Owner::Artifact(ArtifactKind::Layout),
                        },
                    );
                }
                let mut x = margin;
                for (ci, c) in cols.iter().enumerate() {
                    let color = if ci == cols.len() - 1 && !matches!(finding.status, Status::Active) { RED } else { BLACK };
                    for (li, line) in cells[ci].iter().enumerate().skip(done).take(take) {
                        if line.is_empty() {
                            continue;
                        }
                        let ly = y + pad + size + lh * pt(li - done);
                        self.text(page, x + pad, ly, c.face, size, line, color, Owner::Node(tds[ci]));
                    }
                    x += c.width;
                }
                y += row_h;
                self.doc.push(
                    page,
                    Item::Line {
                        points: vec![(margin, y), (pw - margin, y)],
                        width: 0.3,
                        color: GREY,
                        owner: Owner::Artifact(ArtifactKind::Layout),
                    },
                );
                done += take;
            }
        }
        if input.findings.is_empty() {
            let p = self.doc.node(Some(sec), Kind::P);
            self.text(page, margin, y + 14.0, Face::SerifItalic, 9.0, "No findings in this period.", BLACK, Owner::Node(p));
        }
    }

    fn retractions(&mut self) {
        let input = self.input;
        let changed: Vec<&Finding> = input.findings.iter().filter(|x| !matches!(x.status, Status::Active)).collect();
        let sec = self.doc.node(None, Kind::Section);
        let mut f = self.start_flow();
        self.heading(&mut f, sec, 1, "Retractions and supersessions");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "Nothing is ever deleted from or rewritten in the log. A wrong finding is answered by a retraction claim that links it, \
             a corrected one by a supersession claim; the original stays listed, marked as such, and both verify.",
        );
        if changed.is_empty() {
            self.para(&mut f, sec, Face::SerifItalic, 9.5, 0.0, "No listed finding was retracted or superseded.");
        }
        for x in changed {
            let text = match &x.status {
                Status::Retracted { by, reason } => {
                    format!("Claim {} ({}, {}) was RETRACTED by claim {by}. Reason: {reason}", x.leaf_index, x.analyzer, x.rule)
                }
                Status::Superseded { by } => format!("Claim {} ({}, {}) was SUPERSEDED by claim {by}.", x.leaf_index, x.analyzer, x.rule),
                Status::Active => continue,
            };
            self.para(&mut f, sec, Face::Serif, 9.5, 0.0, &text);
        }
    }

    fn how_to_verify(&mut self) {
        let input = self.input;
        let sec = self.doc.node(None, Kind::Section);
        let mut f = self.start_flow();
        self.heading(&mut f, sec, 1, "How to verify this report");
        self.heading(&mut f, sec, 2, "1. The PDF itself");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "The signature covers every byte of this file except the signature value itself. A PDF reader that validates signatures \
             (or pyHanko, or pdfsig) shows whether the document changed after signing, who signed it, and the RFC 3161 signature \
             time-stamp: the signature existed no later than that time.",
        );
        self.para(
            &mut f,
            sec,
            Face::Mono,
            8.0,
            12.0,
            "pyhanko sign validate --trust report-signing-ca.pem --trust tsa-root.pem report.pdf",
        );
        if input.development {
            self.para(
                &mut f,
                sec,
                Face::Serif,
                9.5,
                0.0,
                "The development CA and TSA publish no revocation information: add --no-revocation-check for this report. \
                 ledger-server dev writes both roots under data/dev/.",
            );
        }
        self.heading(&mut f, sec, 2, "2. Each listed claim, against the ledger");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "The evidence bundle of every listed claim is attached to this PDF. Extract them, then check each one offline with the \
             verifier and the ledger's trust file:",
        );
        self.para(&mut f, sec, Face::Mono, 8.0, 12.0, "mkdir bundles && pdfdetach -saveall -o bundles report.pdf");
        let example = input.attachments.first().map_or("claim-N.bundle.json", |a| a.file_name.as_str());
        self.para(&mut f, sec, Face::Mono, 8.0, 12.0, &format!("evidence-verify bundle bundles/{example} --trust trust.json"));
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "Exit status 0: verified; 1: not verified; 2: could not check. The verifier prints every check with its result and reason.",
        );
        self.heading(&mut f, sec, 2, "Where the trust file comes from");
        self.para(&mut f, sec, Face::Serif, 9.5, 0.0, &input.trust_file_source);
        if input.development {
            self.para(
                &mut f,
                sec,
                Face::SerifBold,
                9.5,
                0.0,
                "This report rests on development trust material (trust.json marked \"development\": true): the verifier labels every \
                 result as development-only. It is not evidence.",
            );
        }
        self.heading(&mut f, sec, 2, "What a pass proves");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "For each claim: its bytes (or a commitment to them, when the record is withheld or erased) are leaf N of the tenant's log, \
             which the ledger key sealed in a signed checkpoint; the log only grew between checkpoints; an independent TSA stamped \
             that checkpoint at its genTime; the Fabric channel's peers endorsed and ordered it in the named block. So the claim's \
             bytes existed no later than the TSA genTime and the Fabric block.",
        );
        self.heading(&mut f, sec, 2, "What it does not prove");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "It does not prove that a claim is true, that an analyzer's rule was right, or that the source data was complete. It draws \
             no legal conclusion. A retracted or superseded claim still verifies: its standing is shown in this report and by the \
             retraction or supersession claim, which has its own bundle.",
        );
        self.heading(&mut f, sec, 2, "Tying a row to the ledger");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            "Each table row gives the claim's content hash, its leaf index and its checkpoint; the bundle of the same claim holds the \
             same values, and the verifier checks them. The checkpoint this report was cut at is on the cover page.",
        );
    }

    fn attachments(&mut self) {
        let input = self.input;
        let sec = self.doc.node(None, Kind::Section);
        let mut f = self.start_flow();
        self.heading(&mut f, sec, 1, "Attached evidence bundles");
        self.para(
            &mut f,
            sec,
            Face::Serif,
            9.5,
            0.0,
            &format!(
                "{} files are embedded in this PDF (PDF attachments, relationship Supplement). SHA-256 of each file as attached:",
                input.attachments.len()
            ),
        );
        for a in &input.attachments {
            let digest = hex::encode(sha2::Sha256::digest(&a.bytes));
            self.para(&mut f, sec, Face::SerifBold, 9.0, 0.0, &format!("{} ({} bytes)", a.file_name, a.bytes.len()));
            self.para(&mut f, sec, Face::Serif, 8.5, 12.0, &a.description);
            self.para(&mut f, sec, Face::Mono, 7.5, 12.0, &format!("sha256 {}", grouped_hex(&digest)));
        }
    }

    /// Header (development label) and footer (page N of M) on every page.
    fn furniture(&mut self) {
        let input = self.input;
        let total = self.doc.pages.len();
        for i in 0..total {
            let (w, h) = self.doc.pages[i].size;
            let footer = format!(
                "Findings report, tenant {}, {} to {}, cut at checkpoint {}. Page {} of {total}",
                input.tenant,
                input.period.from,
                input.period.to,
                input.checkpoint.seq,
                i + 1
            );
            let fw = self.fonts.width(Face::Serif, 7.5, &footer);
            self.text(i, (w - fw) / 2.0, h - 24.0, Face::Serif, 7.5, &footer, GREY, Owner::Artifact(ArtifactKind::Footer));
            if input.development {
                let label = "DEVELOPMENT: not evidence";
                let lw = self.fonts.width(Face::SerifBold, 11.0, label);
                self.doc.push(
                    i,
                    Item::Line {
                        points: vec![
                            (w - 30.0 - lw - 8.0, 14.0),
                            (w - 22.0, 14.0),
                            (w - 22.0, 34.0),
                            (w - 30.0 - lw - 8.0, 34.0),
                            (w - 30.0 - lw - 8.0, 14.0),
                        ],
                        width: 1.0,
                        color: RED,
                        owner: Owner::Artifact(ArtifactKind::Header),
                    },
                );
                self.text(i, w - 26.0 - lw, 28.0, Face::SerifBold, 11.0, label, RED, Owner::Artifact(ArtifactKind::Header));
            }
        }
    }
}

fn secs(ms: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let s = ms as f64 / 1000.0;
    if s < 10.0 { format!("{s:.1} s") } else { format!("{s:.0} s") }
}

struct Column {
    title: &'static str,
    width: f32,
    face: Face,
    value: fn(&Finding, &ReportInput) -> String,
}

fn rail_state(f: &Finding) -> String {
    f.anchoring
        .iter()
        .map(|(r, s)| {
            let st = match s {
                AnchorState::Pending => "pending".to_owned(),
                // The block (and the start of the transaction id) on Fabric, once known.
                AnchorState::Anchored if *r == Rail::Fabric && f.fabric.is_some() => {
                    f.fabric.as_ref().map_or_else(String::new, fabric_short)
                }
                AnchorState::Anchored => "anchored".to_owned(),
                AnchorState::Failed(why) => format!("failed ({why})"),
            };
            format!("{}: {st}", if *r == Rail::Tsa { "TSA" } else { r.name() })
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `block N`, and the transaction id's first 12 digits on a second line.
fn fabric_short(x: &crate::model::FabricTx) -> String {
    match &x.tx_id {
        Some(id) => format!("block {}\ntx {}...", x.block, id.chars().take(12).collect::<String>()),
        None => format!("block {}", x.block),
    }
}

fn columns() -> Vec<Column> {
    vec![
        Column { title: "Leaf", width: 30.0, face: Face::Mono, value: |f, _| f.leaf_index.to_string() },
        Column {
            title: "Kind / analyzer / rule",
            width: 96.0,
            face: Face::Serif,
            value: |f, _| format!("{}\n{}\n{}", f.kind, f.analyzer, f.rule),
        },
        Column {
            title: "Staff (code)",
            width: 40.0,
            face: Face::Mono,
            value: |f, _| f.personnel.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>().join("\n"),
        },
        Column {
            title: "Amounts",
            width: 70.0,
            face: Face::Serif,
            value: |f, i| {
                let mut v: Vec<String> = f.at_stake_cents.map(|c| format!("at stake {} {}", money(c), i.currency)).into_iter().collect();
                v.extend(f.amounts.iter().map(|a| format!("{} {}", a.label, money(a.cents))));
                v.join("\n")
            },
        },
        Column {
            title: "Dates",
            width: 64.0,
            face: Face::Serif,
            value: |f, _| {
                let mut v = vec![f.date.to_string()];
                v.extend(f.dates.iter().map(|d| format!("{} {}", d.label, d.date)));
                v.join("\n")
            },
        },
        Column {
            title: "Identifiers",
            width: 84.0,
            face: Face::Serif,
            value: |f, _| {
                f.identifiers
                    .iter()
                    .map(|i| {
                        let (k, v) = i.parts();
                        format!("{k} {v}")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        },
        Column { title: "Content hash", width: 150.0, face: Face::Mono, value: |f, _| grouped_hex(&f.content_hash_hex) },
        Column { title: "Checkpoint", width: 42.0, face: Face::Mono, value: |f, _| f.checkpoint_seq.to_string() },
        Column {
            title: "TSA genTime",
            width: 58.0,
            face: Face::Serif,
            value: |f, _| f.tsa_gen_time.map_or_else(|| "not yet".into(), |t| t.to_rfc3339().replacen('T', " ", 1)),
        },
        Column { title: "Anchoring", width: 58.0, face: Face::Serif, value: |f, _| rail_state(f) },
        Column {
            title: "Status",
            width: 77.89,
            face: Face::Serif,
            value: |f, _| match &f.status {
                Status::Active => "active".into(),
                Status::Retracted { by, reason } => format!("RETRACTED by claim {by}: {reason}"),
                Status::Superseded { by } => format!("SUPERSEDED by claim {by}"),
            },
        },
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_columns_fill_the_printable_width() {
        let total: f32 = super::columns().iter().map(|c| c.width).sum();
        assert!((total - (super::A4_LANDSCAPE.0 - 72.0)).abs() < 0.01, "{total}");
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(super::money(125_000), "1,250.00");
        assert_eq!(super::money(-5), "-0.05");
        assert_eq!(super::money(12_345_678_900), "123,456,789.00");
        assert_eq!(super::money(0), "0.00");
    }
}
