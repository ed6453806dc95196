//! Net sales per period, the previous period as a lighter line under it.

use plotters::prelude::{DrawingBackend, RGBColor};
use plotters::style::text_anchor::HPos;

use super::{extent, same_length, titled};
use crate::draw::{Canvas, LegendItem, Mark, Scale, TEXT, TimeAxis, f, px, whole};
use crate::{Error, Plot, SalesLine, format};

const CURRENT: RGBColor = RGBColor(0x2F, 0x6D, 0xB5);
const PREVIOUS: RGBColor = RGBColor(0xA9, 0xBC, 0xD3);

/// Whether each value gets a dot: only where they stay apart, else they bead the line.
pub(crate) fn dots<DB: DrawingBackend>(c: &Canvas<'_, DB>, axis: &TimeAxis) -> bool {
    axis.band() >= c.base * 1.5
}

pub(crate) struct Prepared<'a> {
    chart: &'a SalesLine,
    title: String,
}

pub(crate) fn prepare(chart: &SalesLine) -> Result<Prepared<'_>, Error> {
    same_length("current", &chart.current, &chart.periods)?;
    if let Some(previous) = &chart.previous {
        same_length("previous", previous, &chart.periods)?;
    }
    Ok(Prepared {
        chart,
        title: titled(&chart.title, chart.granularity, &chart.periods),
    })
}

impl Plot for Prepared<'_> {
    fn plot<DB: DrawingBackend>(&self, c: &Canvas<'_, DB>) -> Result<(), Error> {
        let chart = self.chart;
        let legend = match chart.previous {
            Some(_) => vec![
                LegendItem {
                    label: chart.current_label.clone(),
                    color: CURRENT,
                    mark: Mark::Line,
                },
                LegendItem {
                    label: chart.previous_label.clone(),
                    color: PREVIOUS,
                    mark: Mark::Line,
                },
            ],
            None => vec![],
        };
        let top = c.header(&self.title, &legend)? + px(c.base);
        if chart.periods.is_empty() {
            return c.no_data(top);
        }
        let bottom = TimeAxis::bottom(c);
        let (min, max) = extent(
            chart
                .current
                .iter()
                .chain(chart.previous.iter().flatten())
                .map(|&v| f(v)),
        );
        let scale = Scale::nice(min, max, Scale::target(bottom - top, c.base * 3.5), 10_000.0, 1.0);
        let labels: Vec<String> = scale.ticks().map(|t| format::won_axis(whole(t))).collect();
        let axis = TimeAxis::layout(
            c,
            top,
            (c.widest(&labels, c.base * 0.9), 0),
            chart.granularity,
            &chart.periods,
        );
        let plot = axis.plot;
        c.grid(plot, &scale)?;
        c.y_labels(plot, &scale, &labels, true, TEXT)?;
        axis.draw(c)?;

        let points = |values: &[i64]| -> Vec<(i32, i32)> {
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| (axis.x(i), scale.y(plot, f(v))))
                .collect()
        };
        let thick = if c.base >= 13.0 { 2.6 } else { 2.0 };
        let dots = dots(c, &axis);
        if let Some(previous) = &chart.previous {
            let p = points(previous);
            c.line(&p, PREVIOUS, thick * 0.7)?;
            if dots {
                for &at in &p {
                    c.dot(at, px(c.base * 0.2), PREVIOUS)?;
                }
            }
        }
        let p = points(&chart.current);
        c.line(&p, CURRENT, thick)?;
        if dots {
            for &at in &p {
                c.dot(at, px(c.base * 0.28), CURRENT)?;
            }
        }
        if let ([(x, y)], [v]) = (p.as_slice(), chart.current.as_slice()) {
            // A lone dot says little; its amount beside it says the rest.
            c.text(
                &format::won_full(*v),
                (x + px(c.base * 0.7), *y),
                c.base * 0.9,
                TEXT,
                HPos::Left,
            )?;
        }
        Ok(())
    }
}
