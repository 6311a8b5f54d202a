//! A small display list: pages of positioned text runs and vector shapes, each tied to a
//! node of the structure tree (or marked as an artifact), emitted through krilla.
//!
//! Layout (where every line goes, how the table pages) is decided here in plain data before
//! anything is written, so the page count is known for "page N of M" and the output depends
//! only on the input.

use std::num::NonZeroU16;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{Artifact, ArtifactType, ContentTag, Node, SpanTag, Tag, TagGroup, TagKind, TagTree};

use crate::fonts::{Face, Fonts};

/// A4 portrait, points.
pub(crate) const A4: (f32, f32) = (595.28, 841.89);
/// A4 landscape, points.
pub(crate) const A4_LANDSCAPE: (f32, f32) = (841.89, 595.28);

/// An RGB colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

pub(crate) const BLACK: Rgb = Rgb(0, 0, 0);
pub(crate) const GREY: Rgb = Rgb(110, 110, 110);
pub(crate) const LIGHT: Rgb = Rgb(225, 225, 225);
pub(crate) const RED: Rgb = Rgb(180, 0, 0);

/// Where an item belongs in the structure tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// Pagination, decoration: not part of the logical content.
    Artifact(ArtifactKind),
    /// A node of the structure tree.
    Node(NodeId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArtifactKind {
    Header,
    Footer,
    Layout,
    Page,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NodeId(usize);

#[derive(Clone, Debug)]
pub(crate) enum Item {
    Text { x: f32, y: f32, face: Face, size: f32, text: String, color: Rgb, owner: Owner },
    Rect { x: f32, y: f32, w: f32, h: f32, color: Rgb, owner: Owner },
    Line { points: Vec<(f32, f32)>, width: f32, color: Rgb, owner: Owner },
}

#[derive(Clone, Debug)]
pub(crate) struct PageOut {
    pub size: (f32, f32),
    pub items: Vec<Item>,
}

/// Structure tree kinds we use.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Section,
    H(u16, String),
    P,
    Table(String),
    THead,
    TBody,
    Tr,
    Th,
    Td,
    Figure(String),
    Code,
}

enum Child {
    Node(NodeId),
    Content,
}

struct NodeData {
    kind: Kind,
    children: Vec<Child>,
}

/// The document being laid out: pages plus the structure tree.
pub(crate) struct Doc {
    pub pages: Vec<PageOut>,
    nodes: Vec<NodeData>,
    roots: Vec<NodeId>,
}

impl Doc {
    pub(crate) fn new() -> Self {
        Self { pages: Vec::new(), nodes: Vec::new(), roots: Vec::new() }
    }

    pub(crate) fn node(&mut self, parent: Option<NodeId>, kind: Kind) -> NodeId {
        let id = NodeId(self.nodes.len());
        self.nodes.push(NodeData { kind, children: Vec::new() });
        match parent {
            Some(p) => self.nodes[p.0].children.push(Child::Node(id)),
            None => self.roots.push(id),
        }
        id
    }

    pub(crate) fn new_page(&mut self, size: (f32, f32)) -> usize {
        self.pages.push(PageOut { size, items: Vec::new() });
        self.pages.len() - 1
    }

    pub(crate) fn push(&mut self, page: usize, item: Item) {
        let owner = match &item {
            Item::Text { owner, .. } | Item::Rect { owner, .. } | Item::Line { owner, .. } => *owner,
        };
        if let Owner::Node(n) = owner {
            self.nodes[n.0].children.push(Child::Content);
        }
        self.pages[page].items.push(item);
    }

    /// Writes the pages and the tag tree into a krilla document, in order.
    pub(crate) fn emit(self, document: &mut krilla::Document, fonts: &Fonts) {
        // Identifiers per node, in the order the content was pushed (page order).
        let mut ids: Vec<std::collections::VecDeque<krilla::tagging::Identifier>> =
            (0..self.nodes.len()).map(|_| std::collections::VecDeque::new()).collect();
        for page in &self.pages {
            let settings = PageSettings::from_wh(page.size.0, page.size.1).unwrap_or_default();
            let mut p = document.start_page_with(settings);
            let mut s = p.surface();
            for item in &page.items {
                let owner = match item {
                    Item::Text { owner, .. } | Item::Rect { owner, .. } | Item::Line { owner, .. } => *owner,
                };
                let tag = match owner {
                    Owner::Artifact(k) => ContentTag::Artifact(Artifact::with_kind(match k {
                        ArtifactKind::Header => ArtifactType::Header,
                        ArtifactKind::Footer => ArtifactType::Footer,
                        ArtifactKind::Layout => ArtifactType::Other,
                        ArtifactKind::Page => ArtifactType::Page,
                    })),
                    Owner::Node(n) => match self.nodes[n.0].kind {
                        Kind::Figure(_) => ContentTag::Other,
                        _ => ContentTag::Span(SpanTag::empty()),
                    },
                };
                let id = s.start_tagged(tag);
                draw(&mut s, fonts, item);
                s.end_tagged();
                if let Owner::Node(n) = owner {
                    ids[n.0].push_back(id);
                }
            }
            s.finish();
            p.finish();
        }
        let mut tree = TagTree::new().with_lang(Some("en".into()));
        for r in &self.roots {
            tree.push(build(&self.nodes, *r, &mut ids));
        }
        document.set_tag_tree(tree);
    }
}

fn build(nodes: &[NodeData], id: NodeId, ids: &mut [std::collections::VecDeque<krilla::tagging::Identifier>]) -> Node {
    let n = &nodes[id.0];
    let kind: TagKind = match &n.kind {
        Kind::Section => Tag::Section.into(),
        Kind::H(level, title) => Tag::Hn(NonZeroU16::new(*level).unwrap_or(NonZeroU16::MIN), Some(title.clone())).into(),
        Kind::P => Tag::P.into(),
        Kind::Table(summary) => {
            let mut t = Tag::Table;
            t.set_summary(Some(summary.clone()));
            t.into()
        }
        Kind::THead => Tag::THead.into(),
        Kind::TBody => Tag::TBody.into(),
        Kind::Tr => Tag::TR.into(),
        Kind::Th => Tag::TH(krilla::tagging::TableHeaderScope::Column).into(),
        Kind::Td => Tag::TD.into(),
        Kind::Figure(alt) => Tag::Figure(Some(alt.clone())).into(),
        Kind::Code => Tag::Code.into(),
    };
    let mut g = TagGroup::new(kind);
    for c in &n.children {
        match c {
            Child::Node(child) => g.push(build(nodes, *child, ids)),
            Child::Content => {
                if let Some(i) = ids[id.0].pop_front() {
                    g.push(i);
                }
            }
        }
    }
    g.into()
}

fn color(c: Rgb) -> rgb::Color {
    rgb::Color::new(c.0, c.1, c.2)
}

fn draw(s: &mut Surface<'_>, fonts: &Fonts, item: &Item) {
    match item {
        Item::Text { x, y, face, size, text, color: c, .. } => {
            s.set_fill(Some(Fill { paint: color(*c).into(), opacity: NormalizedF32::ONE, rule: krilla::paint::FillRule::NonZero }));
            s.set_stroke(None);
            s.draw_glyphs(Point::from_xy(*x, *y), &fonts.glyphs(*face, text), fonts.krilla(*face), text, *size, false);
        }
        Item::Rect { x, y, w, h, color: c, .. } => {
            if let Some(r) = Rect::from_xywh(*x, *y, w.max(0.01), h.max(0.01)) {
                let mut pb = PathBuilder::new();
                pb.push_rect(r);
                if let Some(path) = pb.finish() {
                    s.set_stroke(None);
                    s.set_fill(Some(Fill { paint: color(*c).into(), opacity: NormalizedF32::ONE, rule: krilla::paint::FillRule::NonZero }));
                    s.draw_path(&path);
                }
            }
        }
        Item::Line { points, width, color: c, .. } => {
            let mut pb = PathBuilder::new();
            for (i, (x, y)) in points.iter().enumerate() {
                if i == 0 {
                    pb.move_to(*x, *y);
                } else {
                    pb.line_to(*x, *y);
                }
            }
            if let Some(path) = pb.finish() {
                s.set_fill(None);
                s.set_stroke(Some(Stroke { paint: color(*c).into(), width: *width, ..Default::default() }));
                s.draw_path(&path);
            }
        }
    }
}

/// Breaks `text` into lines no wider than `width`: at spaces, and inside a word that is
/// wider than a line after `-`, `/`, `.`, `:`, `_` or, failing those, between any two
/// characters. No line is ever wider than `width` (except a single character wider than it).
pub(crate) fn wrap(fonts: &Fonts, face: Face, size: f32, width: f32, text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if fonts.width(face, size, &candidate) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if fonts.width(face, size, word) <= width {
                word.clone_into(&mut line);
                continue;
            }
            // Break the long word.
            let mut rest: &str = word;
            while fonts.width(face, size, rest) > width {
                let mut cut = 0;
                let mut soft = 0;
                for (i, c) in rest.char_indices() {
                    let end = i + c.len_utf8();
                    if fonts.width(face, size, &rest[..end]) > width {
                        break;
                    }
                    cut = end;
                    if matches!(c, '-' | '/' | '.' | ':' | '_') {
                        soft = end;
                    }
                }
                if cut == 0 {
                    cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
                }
                let at = if soft > cut / 2 { soft } else { cut };
                lines.push(rest[..at].to_owned());
                rest = &rest[at..];
            }
            rest.clone_into(&mut line);
        }
        lines.push(line);
    }
    while lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// A count as a coordinate factor (counts here are small: pages, rows, lines).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn pt(n: usize) -> f32 {
    n as f32
}

