//! Horizontal bars for top products or categories, each with its amount at the end.

use plotters::prelude::{DrawingBackend, RGBColor};
use plotters::style::text_anchor::HPos;

use super::extent;
use crate::draw::{AXIS, Canvas, MUTED, Rect, Scale, TEXT, f, fu, px};
use crate::{Error, Plot, TopBars, format};

const BAR: RGBColor = RGBColor(0x4E, 0x79, 0xA7);

pub(crate) struct Prepared<'a> {
    chart: &'a TopBars,
}

pub(crate) fn prepare(chart: &TopBars) -> Prepared<'_> {
    Prepared { chart }
}

impl Plot for Prepared<'_> {
    fn plot<DB: DrawingBackend>(&self, c: &Canvas<'_, DB>) -> Result<(), Error> {
        let bars = &self.chart.bars;
        let top = c.header(&self.chart.title, &[])? + px(c.base * 0.8);
        if bars.is_empty() {
            return c.no_data(top);
        }
        let size = c.base * 0.95;
        let gap = px(c.base * 0.6);
        let bottom = c.height - c.pad;
        // Rows fill the height (up to a limit) and are no shorter than a line of text; what
        // does not fit is counted in a last row rather than drawn illegibly.
        let room = bottom - top;
        let fits = usize::try_from(room / px(c.base * 1.5)).unwrap_or(0).max(1);
        let (shown, hidden) = if bars.len() > fits {
            (&bars[..fits - 1], bars.len() - (fits - 1))
        } else {
            (&bars[..], 0)
        };
        let rows = shown.len() + usize::from(hidden > 0);
        let row = (f64::from(room) / fu(rows)).min(c.base * 4.5);

        let values: Vec<String> = shown.iter().map(|(_, v)| format::won_axis(*v)).collect();
        let value_w = c.widest(&values, size);
        let label_max = c.width * 3 / 10;
        let labels: Vec<String> = shown.iter().map(|(l, _)| c.fit(l, size, label_max)).collect();
        let label_w = c.widest(&labels, size);
        let plot = Rect {
            left: c.pad + label_w + gap,
            top,
            right: (c.width - c.pad - value_w - gap).max(c.pad + label_w + gap + 1),
            bottom: top + px(row * fu(rows)),
        };
        let (min, max) = extent(shown.iter().map(|(_, v)| f(*v)));
        // No ticks here: the amounts are written on the bars.
        let scale = Scale {
            lo: min,
            hi: if max > min { max } else { min + 1.0 },
            step: 1.0,
        };
        let zero = scale.x(plot, 0.0);
        let thickness = (row * 0.62).min(c.base * 2.2).max(1.0);
        for (k, (((_, value), label), amount)) in shown.iter().zip(&labels).zip(&values).enumerate() {
            let mid = top + px(row * (fu(k) + 0.5));
            let y0 = mid - px(thickness / 2.0);
            let y1 = (y0 + px(thickness) - 1).max(y0);
            let end = scale.x(plot, f(*value));
            if *value != 0 {
                c.rect((end.min(zero), y0), (end.max(zero), y1), BAR)?;
            }
            c.text(label, (plot.left - gap, mid), size, TEXT, HPos::Right)?;
            // Amounts to the right of the bar; a negative bar's amount right of zero.
            c.text(amount, (end.max(zero) + gap / 2, mid), size, TEXT, HPos::Left)?;
        }
        if hidden > 0 {
            let mid = top + px(row * (fu(shown.len()) + 0.5));
            c.text(
                &format!("외 {hidden}개"),
                (plot.left - gap, mid),
                size,
                MUTED,
                HPos::Right,
            )?;
        }
        c.path(vec![(zero, plot.top), (zero, plot.bottom)], AXIS, 1)
    }
}
