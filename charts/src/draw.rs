//! What every chart shares: the canvas in pixels, text, the header with its legend, nice
//! scales, gridlines and the thinned-out time axis.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use chrono::{Datelike, NaiveDate};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontFamily, FontStyle};

use crate::{Error, Granularity, font, format};

pub(crate) const TITLE: RGBColor = RGBColor(0x11, 0x18, 0x27);
pub(crate) const TEXT: RGBColor = RGBColor(0x37, 0x41, 0x51);
pub(crate) const MUTED: RGBColor = RGBColor(0x6B, 0x72, 0x80);
pub(crate) const GRID: RGBColor = RGBColor(0xE5, 0xE7, 0xEB);
pub(crate) const AXIS: RGBColor = RGBColor(0x9C, 0xA3, 0xAF);

/// Tableau 10: distinct at a glance, none of them loud, readable on white.
pub(crate) const SERIES: [RGBColor; 10] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0x9C, 0x75, 0x5F),
    RGBColor(0xFF, 0x9D, 0xA7),
    RGBColor(0xBA, 0xB0, 0xAC),
];

pub(crate) fn error<E: std::error::Error + Send + Sync>(e: &DrawingAreaErrorKind<E>) -> Error {
    Error::Draw(e.to_string())
}

/// `i64` to `f64`: won beyond 2^53 lose precision no one can see on a chart.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn f(v: i64) -> f64 {
    v as f64
}

/// A count or an index to `f64`.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn fu(n: usize) -> f64 {
    n as f64
}

/// A glyph scale or position: `f32` is what ab_glyph takes, and chart pixels fit it.
#[allow(clippy::cast_possible_truncation)]
fn f32_of(v: f64) -> f32 {
    v as f32
}

/// A pixel position; `as` saturates, and NaN (never produced here) would become 0.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn px(v: f64) -> i32 {
    v.round() as i32
}

/// A tick value back to whole won for its label; `as` saturates at the `i64` bounds.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn whole(v: f64) -> i64 {
    v.round() as i64
}

/// Pixel rectangle of a plot: `left..right` by `top..bottom`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rect {
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
}

impl Rect {
    pub fn width(self) -> i32 {
        self.right - self.left
    }

    pub fn height(self) -> i32 {
        self.bottom - self.top
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Mark {
    Box,
    Line,
}

pub(crate) struct LegendItem {
    pub label: String,
    pub color: RGBColor,
    pub mark: Mark,
}

/// A white canvas in pixels with text in the embedded font.
pub(crate) struct Canvas<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    pub width: i32,
    pub height: i32,
    /// Body text size in pixels; titles and legends scale from it.
    pub base: f64,
    /// Outer margin.
    pub pad: i32,
    /// SVG gets `<text>` elements, bitmaps pixels; see [`Canvas::text`].
    svg: bool,
    face: &'static FontRef<'static>,
}

impl<'a, DB: DrawingBackend> Canvas<'a, DB> {
    pub fn new(area: &'a DrawingArea<DB, Shift>, (width, height): (u32, u32), svg: bool) -> Result<Self, Error> {
        area.fill(&WHITE).map_err(|e| error(&e))?;
        let (width, height) = (width.cast_signed(), height.cast_signed());
        // 15 px at 1200x600, never under 10 px (legible) nor over 16 px (a poster).
        let base = (f64::from(width.min(height * 2)) / 80.0).clamp(10.0, 16.0);
        Ok(Self {
            area,
            width,
            height,
            base,
            pad: px(base * 1.2),
            svg,
            face: font::face()?,
        })
    }

