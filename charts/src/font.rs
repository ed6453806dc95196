//! The embedded Korean font, registered with plotters once per process.

use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::style::FontStyle;

use crate::Error;

/// NanumGothic Regular as Google Fonts ships it, unmodified (SIL OFL 1.1, `fonts/OFL.txt`).
pub(crate) static NANUM_GOTHIC: &[u8] = include_bytes!("../fonts/NanumGothic-Regular.ttf");

/// The family every chart text asks for. plotters looks fonts up by this exact string and the
/// SVG backend writes it into `font-family`, where it reads as a CSS list: viewers without
/// NanumGothic fall back to their sans-serif rather than their default serif.
pub(crate) const FAMILY: &str = "NanumGothic, sans-serif";

/// The parsed font, for metrics and bitmap text; parsed once.
pub(crate) fn face() -> Result<&'static FontRef<'static>, Error> {
    static FACE: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice(NANUM_GOTHIC).ok()).as_ref().ok_or(Error::Font)
}

/// Registers [`NANUM_GOTHIC`] under [`FAMILY`] for plotters' own text (the SVG backend's);
/// later calls reuse the first outcome.
pub(crate) fn register() -> Result<(), Error> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, NANUM_GOTHIC).is_ok());
    if ok { Ok(()) } else { Err(Error::Font) }
}
