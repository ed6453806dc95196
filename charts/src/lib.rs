//! Report charts for the admin and the Slack bot, drawn in memory as PNG or SVG.
//!
//! The crate takes plain numbers, dates and labels (never the database) and knows nothing else
//! in the workspace. Four charts:
//!
//! - [`sales_line`]: net sales per period, the previous period as a second, lighter line;
//! - [`channel_bars`]: sales per period stacked by channel (negative amounts stack below zero);
//! - [`top_bars`]: horizontal bars for top products or categories;
//! - [`members`]: sign-ups as bars on the left scale, repeat rate as a line on the right one.
//!
//! Each takes its data, a [`Size`] (200 to 2000 pixels a side) and a [`Format`], and returns
//! the encoded image: PNG bytes, or SVG text as UTF-8 bytes.
//!
//! ```
//! use charts::{Format, Granularity, SalesLine, Size};
//! use chrono::NaiveDate;
//!
//! let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
//! let chart = SalesLine {
//!     title: "순매출".into(),
//!     granularity: Granularity::Day,
//!     periods: vec![day(1), day(2), day(3)],
//!     current: vec![1_200_000, 980_000, 1_530_000],
//!     current_label: "이번 달".into(),
//!     previous: Some(vec![1_100_000, 1_020_000, 900_000]),
//!     previous_label: "지난달".into(),
//! };
//! let png = charts::sales_line(&chart, Size { width: 1200, height: 600 }, Format::Png)?;
//! assert!(png.starts_with(b"\x89PNG"));
//! # Ok::<(), charts::Error>(())
//! ```
//!
//! Titles get the span of the periods appended (`순매출 2026년 11월 1일 – 11월 3일`), money
//! reads in 만/억 (`3,500만`, [`won_axis`]) and dates in Korean (`11월 24일`, `11월 4주`,
//! `11월`). Text is drawn with NanumGothic (SIL OFL 1.1, `fonts/OFL.txt`), embedded in the
//! crate, so Hangul renders on a container with no fonts installed. SVG names the font as
//! `NanumGothic, sans-serif`; the viewer draws the text with its own copy or its sans-serif.
//!
//! No input makes it panic: empty data draws the frame with `데이터 없음`, one period draws a
//! marker, all-zero data gets a small positive scale, long labels end in `…`. Series whose
//! lengths disagree with the periods, rates outside `0..=1` and sizes out of bounds are an
//! [`Error`].

mod draw;
mod font;
mod format;
mod kinds;

use chrono::NaiveDate;
use plotters::prelude::*;

pub use format::{
    count_axis, day_label, month_label, percent, period_label, range_label, week_label, won_axis, won_full,
    year_month_label,
};

/// The encoding of a rendered chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    /// `image/png` or `image/svg+xml`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
        }
    }

    /// `png` or `svg`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Svg => "svg",
        }
    }
}

/// What one period on the time axis stands for; a period is named by its first day (any day
/// of a week names that week).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Week,
    Month,
}

/// Image size in pixels, each side within [`Size::MIN`]`..=`[`Size::MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const MIN: u32 = 200;
    pub const MAX: u32 = 2000;

    fn check(self) -> Result<Self, Error> {
        let ok = |side| (Self::MIN..=Self::MAX).contains(&side);
        if ok(self.width) && ok(self.height) {
            Ok(self)
        } else {
            Err(Error::SizeOutOfBounds {
                width: self.width,
                height: self.height,
            })
        }
    }
}

/// Net sales per period, with the previous period's as a second, lighter line.
#[derive(Clone, Debug)]
pub struct SalesLine {
    /// `순매출`; the span of `periods` is appended.
    pub title: String,
    pub granularity: Granularity,
    /// In order; one per value.
    pub periods: Vec<NaiveDate>,
    /// Won per period; may be negative (refunds above sales).
    pub current: Vec<i64>,
    /// Legend label of `current` (`이번 달`), shown when `previous` is there.
    pub current_label: String,
    /// Won of the matching previous periods, drawn under `periods`' labels.
    pub previous: Option<Vec<i64>>,
    /// Legend label of `previous` (`지난달`).
    pub previous_label: String,
}