    /// Advance width of `s` at `size` pixels to the em, with kerning.
    pub fn text_width(&self, s: &str, size: f64) -> i32 {
        let s = &printable(s);
        let font = self.face.as_scaled(PxScale::from(f32_of(size)));
        let mut width = 0.0;
        let mut previous = None;
        for c in s.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                width += font.kern(p, id);
            }
            width += font.h_advance(id);
            previous = Some(id);
        }
        px(f64::from(width).ceil())
    }

    /// `s` cut to `max` pixels with a trailing `…`.
    pub fn fit(&self, s: &str, size: f64, max: i32) -> String {
        if self.text_width(s, size) <= max {
            return s.to_owned();
        }
        let chars: Vec<char> = s.chars().collect();
        // The longest prefix that fits with the ellipsis: binary search on its length.
        let (mut lo, mut hi) = (0, chars.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let candidate: String = chars[..mid].iter().chain(['…'].iter()).collect();
            if self.text_width(&candidate, size) <= max {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let kept: String = chars[..lo].iter().collect();
        format!("{}…", kept.trim_end())
    }

    /// Text centred vertically on `y` (the middle of a Hangul syllable), anchored at `x` by `h`.
    pub fn text(&self, s: &str, (x, y): (i32, i32), size: f64, color: RGBColor, h: HPos) -> Result<(), Error> {
        let s = &printable(s);
        if self.svg {
            // With `VPos::Top` the SVG backend writes `font-size` as size / 1.24 and the
            // baseline 0.76 em under the anchor; so it gets 1.24 times the size, and the anchor
            // goes 0.39 em up for the baseline to sit 0.37 em under `y`.
            let style = TextStyle {
                font: FontDesc::new(FontFamily::Name(font::FAMILY), size * 1.24, FontStyle::Normal),
                color: color.to_backend_color(),
                pos: Pos::new(h, VPos::Top),
            };
            return self
                .area
                .draw_text(s, &style, (x, y - px(0.39 * size)))
                .map_err(|e| error(&e));
        }
        let left = match h {
            HPos::Left => x,
            HPos::Center => x - self.text_width(s, size) / 2,
            HPos::Right => x - self.text_width(s, size),
        };
        let font = self.face.as_scaled(PxScale::from(f32_of(size)));
        let baseline = f32_of(f64::from(y) + 0.37 * size);
        let mut pen = f32_of(f64::from(left));
        let mut previous = None;
        let mut drawn = Ok(());
        for c in s.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                pen += font.kern(p, id);
            }
            previous = Some(id);
            let glyph = id.with_scale_and_position(font.scale(), point(pen, baseline));
            pen += font.h_advance(id);
            // A space has no outline.
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            let (x0, y0) = (px(f64::from(bounds.min.x)), px(f64::from(bounds.min.y)));
            outline.draw(|gx, gy, coverage| {
                if drawn.is_ok() && coverage > 0.0 {
                    let at = (x0 + gx.cast_signed(), y0 + gy.cast_signed());
                    drawn = self
                        .area
                        .draw_pixel(at, &color.mix(f64::from(coverage)))
                        .map_err(|e| error(&e));
                }
            });
        }
        drawn
    }

    pub fn rect(&self, (x0, y0): (i32, i32), (x1, y1): (i32, i32), color: RGBColor) -> Result<(), Error> {
        self.area
            .draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))
            .map_err(|e| error(&e))
    }

    pub fn path(&self, points: Vec<(i32, i32)>, color: RGBColor, width: u32) -> Result<(), Error> {
        self.area
            .draw(&PathElement::new(points, color.stroke_width(width)))
            .map_err(|e| error(&e))
    }

    /// A polyline `width` pixels wide. SVG gets a `<polyline>`; bitmaps get it anti-aliased
    /// here, as plotters fills wide lines as polygons with jagged edges: each pixel is covered
    /// as far as it lies within `width / 2` of the nearest segment, and blended once.
    pub fn line(&self, points: &[(i32, i32)], color: RGBColor, width: f64) -> Result<(), Error> {
        if points.len() < 2 {
            return Ok(());
        }
        if self.svg {
            let stroke = u32::try_from(px(width).max(1)).unwrap_or(1);
            return self.path(points.to_vec(), color, stroke);
        }
        let r = width / 2.0;
        let reach = px(r.ceil()) + 1;
        let clamp_x = |x: i32| x.clamp(0, self.width - 1);
        let clamp_y = |y: i32| y.clamp(0, self.height - 1);
        let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        for &(x, y) in points {
            (x0, y0, x1, y1) = (
                x0.min(x - reach),
                y0.min(y - reach),
                x1.max(x + reach),
                y1.max(y + reach),
            );
        }
        let (x0, y0, x1, y1) = (clamp_x(x0), clamp_y(y0), clamp_x(x1), clamp_y(y1));
        let columns = usize::try_from(x1 - x0 + 1).unwrap_or(0);
        let rows = usize::try_from(y1 - y0 + 1).unwrap_or(0);
        let mut cover = vec![0f32; columns * rows];
        for pair in points.windows(2) {
            let [a, b] = [pair[0], pair[1]];
            for y in clamp_y(a.1.min(b.1) - reach)..=clamp_y(a.1.max(b.1) + reach) {
                for x in clamp_x(a.0.min(b.0) - reach)..=clamp_x(a.0.max(b.0) + reach) {
                    let c = f32_of((r + 0.5 - distance((x, y), a, b)).clamp(0.0, 1.0));
                    let cell = usize::try_from((y - y0) * (x1 - x0 + 1) + (x - x0)).unwrap_or(usize::MAX);
                    if let Some(slot) = cover.get_mut(cell) {
                        *slot = slot.max(c);
                    }
                }
            }
        }
        for (cell, &c) in cover.iter().enumerate().filter(|(_, c)| **c > 0.0) {
            let (row, column) = (cell / columns.max(1), cell % columns.max(1));
            let at = (
                x0 + i32::try_from(column).unwrap_or(0),
                y0 + i32::try_from(row).unwrap_or(0),
            );
            self.area
                .draw_pixel(at, &color.mix(f64::from(c)))
                .map_err(|e| error(&e))?;
        }
        Ok(())
    }

    /// A filled dot; from radius 4 up it has a white halo that sets it apart from its line.
    pub fn dot(&self, at: (i32, i32), radius: i32, color: RGBColor) -> Result<(), Error> {
        if self.svg {
            if radius >= 4 {
                self.area
                    .draw(&Circle::new(at, radius + 1, WHITE.filled()))
                    .map_err(|e| error(&e))?;
            }
            return self
                .area
                .draw(&Circle::new(at, radius, color.filled()))
                .map_err(|e| error(&e));
        }
        if radius >= 4 {
            self.disc(at, f64::from(radius + 1), WHITE)?;
        }
        self.disc(at, f64::from(radius), color)
    }

    /// An anti-aliased disc (plotters' bitmap circles are jagged).
    fn disc(&self, (cx, cy): (i32, i32), r: f64, color: RGBColor) -> Result<(), Error> {
        let reach = px(r.ceil()) + 1;
        for y in (cy - reach).max(0)..=(cy + reach).min(self.height - 1) {
            for x in (cx - reach).max(0)..=(cx + reach).min(self.width - 1) {
                let c = (r + 0.5 - f64::from(x - cx).hypot(f64::from(y - cy))).clamp(0.0, 1.0);
                if c > 0.0 {
                    self.area.draw_pixel((x, y), &color.mix(c)).map_err(|e| error(&e))?;
                }
            }
        }
        Ok(())
    }

    /// The title (cut to the width) and the legend rows under it; returns where they end.
    pub fn header(&self, title: &str, legend: &[LegendItem]) -> Result<i32, Error> {
        let size = self.base * 1.3;
        let max = self.width - 2 * self.pad;
        let mut y = self.pad + px(size * 0.6);
        self.text(&self.fit(title, size, max), (self.pad, y), size, TITLE, HPos::Left)?;
        y += px(size * 0.6);
        if legend.is_empty() {
            return Ok(y);
        }
        let row = px(self.base * 1.6);
        let mark = px(self.base * 0.9);
        let gap = px(self.base * 1.4);
        let (mut x, mut row_y) = (self.pad, y + px(self.base * 0.5) + row / 2);
        // One legend label may take at most half the width; a row wraps when the next is full.
        // The legend takes at most a quarter of the height; what is left over is counted.
        let label_max = (max / 2 - mark - 6).max(px(self.base * 3.0));
        let max_rows = (self.height / 4 / row).max(1);
        let mut rows = 1;
        let right = self.pad + max;
        let more_w = self.text_width("외 999개", self.base);
        for (k, item) in legend.iter().enumerate() {
            let label = self.fit(&item.label, self.base, label_max);
            let w = mark + 6 + self.text_width(&label, self.base);
            if x > self.pad && x + w > right && rows < max_rows {
                x = self.pad;
                row_y += row;
                rows += 1;
            }
            // On the last row an item goes in only with room for the count after it.
            let last = k + 1 == legend.len();
            if x > self.pad && rows == max_rows && x + w + if last { 0 } else { gap + more_w } > right {
                self.text(
                    &format!("외 {}개", legend.len() - k),
                    (x, row_y),
                    self.base,
                    MUTED,
                    HPos::Left,
                )?;
                break;
            }
            match item.mark {
                Mark::Box => self.rect((x, row_y - mark / 2), (x + mark, row_y + mark / 2), item.color)?,
                Mark::Line => {
                    self.path(vec![(x, row_y), (x + mark, row_y)], item.color, 3)?;
                }
            }
            self.text(&label, (x + mark + 6, row_y), self.base, TEXT, HPos::Left)?;
            x += w + gap;
        }
        Ok(row_y + row / 2)
    }

    /// `데이터 없음` in the middle of what is left under the header.
    pub fn no_data(&self, top: i32) -> Result<(), Error> {
        let y = (top + self.height - self.pad) / 2;
        self.path(
            vec![
                (self.pad, self.height - self.pad),
                (self.width - self.pad, self.height - self.pad),
            ],
            AXIS,
            1,
        )?;
        self.text("데이터 없음", (self.width / 2, y), self.base * 1.1, MUTED, HPos::Center)
    }

    /// Horizontal gridlines at the ticks of `scale`, the zero line darker.
    pub fn grid(&self, plot: Rect, scale: &Scale) -> Result<(), Error> {
        for t in scale.ticks() {
            let y = scale.y(plot, t);
            let color = if t == 0.0 { AXIS } else { GRID };
            self.path(vec![(plot.left, y), (plot.right, y)], color, 1)?;
        }
        Ok(())
    }

    /// The zero line again, over bars that start on it.
    pub fn zero_line(&self, plot: Rect, scale: &Scale) -> Result<(), Error> {
        let y = scale.y(plot, 0.0);
        self.path(vec![(plot.left, y), (plot.right, y)], AXIS, 1)
    }

    /// Tick labels of `scale` beside `plot`, right-aligned on the left or left-aligned on the right.
    pub fn y_labels(
        &self,
        plot: Rect,
        scale: &Scale,
        labels: &[String],
        left: bool,
        color: RGBColor,
    ) -> Result<(), Error> {
        let gap = px(self.base * 0.5);
        let (x, h) = if left {
            (plot.left - gap, HPos::Right)
        } else {
            (plot.right + gap, HPos::Left)
        };
        for (t, label) in scale.ticks().zip(labels) {
            self.text(label, (x, scale.y(plot, t)), self.base * 0.9, color, h)?;
        }
        Ok(())
    }

    pub fn widest(&self, labels: &[String], size: f64) -> i32 {
        labels.iter().map(|l| self.text_width(l, size)).max().unwrap_or(0)
    }
}

