//! The fonts, embedded in the binary (from `typst-assets`: Libertinus Serif and DejaVu Sans
//! Mono, both under the SIL Open Font Licence / free licences that allow embedding), and their
//! advance widths for line breaking.
//!
//! Text is set glyph by glyph from the fonts' `cmap` and `hmtx` (no kerning, no ligatures):
//! what [`Fonts::width`] measures is exactly what is drawn, and each glyph maps back to its
//! character for text extraction. (krilla's own shaper re-parses the font for every run,
//! which made a 1 000-row table take seconds; see BENCHMARKS.md.)

use std::collections::HashMap;

use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider as _;
use skrifa::string::StringId;
use skrifa::{FontRef, MetadataProvider as _};

/// The faces the report uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Face {
    Serif,
    SerifBold,
    SerifItalic,
    Mono,
    MonoBold,
}

impl Face {
    const ALL: [Face; 5] = [Face::Serif, Face::SerifBold, Face::SerifItalic, Face::Mono, Face::MonoBold];

    fn postscript_name(self) -> &'static str {
        match self {
            Face::Serif => "LibertinusSerif-Regular",
            Face::SerifBold => "LibertinusSerif-Bold",
            Face::SerifItalic => "LibertinusSerif-Italic",
            Face::Mono => "DejaVuSansMono",
            Face::MonoBold => "DejaVuSansMono-Bold",
        }
    }

    fn index(self) -> usize {
        match self {
            Face::Serif => 0,
            Face::SerifBold => 1,
            Face::SerifItalic => 2,
            Face::Mono => 3,
            Face::MonoBold => 4,
        }
    }
}

/// Why the embedded fonts could not be loaded (a build of `typst-assets` without them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FontError {
    /// A face is missing from the embedded set.
    #[error("embedded font {0} not found (typst-assets built without its `fonts` feature?)")]
    Missing(&'static str),
}

struct Loaded {
    krilla: krilla::text::Font,
    /// Glyph id and advance width in em for U+0000..U+2400.
    table: Vec<(u32, f32)>,
    /// The same for the few other characters the report may use.
    extra: HashMap<char, (u32, f32)>,
    default_advance: f32,
}

/// The report's fonts (cheap to clone: the data is static, the krilla fonts are `Arc`s).
pub(crate) struct Fonts {
    faces: Vec<Loaded>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts").field("faces", &self.faces.len()).finish()
    }
}

const TABLE_LEN: u32 = 0x2400;

impl Fonts {
    pub(crate) fn load() -> Result<Self, FontError> {
        let all: Vec<&'static [u8]> = typst_assets::fonts().collect();
        let mut faces = Vec::new();
        for face in Face::ALL {
            let data = all
                .iter()
                .copied()
                .find(|d| FontRef::new(d).ok().is_some_and(|f| postscript_name(&f).as_deref() == Some(face.postscript_name())))
                .ok_or(FontError::Missing(face.postscript_name()))?;
            let font_ref = FontRef::new(data).map_err(|_| FontError::Missing(face.postscript_name()))?;
            let krilla = krilla::text::Font::new(krilla::Data::from(data), 0).ok_or(FontError::Missing(face.postscript_name()))?;
            let upem = f32::from(font_ref.head().map_or(1000, |h| h.units_per_em()));
            let metrics = font_ref.glyph_metrics(Size::unscaled(), LocationRef::default());
            let charmap = font_ref.charmap();
            let notdef = metrics.advance_width(skrifa::GlyphId::NOTDEF).unwrap_or(upem / 2.0) / upem;
            let mut table = Vec::with_capacity(TABLE_LEN as usize);
            for cp in 0..TABLE_LEN {
                let entry = char::from_u32(cp)
                    .and_then(|c| charmap.map(c))
                    .and_then(|g| metrics.advance_width(g).map(|a| (g.to_u32(), a / upem)))
                    .unwrap_or((0, notdef));
                table.push(entry);
            }
            let mut extra = HashMap::new();
            for c in ['\u{2022}', '\u{2026}', '\u{2192}', '\u{2013}', '\u{2014}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}'] {
                if let Some(e) = charmap.map(c).and_then(|g| metrics.advance_width(g).map(|a| (g.to_u32(), a / upem))) {
                    extra.insert(c, e);
                }
            }
            debug_assert_eq!(faces.len(), face.index());
            faces.push(Loaded { krilla, table, extra, default_advance: notdef });
        }
        Ok(Self { faces })
    }

    pub(crate) fn krilla(&self, face: Face) -> krilla::text::Font {
        self.faces[face.index()].krilla.clone()
    }

    fn lookup(f: &Loaded, c: char) -> (u32, f32) {
        let cp = c as u32;
        if cp < TABLE_LEN { f.table[cp as usize] } else { f.extra.get(&c).copied().unwrap_or((0, f.default_advance)) }
    }

    /// Width of `text` at `size` points.
    pub(crate) fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        let f = &self.faces[face.index()];
        text.chars().map(|c| Self::lookup(f, c).1).sum::<f32>() * size
    }

    /// The glyphs that set `text`: one per character, advances in em.
    pub(crate) fn glyphs(&self, face: Face, text: &str) -> Vec<krilla::text::KrillaGlyph> {
        let f = &self.faces[face.index()];
        text.char_indices()
            .map(|(i, c)| {
                let (gid, adv) = Self::lookup(f, c);
                krilla::text::KrillaGlyph::new(krilla::text::GlyphId::new(gid), adv, 0.0, 0.0, 0.0, i..i + c.len_utf8(), None)
            })
            .collect()
    }
}

fn postscript_name(f: &FontRef<'_>) -> Option<String> {
    f.localized_strings(StringId::POSTSCRIPT_NAME).english_or_first().map(|s| s.chars().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_loads_and_mono_is_monospaced() {
        let f = Fonts::load().unwrap();
        let a = f.width(Face::Mono, 10.0, "0000000000");
        let b = f.width(Face::Mono, 10.0, "ffffffffff");
        assert!((a - b).abs() < 1e-3 && a > 50.0, "{a} {b}");
        assert!(f.width(Face::Serif, 10.0, "mmmm") > f.width(Face::Serif, 10.0, "iiii"));
    }
}