/// Sales per period stacked by channel.
#[derive(Clone, Debug)]
pub struct ChannelBars {
    /// `채널별 매출`; the span of `periods` is appended.
    pub title: String,
    pub granularity: Granularity,
    pub periods: Vec<NaiveDate>,
    /// `(label, won per period)` per channel (`("모바일웹", …)`), stacked bottom-up in this
    /// order; negative amounts stack below zero.
    pub series: Vec<(String, Vec<i64>)>,
}

/// Horizontal bars, largest first as given: top products or categories.
#[derive(Clone, Debug)]
pub struct TopBars {
    /// Drawn as given (see [`range_label`]).
    pub title: String,
    /// `(label, won)`, top to bottom.
    pub bars: Vec<(String, i64)>,
}

/// Sign-ups as bars (left scale) and repeat rate as a line (right scale).
#[derive(Clone, Debug)]
pub struct Members {
    /// `회원`; the span of `periods` is appended.
    pub title: String,
    pub granularity: Granularity,
    pub periods: Vec<NaiveDate>,
    /// New members per period.
    pub sign_ups: Vec<i64>,
    /// Share of buyers who bought before, `0.0..=1.0`, per period.
    pub repeat_rate: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("chart size {width}x{height} is outside {min}..={max} pixels a side", min = Size::MIN, max = Size::MAX)]
    SizeOutOfBounds { width: u32, height: u32 },
    #[error("series {series:?} has {found} values for {expected} periods")]
    LengthMismatch {
        series: String,
        expected: usize,
        found: usize,
    },
    #[error("series {series:?} has an invalid value at {index}")]
    InvalidValue { series: String, index: usize },
    #[error("the embedded font could not be loaded")]
    Font,
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("PNG encoding failed")]
    Png(#[source] image::ImageError),
}

/// Net sales per period; see [`SalesLine`].
pub fn sales_line(chart: &SalesLine, size: Size, format: Format) -> Result<Vec<u8>, Error> {
    render(&kinds::sales_line::prepare(chart)?, size, format)
}

/// Sales per period stacked by channel; see [`ChannelBars`].
pub fn channel_bars(chart: &ChannelBars, size: Size, format: Format) -> Result<Vec<u8>, Error> {
    render(&kinds::channel_bars::prepare(chart)?, size, format)
}

/// Top products or categories; see [`TopBars`].
pub fn top_bars(chart: &TopBars, size: Size, format: Format) -> Result<Vec<u8>, Error> {
    render(&kinds::top_bars::prepare(chart), size, format)
}

/// Sign-ups and repeat rate; see [`Members`].
pub fn members(chart: &Members, size: Size, format: Format) -> Result<Vec<u8>, Error> {
    render(&kinds::members::prepare(chart)?, size, format)
}

/// A chart checked and ready to draw on any backend.
trait Plot {
    fn plot<DB: DrawingBackend>(&self, canvas: &draw::Canvas<'_, DB>) -> Result<(), Error>;
}

fn render(plot: &impl Plot, size: Size, format: Format) -> Result<Vec<u8>, Error> {
    let Size { width, height } = size.check()?;
    font::register()?;
    match format {
        Format::Png => {
            let mut rgb = vec![0u8; width as usize * height as usize * 3];
            {
                let backend =
                    BitMapBackend::<plotters::backend::RGBPixel>::with_buffer_and_format(&mut rgb, (width, height))
                        .map_err(|e| Error::Draw(e.to_string()))?;
                let area = backend.into_drawing_area();
                plot.plot(&draw::Canvas::new(&area, (width, height), false)?)?;
                area.present().map_err(|e| draw::error(&e))?;
            }
            let mut png = Vec::new();
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut png),
                &rgb,
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
            .map_err(Error::Png)?;
            Ok(png)
        }
        Format::Svg => {
            let mut svg = String::new();
            {
                let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                plot.plot(&draw::Canvas::new(&area, (width, height), true)?)?;
                area.present().map_err(|e| draw::error(&e))?;
            }
            Ok(svg.into_bytes())
        }
    }
}
