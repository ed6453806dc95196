//! The image pipeline: sniff, decode within limits, turn upright, re-encode (which drops
//! EXIF, GPS and every other metadata block), and make the thumbnails. Pure and blocking:
//! callers run it under `spawn_blocking` behind the store's semaphore.

use std::io::Cursor;

use image::{
    DynamicImage, ImageDecoder, ImageEncoder, ImageError, ImageFormat, ImageReader, Limits, RgbImage,
    codecs::{jpeg::JpegEncoder, png::PngEncoder, webp::WebPEncoder},
    error::LimitErrorKind,
    imageops::FilterType,
};

use crate::Error;

/// The thumbnail widths the storefront may ask for (`Media.url(width:)`), ascending.
pub const WIDTHS: [u32; 5] = [160, 320, 480, 960, 1440];
/// JPEG quality of thumbnails.
const THUMB_QUALITY: u8 = 82;
/// JPEG quality of the re-encoded original.
const ORIGINAL_QUALITY: u8 = 90;
/// The most memory one decode may take.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// The kinds of pictures accepted, as sniffed from their bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `image/jpeg`
    Jpeg,
    /// `image/png`
    Png,
    /// `image/webp`
    Webp,
}

impl Kind {
    /// The file extension of keys.
    pub fn ext(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Webp => "webp",
        }
    }

    /// The MIME type.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
        }
    }

    /// The kind of a key's extension.
    pub fn from_ext(ext: &str) -> Option<Kind> {
        match ext {
            "jpg" => Some(Kind::Jpeg),
            "png" => Some(Kind::Png),
            "webp" => Some(Kind::Webp),
            _ => None,
        }
    }

    /// Sniffs the bytes: JPEG, PNG or WebP, whatever the name or the client says.
    /// Errors: `UNSUPPORTED_MEDIA`.
    pub fn sniff(bytes: &[u8]) -> Result<Kind, Error> {
        match image::guess_format(bytes) {
            Ok(ImageFormat::Jpeg) => Ok(Kind::Jpeg),
            Ok(ImageFormat::Png) => Ok(Kind::Png),
            Ok(ImageFormat::WebP) => Ok(Kind::Webp),
            Ok(other) => Err(unsupported(format!("{other:?} is not accepted (JPEG, PNG or WebP)"))),
            Err(_) => Err(unsupported("not an image (JPEG, PNG or WebP)".into())),
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Webp => ImageFormat::WebP,
        }
    }
}

fn unsupported(reason: String) -> Error {
    Error::UnsupportedMedia { reason }
}

/// One encoded file: its name beside the original (`original.jpg`, `w320.webp`) and bytes.
#[derive(Debug)]
pub struct Rendition {
    /// The file name under the media's folder.
    pub name: String,
    /// Its MIME type.
    pub content_type: &'static str,
    /// The encoded picture.
    pub bytes: Vec<u8>,
}

/// What the pipeline made of an upload.
#[derive(Debug)]
pub struct Processed {
    /// The kind of the original (kept across the re-encode).
    pub kind: Kind,
    /// Width after orientation, pixels.
    pub width: u32,
    /// Height after orientation, pixels.
    pub height: u32,
    /// The thumbnail widths made (each as WebP and JPEG).
    pub widths: Vec<u32>,
    /// The original first, then the thumbnails.
    pub files: Vec<Rendition>,
}