/// Distance from pixel `p` to the segment `a`–`b`.
fn distance(p: (i32, i32), a: (i32, i32), b: (i32, i32)) -> f64 {
    let (px_, py) = (f64::from(p.0), f64::from(p.1));
    let (ax, ay, bx, by) = (f64::from(a.0), f64::from(a.1), f64::from(b.0), f64::from(b.1));
    let (dx, dy) = (bx - ax, by - ay);
    let length2 = dx * dx + dy * dy;
    let t = if length2 > 0.0 {
        (((px_ - ax) * dx + (py - ay) * dy) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (px_ - (ax + t * dx)).hypot(py - (ay + t * dy))
}

/// `s` with control characters (line breaks, NUL) as spaces: they have no glyph, and XML
/// forbids most of them.
fn printable(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// A linear scale from `lo` to `hi` with ticks every `step` (1, 2 or 5 times a power of ten)
/// from zero; `hi` is a tick, `lo` may lie between ticks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

impl Scale {
    /// A scale holding `min..=max` and zero, with about `target` steps. A flat zero series gets
    /// `0..=flat` so the chart still shows a scale; `min_step` keeps counts whole. Below zero
    /// the scale ends a fifth of a step past `min`: a small refund does not take a whole step.
    pub fn nice(min: f64, max: f64, target: usize, flat: f64, min_step: f64) -> Self {
        let (lo, hi) = (min.min(0.0), max.max(0.0));
        let (lo, hi) = if hi - lo > 0.0 { (lo, hi) } else { (0.0, flat) };
        let raw = (hi - lo) / fu(target.max(1));
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|&s| s >= raw * (1.0 - 1e-9))
            .unwrap_or(10.0 * magnitude)
            .max(min_step);
        let fifth = step / 5.0;
        Self {
            lo: (lo / fifth).floor() * fifth,
            hi: (hi / step).ceil() * step,
            step,
        }
    }

    /// The lowest tick.
    fn first(&self) -> f64 {
        (self.lo / self.step).ceil() * self.step
    }

    /// Steps from the lowest tick up to `hi`.
    pub fn steps(&self) -> usize {
        let n = ((self.hi - self.first()) / self.step).round();
        // Never more than a few dozen by construction; the bound only guards odd floats.
        if n.is_finite() && n > 0.0 {
            usize::try_from(whole(n).clamp(1, 100)).unwrap_or(1)
        } else {
            1
        }
    }

    pub fn ticks(&self) -> impl Iterator<Item = f64> + '_ {
        (0..=self.steps()).map(|k| self.first() + fu(k) * self.step)
    }

    /// The pixel row of `v` in `plot`.
    pub fn y(&self, plot: Rect, v: f64) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        plot.bottom - px(t * f64::from(plot.height()))
    }

    /// The pixel column of `v` in `plot` (for horizontal bars).
    pub fn x(&self, plot: Rect, v: f64) -> i32 {
        let t = (v - self.lo) / (self.hi - self.lo);
        plot.left + px(t * f64::from(plot.width()))
    }

    /// Ticks that fit `length` pixels at about one per `spacing`.
    pub fn target(length: i32, spacing: f64) -> usize {
        let n = (f64::from(length) / spacing).floor();
        usize::try_from(whole(n).clamp(2, 8)).unwrap_or(2)
    }
}