/// A 64-digit hex digest in four groups of 16 (lines break between groups).
pub(crate) fn grouped_hex(h: &str) -> String {
    let lower = h.to_ascii_lowercase();
    let b = lower.as_bytes();
    b.chunks(16).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_never_overflow() {
        let fonts = Fonts::load().unwrap();
        let texts = [
            "a short line",
            "Supercalifragilisticexpialidocious-and-then-some/more/segments.with.dots and words after it",
            &"x".repeat(500),
            "1HGCM82633A004352 WVWZZZ1JZXW000001",
        ];
        for t in texts {
            for width in [20.0, 55.0, 120.0] {
                let lines = wrap(&fonts, Face::Serif, 7.0, width, t);
                for l in &lines {
                    assert!(fonts.width(Face::Serif, 7.0, l) <= width + 1e-3 || l.chars().count() == 1, "{l:?} at {width}");
                }
                let joined: String = lines.concat().chars().filter(|c| *c != ' ').collect();
                let orig: String = t.chars().filter(|c| *c != ' ').collect();
                assert_eq!(joined, orig, "no character lost");
            }
        }
    }

    #[test]
    fn hashes_group_by_sixteen() {
        let h = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        assert_eq!(grouped_hex(h), "0011223344556677 8899aabbccddeeff 0011223344556677 8899aabbccddeeff");
    }
}
