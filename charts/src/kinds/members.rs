//! Sign-ups as bars on the left scale, repeat rate as a line on the right one. Both scales
//! share the gridlines, and each is captioned and coloured like its series.

use plotters::prelude::{DrawingBackend, RGBColor};
use plotters::style::text_anchor::HPos;

use super::{extent, same_length, titled};
use crate::draw::{Canvas, LegendItem, Mark, Scale, TimeAxis, f, fu, px, whole};
use crate::{Error, Members, Plot, format};

const SIGN_UPS: RGBColor = RGBColor(0x8F, 0xB0, 0xD6);
const SIGN_UPS_TEXT: RGBColor = RGBColor(0x35, 0x5C, 0x8A);
const RATE: RGBColor = RGBColor(0xE8, 0x7D, 0x1E);
const RATE_TEXT: RGBColor = RGBColor(0xA8, 0x55, 0x0C);

pub(crate) struct Prepared<'a> {
    chart: &'a Members,
    title: String,
}

pub(crate) fn prepare(chart: &Members) -> Result<Prepared<'_>, Error> {
    same_length("sign_ups", &chart.sign_ups, &chart.periods)?;
    same_length("repeat_rate", &chart.repeat_rate, &chart.periods)?;
    let invalid = |series: &str, index| Error::InvalidValue {
        series: series.to_owned(),
        index,
    };
    if let Some(index) = chart.sign_ups.iter().position(|&n| n < 0) {
        return Err(invalid("sign_ups", index));
    }
    if let Some(index) = chart.repeat_rate.iter().position(|r| !(0.0..=1.0).contains(r)) {
        return Err(invalid("repeat_rate", index));
    }
    Ok(Prepared {
        chart,
        title: titled(&chart.title, chart.granularity, &chart.periods),
    })
}

/// A right-hand step for `steps` gridlines above zero that reaches `max`.
fn rate_step(steps: usize, max: f64) -> f64 {
    [0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0]
        .into_iter()
        .find(|&s| s * fu(steps) >= max)
        .unwrap_or(1.0)
}

impl Plot for Prepared<'_> {
    fn plot<DB: DrawingBackend>(&self, c: &Canvas<'_, DB>) -> Result<(), Error> {
        let chart = self.chart;
        let legend = [
            LegendItem {
                label: "신규 가입".into(),
                color: SIGN_UPS,
                mark: Mark::Box,
            },
            LegendItem {
                label: "재구매율".into(),
                color: RATE,
                mark: Mark::Line,
            },
        ];
        let header = c.header(&self.title, &legend)?;
        if chart.periods.is_empty() {
            return c.no_data(header + px(c.base));
        }
        // A caption over each scale names its unit.
        let caption_y = header + px(c.base * 0.9);
        let top = caption_y + px(c.base * 1.3);
        let bottom = TimeAxis::bottom(c);
        let (_, max) = extent(chart.sign_ups.iter().map(|&n| f(n)));
        let left = Scale::nice(0.0, max, Scale::target(bottom - top, c.base * 3.5), 10.0, 1.0);
        let (_, max_rate) = extent(chart.repeat_rate.iter().copied());
        // At least 0–5%: a flat zero rate on a 0–0.5% scale would read as precision.
        let right = Scale {
            lo: 0.0,
            hi: 0.0,
            step: rate_step(left.steps(), max_rate.max(0.05)),
        };
        let right = Scale {
            hi: right.step * fu(left.steps()),
            ..right
        };
        let size = c.base * 0.9;
        let left_labels: Vec<String> = left.ticks().map(|t| format::count_axis(whole(t))).collect();
        let right_labels: Vec<String> = right.ticks().map(format::percent).collect();
        let left_caption = "가입(명)";
        let right_caption = "재구매율";
        let widths = (c.widest(&left_labels, size), c.widest(&right_labels, size));
        let axis = TimeAxis::layout(c, top, widths, chart.granularity, &chart.periods);
        let plot = axis.plot;
        c.grid(plot, &left)?;
        c.y_labels(plot, &left, &left_labels, true, SIGN_UPS_TEXT)?;
        c.y_labels(plot, &right, &right_labels, false, RATE_TEXT)?;
        axis.draw(c)?;
        // Over the outer edge of each scale, where they cannot be cut.
        c.text(left_caption, (c.pad, caption_y), size, SIGN_UPS_TEXT, HPos::Left)?;
        c.text(
            right_caption,
            (c.width - c.pad, caption_y),
            size,
            RATE_TEXT,
            HPos::Right,
        )?;

        let zero = left.y(plot, 0.0);
        for (i, &n) in chart.sign_ups.iter().enumerate() {
            if n > 0 {
                let (x0, x1) = axis.bar(i, 0.6, c.base * 3.0);
                c.rect((x0, left.y(plot, f(n))), (x1, zero), SIGN_UPS)?;
            }
        }
        c.zero_line(plot, &left)?;
        let points: Vec<(i32, i32)> = chart
            .repeat_rate
            .iter()
            .enumerate()
            .map(|(i, &r)| (axis.x(i), right.y(plot, r)))
            .collect();
        c.line(&points, RATE, if c.base >= 13.0 { 2.6 } else { 2.0 })?;
        if super::sales_line::dots(c, &axis) {
            for at in points {
                c.dot(at, px(c.base * 0.28), RATE)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::rate_step;

    #[test]
    fn the_rate_scale_reaches_the_highest_rate_on_shared_gridlines() {
        assert!((rate_step(5, 0.37) - 0.1).abs() < 1e-12);
        assert!((rate_step(4, 0.37) - 0.1).abs() < 1e-12);
        assert!((rate_step(5, 0.0) - 0.001).abs() < 1e-12);
        assert!((rate_step(2, 1.0) - 0.5).abs() < 1e-12);
    }
}