/// The periods along the bottom of a plot: one band each, labels thinned out to fit.
pub(crate) struct TimeAxis {
    pub plot: Rect,
    n: usize,
    labels: Vec<(usize, String)>,
}

impl TimeAxis {
    /// Bottom of the plot, leaving room for one row of labels under it.
    pub fn bottom<DB: DrawingBackend>(canvas: &Canvas<'_, DB>) -> i32 {
        canvas.height - canvas.pad - px(canvas.base * 1.4)
    }

    /// The plot from `top` to [`TimeAxis::bottom`], between scale labels `left` and `right`
    /// pixels wide (0 for none), with room for the first and last periods' labels.
    pub fn layout<DB: DrawingBackend>(
        canvas: &Canvas<'_, DB>,
        top: i32,
        (left, right): (i32, i32),
        granularity: Granularity,
        periods: &[NaiveDate],
    ) -> Self {
        let size = canvas.base * 0.9;
        let gap = px(canvas.base * 0.5);
        let all: Vec<String> = periods
            .iter()
            .enumerate()
            .map(|(i, &d)| label(granularity, periods, d, i))
            .collect();
        // Labels are centred on their periods: the first and last may reach past the plot.
        let overhang = |label: Option<&String>| label.map_or(0, |l| canvas.text_width(l, size)) / 2;
        let right_room = if right > 0 {
            canvas.pad + right + gap
        } else {
            canvas.pad
        };
        let plot = Rect {
            left: (canvas.pad + left + gap).max(overhang(all.first()) + gap),
            top,
            right: canvas.width - right_room.max(overhang(all.last()) + gap),
            bottom: Self::bottom(canvas),
        };
        let n = periods.len().max(1);
        let slot = f64::from(canvas.widest(&all, size)) + canvas.base * 1.2;
        let band = f64::from(plot.width().max(1)) / fu(n);
        let shown = thin(granularity, periods, slot / band);
        let labels = shown
            .into_iter()
            .filter_map(|i| all.get(i).map(|l| (i, l.clone())))
            .collect();
        Self { plot, n, labels }
    }