/// Decodes `bytes` (at most `max_side` pixels a side), applies the EXIF orientation and
/// re-encodes the original and every thumbnail narrower than it.
/// Errors: `UNSUPPORTED_MEDIA` (not JPEG, PNG or WebP, or broken), `TOO_LARGE` (pixels or
/// memory beyond the limits: a decompression bomb).
pub fn process(bytes: &[u8], max_side: u32) -> Result<Processed, Error> {
    let kind = Kind::sniff(bytes)?;
    let img = decode(bytes, kind, max_side)?;
    let (width, height) = (img.width(), img.height());
    let mut files = vec![Rendition {
        name: format!("original.{}", kind.ext()),
        content_type: kind.content_type(),
        bytes: encode(&img, kind, ORIGINAL_QUALITY)?,
    }];
    let widths: Vec<u32> = WIDTHS.iter().copied().filter(|w| *w < width).collect();
    for &w in &widths {
        // Never 0 high, however wide and flat the original.
        let h = u32::try_from((u64::from(height) * u64::from(w)).div_ceil(u64::from(width)))
            .unwrap_or(1)
            .max(1);
        let thumb = img.resize_exact(w, h, FilterType::CatmullRom);
        files.push(Rendition {
            name: format!("w{w}.webp"),
            content_type: Kind::Webp.content_type(),
            bytes: encode(&thumb, Kind::Webp, THUMB_QUALITY)?,
        });
        files.push(Rendition {
            name: format!("w{w}.jpg"),
            content_type: Kind::Jpeg.content_type(),
            bytes: encode(&thumb, Kind::Jpeg, THUMB_QUALITY)?,
        });
    }
    Ok(Processed {
        kind,
        width,
        height,
        widths,
        files,
    })
}

fn decode(bytes: &[u8], kind: Kind, max_side: u32) -> Result<DynamicImage, Error> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(&e, max_side))?;
    let orientation = decoder.orientation().map_err(|e| decode_error(&e, max_side))?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(&e, max_side))?;
    img.apply_orientation(orientation);
    Ok(img)
}

fn decode_error(e: &ImageError, max_side: u32) -> Error {
    match e {
        ImageError::Limits(l) => match l.kind() {
            LimitErrorKind::DimensionError => Error::TooLarge {
                what: "pixels",
                limit: u64::from(max_side),
            },
            _ => Error::TooLarge {
                what: "memory",
                limit: MAX_ALLOC,
            },
        },
        other => unsupported(format!("cannot decode: {other}")),
    }
}

/// Encodes with no metadata: only pixels go in.
fn encode(img: &DynamicImage, kind: Kind, quality: u8) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let r = match kind {
        Kind::Jpeg => {
            let rgb = flatten(img);
            JpegEncoder::new_with_quality(&mut out, quality).write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
        }
        Kind::Png => {
            let rgba = img.to_rgba8();
            PngEncoder::new(&mut out).write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
        }
        // image 0.25 encodes WebP lossless only (see the README's Media section).
        Kind::Webp if img.color().has_alpha() => {
            let rgba = img.to_rgba8();
            WebPEncoder::new_lossless(&mut out).write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
        }
        Kind::Webp => {
            let rgb = img.to_rgb8();
            WebPEncoder::new_lossless(&mut out).write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
        }
    };
    r.map_err(|e| Error::Fault {
        what: "media.encode",
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// RGB for JPEG: transparent pixels over white, not over whatever colour they hide.
fn flatten(img: &DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [red, green, blue, alpha] = rgba.get_pixel(x, y).0;
        let over = |channel: u8| {
            let v = (u16::from(channel) * u16::from(alpha) + 255 * (255 - u16::from(alpha))) / 255;
            u8::try_from(v).unwrap_or(u8::MAX)
        };
        image::Rgb([over(red), over(green), over(blue)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba([200, 30, 30, 255]));
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
            .expect("encode");
        out
    }

    #[test]
    fn thumbnails_only_below_the_original_width() {
        let p = process(&png(500, 250), 10_000).expect("processed");
        assert_eq!((p.kind, p.width, p.height), (Kind::Png, 500, 250));
        assert_eq!(p.widths, vec![160, 320, 480]);
        let names: Vec<_> = p.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names[0], "original.png");
        assert!(names.contains(&"w480.webp") && names.contains(&"w480.jpg"));
        let thumb = image::load_from_memory(&p.files[1].bytes).expect("webp");
        assert_eq!((thumb.width(), thumb.height()), (160, 80));
    }

    #[test]
    fn refuses_non_images_and_bombs() {
        assert_eq!(
            process(b"hello, not a picture", 100).err().map(|e| e.code()),
            Some(crate::Code::UnsupportedMedia)
        );
        assert_eq!(
            process(&png(300, 10), 200).err().map(|e| e.code()),
            Some(crate::Code::TooLarge)
        );
    }
}
