//! `Media`: a product's or variant's picture, the same type on both APIs, with a URL per
//! thumbnail size (`url(width:, format:)`).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object};
use commerce::{Settings, media};

/// The encodings thumbnails exist in.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum MediaFormat {
    /// WebP (lossless: sharp edges and transparency; the default for PNG and WebP originals).
    Webp,
    /// JPEG (quality 82: a photo's thumbnail at a sixth to a ninth of lossless WebP's bytes;
    /// the default for JPEG originals).
    Jpeg,
}

/// A picture: uploaded or imported (with thumbnails), or an outside URL.
pub struct Media(pub(crate) media::Media);

#[Object]
impl Media {
    /// Opaque id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where to load it. Without `width`, the original; with one, the thumbnail of the
    /// nearest allowed width at or above it (160, 320, 480, 960, 1440), or the original when
    /// the picture is not wider than that (never upscaled). A path under `/media/`, or a
    /// URL under `media.public_url`; an outside picture's own URL whatever is asked.
    /// Without `format`, thumbnails of photos (JPEG originals) are JPEG and those of
    /// drawings and transparent pictures (PNG, WebP) are WebP: each the smaller there.
    async fn url(&self, ctx: &Context<'_>, width: Option<i32>, format: Option<MediaFormat>) -> String {
        let base = ctx.data_opt::<Arc<Settings>>().map_or("/media", |s| s.media.base_url());
        let photo = self.0.content_type.as_deref() == Some("image/jpeg");
        let format = match format.unwrap_or(if photo { MediaFormat::Jpeg } else { MediaFormat::Webp }) {
            MediaFormat::Webp => media::Format::Webp,
            MediaFormat::Jpeg => media::Format::Jpeg,
        };
        self.0.url_for(base, width, format)
    }
    /// Alternative text; null when none was given.
    async fn alt(&self) -> Option<&str> {
        Some(self.0.alt.as_str()).filter(|a| !a.trim().is_empty())
    }
    /// The original's width in pixels (upright); null for outside pictures.
    async fn width(&self) -> Option<i32> {
        self.0.width
    }
    /// The original's height in pixels (upright); null for outside pictures.
    async fn height(&self) -> Option<i32> {
        self.0.height
    }
    /// The original's type, sniffed from its bytes (`image/jpeg`, `image/png`,
    /// `image/webp`); null for outside pictures.
    async fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }
}