    pub fn band(&self) -> f64 {
        f64::from(self.plot.width()) / fu(self.n)
    }

    /// Left and right pixel columns of period `i`'s bar: `fraction` of its band, at most `max`
    /// wide. Bands under 4 pixels (a year of days) get bars that touch, on the band edges, so
    /// rounding neither drops nor overlaps any.
    pub fn bar(&self, i: usize, fraction: f64, max: f64) -> (i32, i32) {
        let band = self.band();
        if band < 4.0 {
            let edge = |k: usize| self.plot.left + px((fu(k) * band).floor());
            // The right edge is the next band's left: backends fill up to it, not over it.
            return (edge(i), edge(i + 1).max(edge(i) + 1));
        }
        let width = (band * fraction).min(max).max(1.0);
        let x0 = self.x(i) - px(width / 2.0);
        (x0, (x0 + px(width) - 1).max(x0))
    }

    /// Centre of period `i`.
    pub fn x(&self, i: usize) -> i32 {
        self.plot.left + px((fu(i) + 0.5) * self.band())
    }

    pub fn draw<DB: DrawingBackend>(&self, canvas: &Canvas<'_, DB>) -> Result<(), Error> {
        let y = self.plot.bottom + px(canvas.base * 0.9);
        for (i, label) in &self.labels {
            let x = self.x(*i);
            canvas.path(vec![(x, self.plot.bottom), (x, self.plot.bottom + 4)], AXIS, 1)?;
            canvas.text(label, (x, y), canvas.base * 0.9, TEXT, HPos::Center)?;
        }
        Ok(())
    }
}

