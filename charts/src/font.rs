//! The embedded Korean font, registered with plotters once per process.

use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::style::FontStyle;

use crate::Error;

/// NanumGothic Regular (NAVER, SIL OFL 1.1, `fonts/OFL.txt`) as Google Fonts builds it,
/// unmodified, taken from the npm package `@expo-google-fonts/nanum-gothic` 0.4.0: 2.0 MB,
/// every modern Hangul syllable. Unmodified matters: the OFL reserves the name NanumGothic,
/// so a subset would have to be renamed.
pub(crate) static NANUM_GOTHIC: &[u8] = include_bytes!("../fonts/NanumGothic-Regular.ttf");

/// The family every chart text asks for. plotters looks fonts up by this exact string and the
/// SVG backend writes it into `font-family`, where it reads as a CSS list: viewers without
/// NanumGothic fall back to their sans-serif rather than their default serif.
pub(crate) const FAMILY: &str = "NanumGothic, sans-serif";

/// The parsed font, for metrics and bitmap text; parsed once.
pub(crate) fn face() -> Result<&'static FontRef<'static>, Error> {
    static FACE: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice(NANUM_GOTHIC).ok())
        .as_ref()
        .ok_or(Error::Font)
}

/// Registers [`NANUM_GOTHIC`] under [`FAMILY`] for plotters' own text (the SVG backend's);
/// later calls reuse the first outcome.
pub(crate) fn register() -> Result<(), Error> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, NANUM_GOTHIC).is_ok());
    if ok { Ok(()) } else { Err(Error::Font) }
}

#[cfg(test)]
mod tests {
    use ab_glyph::Font;

    use super::face;

    #[test]
    fn the_font_has_every_glyph_the_charts_write() {
        let font = face().expect("the embedded font parses");
        let ours = "₩…–-,.%0123456789만억조년월일주명 데이터없음신규가입재구매율외개()";
        let hangul = (0xAC00..=0xD7A3).filter_map(char::from_u32);
        let ascii = (0x21..=0x7E).filter_map(char::from_u32);
        let missing: Vec<char> = ours
            .chars()
            .chain(hangul)
            .chain(ascii)
            .filter(|&c| font.glyph_id(c).0 == 0)
            .collect();
        assert!(missing.iter().all(|&c| c == ' '), "no glyph for {missing:?}");
    }

    #[test]
    fn registering_twice_is_fine() {
        super::register().expect("registers");
        super::register().expect("registers again");
    }
}
