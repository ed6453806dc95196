//! `Media`: a product's or variant's picture, the same type on both APIs, with a URL per
//! thumbnail size (`url(width:, format:)`).

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object};
use commerce::{Settings, media};

use crate::flat::{self, FlatObject, Writer};

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

/// Where the service's pictures are served from (`media.public_url`, else `/media`).
fn base_url<'a>(ctx: &Context<'a>) -> &'a str {
    ctx.data_opt::<Arc<Settings>>().map_or("/media", |s| s.media.base_url())
}

/// `Media.url(width, format)` of `m` under `base`.
fn url(m: &media::Media, base: &str, width: Option<i32>, format: Option<MediaFormat>) -> String {
    let photo = m.content_type.as_deref() == Some("image/jpeg");
    let format = match format.unwrap_or(if photo { MediaFormat::Jpeg } else { MediaFormat::Webp }) {
        MediaFormat::Webp => media::Format::Webp,
        MediaFormat::Jpeg => media::Format::Jpeg,
    };
    m.url_for(base, width, format)
}

/// Pictures in a listing are written with it (see [`flat`]).
impl FlatObject for Media {
    type Data = media::Media;

    fn data(&self) -> &media::Media {
        &self.0
    }

    fn writer(field: &Context<'_>) -> Option<Writer<media::Media>> {
        type M = media::Media;
        match field.item.node.name.node.as_str() {
            "id" => flat::quoted(|m: &M| m.id),
            "url" => {
                let base = base_url(field).to_owned();
                let width = field.param_value::<Option<i32>>("width", None).ok()?.1;
                let format = field.param_value::<Option<MediaFormat>>("format", None).ok()?.1;
                flat::scalar(move |m: &M| url(m, &base, width, format))
            }
            "alt" => flat::opt_text(|m: &M| Some(m.alt.as_str()).filter(|a| !a.trim().is_empty())),
            "width" => flat::scalar(|m: &M| m.width),
            "height" => flat::scalar(|m: &M| m.height),
            "contentType" => flat::opt_text(|m: &M| m.content_type.as_deref()),
            _ => None,
        }
    }
}

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
        url(&self.0, base_url(ctx), width, format)
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