/// The label of period `i`; months carry their year at January and at the start when the
/// periods cross a year.
fn label(granularity: Granularity, periods: &[NaiveDate], d: NaiveDate, i: usize) -> String {
    let crosses_year = periods
        .first()
        .zip(periods.last())
        .is_some_and(|(a, b)| a.year() != b.year());
    if granularity == Granularity::Month && crosses_year && (i == 0 || d.month() == 1) {
        format::year_month_label(d)
    } else {
        format::period_label(granularity, d)
    }
}

/// Which periods get a label when each label needs `bands` bands of room.
fn thin(granularity: Granularity, periods: &[NaiveDate], bands: f64) -> Vec<usize> {
    let every = |stride: usize| (0..periods.len()).step_by(stride).collect::<Vec<_>>();
    let fits = |stride: usize| fu(stride) >= bands;
    let month_index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
    let shown = match granularity {
        Granularity::Day => match [1, 2, 3, 7, 14].into_iter().find(|&s| fits(s)) {
            Some(s) => every(s),
            // Past two weeks a label, label the first of every m-th month (a month ≥ 28 days).
            None => {
                let m = [1, 2, 3, 6, 12]
                    .into_iter()
                    .find(|&m| fits(m * 28))
                    .unwrap_or_else(|| years(bands / 365.0) * 12);
                let m = i64::try_from(m).unwrap_or(i64::MAX);
                (0..periods.len())
                    .filter(|&i| periods[i].day() == 1 && month_index(periods[i]) % m == 0)
                    .collect()
            }
        },
        Granularity::Week => {
            let s = [1, 2, 4, 8, 13, 26, 52]
                .into_iter()
                .find(|&s| fits(s))
                .unwrap_or_else(|| years(bands / 52.0) * 52);
            every(s)
        }
        Granularity::Month => match [1, 2, 3, 6, 12].into_iter().find(|&s| fits(s)) {
            Some(1) => every(1),
            // Quarters and halves read best on their own months: Jan, Apr, Jul, Oct.
            s => {
                let s = s.unwrap_or_else(|| years(bands / 12.0) * 12);
                let s = i64::try_from(s).unwrap_or(i64::MAX);
                (0..periods.len())
                    .filter(|&i| month_index(periods[i]) % s == 0)
                    .collect()
            }
        },
    };
    if shown.is_empty() && !periods.is_empty() {
        vec![0]
    } else {
        shown
    }
}

/// Whole years (at least one) covering `years` years.
fn years(years: f64) -> usize {
    usize::try_from(whole(years.ceil()).max(1)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_hold_zero_and_use_round_steps() {
        let s = Scale::nice(120.0, 870.0, 5, 1.0, 1.0);
        assert_eq!((s.lo, s.hi, s.step), (0.0, 1000.0, 200.0));
        let s = Scale::nice(-300_000.0, 1_200_000.0, 5, 1.0, 1.0);
        assert_eq!((s.lo, s.hi, s.step), (-300_000.0, 1_500_000.0, 500_000.0));
        assert_eq!(
            s.ticks().collect::<Vec<_>>(),
            [0.0, 500_000.0, 1_000_000.0, 1_500_000.0]
        );
        let s = Scale::nice(-12_000.0, 900_000.0, 5, 1.0, 1.0);
        assert_eq!((s.lo, s.hi, s.step), (-40_000.0, 1_000_000.0, 200_000.0));
        let s = Scale::nice(-900_000.0, 0.0, 3, 1.0, 1.0);
        assert_eq!((s.lo, s.hi), (-900_000.0, 0.0));
        assert_eq!(s.ticks().collect::<Vec<_>>(), [-500_000.0, 0.0]);
    }

    #[test]
    fn a_flat_zero_series_still_gets_a_scale() {
        let s = Scale::nice(0.0, 0.0, 5, 10_000.0, 1.0);
        assert_eq!((s.lo, s.hi, s.step), (0.0, 10_000.0, 2_000.0));
    }

    #[test]
    fn counts_step_by_whole_numbers() {
        let s = Scale::nice(0.0, 3.0, 8, 10.0, 1.0);
        assert!((s.step - 1.0).abs() < 1e-9);
    }

    fn days(n: u64) -> Vec<NaiveDate> {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid date");
        (0..n).map(|i| start + chrono::Days::new(i)).collect()
    }

    #[test]
    fn a_year_of_days_is_labelled_by_month_starts() {
        let periods = days(365);
        let shown = thin(Granularity::Day, &periods, 20.0);
        assert!(shown.iter().all(|&i| periods[i].day() == 1));
        assert_eq!(shown.len(), 12);
        let shown = thin(Granularity::Day, &periods, 40.0);
        assert_eq!(shown.len(), 6);
    }

    #[test]
    fn a_month_of_days_is_labelled_weekly_when_narrow() {
        let shown = thin(Granularity::Day, &days(30), 5.0);
        assert_eq!(shown, vec![0, 7, 14, 21, 28]);
    }

    #[test]
    fn labels_never_vanish_entirely() {
        assert_eq!(thin(Granularity::Day, &days(20), 1e9), vec![0]);
        assert!(thin(Granularity::Week, &[], 3.0).is_empty());
    }
}
