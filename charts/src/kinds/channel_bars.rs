//! Sales per period stacked by channel; negative amounts (net refunds) stack below zero.

use plotters::prelude::DrawingBackend;

use super::{extent, same_length, titled};
use crate::draw::{Canvas, LegendItem, Mark, SERIES, Scale, TEXT, TimeAxis, f, px, whole};
use crate::{ChannelBars, Error, Plot, format};

pub(crate) struct Prepared<'a> {
    chart: &'a ChannelBars,
    title: String,
}

pub(crate) fn prepare(chart: &ChannelBars) -> Result<Prepared<'_>, Error> {
    for (label, values) in &chart.series {
        same_length(label, values, &chart.periods)?;
    }
    Ok(Prepared {
        chart,
        title: titled(&chart.title, chart.granularity, &chart.periods),
    })
}

impl Plot for Prepared<'_> {
    fn plot<DB: DrawingBackend>(&self, c: &Canvas<'_, DB>) -> Result<(), Error> {
        let chart = self.chart;
        let legend: Vec<LegendItem> = chart
            .series
            .iter()
            .enumerate()
            .map(|(k, (label, _))| LegendItem {
                label: label.clone(),
                color: SERIES[k % SERIES.len()],
                mark: Mark::Box,
            })
            .collect();
        let top = c.header(&self.title, &legend)? + px(c.base);
        if chart.periods.is_empty() {
            return c.no_data(top);
        }
        // Positives stack up from zero and negatives down from it, each in series order.
        let stacks = |i: usize| {
            chart.series.iter().fold((0.0, 0.0), |(up, down), (_, values)| {
                let v = f(values[i]);
                if v >= 0.0 { (up + v, down) } else { (up, down + v) }
            })
        };
        let (min, max) = extent((0..chart.periods.len()).flat_map(|i| {
            let (up, down) = stacks(i);
            [up, down]
        }));
        let bottom = TimeAxis::bottom(c);
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

        for i in 0..chart.periods.len() {
            // 70% of a band, but no wider than a few characters: three months are not three slabs.
            let (x0, x1) = axis.bar(i, 0.7, c.base * 4.0);
            let (mut up, mut down) = (0.0, 0.0);
            for (k, (_, values)) in chart.series.iter().enumerate() {
                if values[i] == 0 {
                    continue;
                }
                let v = f(values[i]);
                let (from, to) = if v >= 0.0 {
                    up += v;
                    (up - v, up)
                } else {
                    down += v;
                    (down - v, down)
                };
                c.rect(
                    (x0, scale.y(plot, to)),
                    (x1, scale.y(plot, from)),
                    SERIES[k % SERIES.len()],
                )?;
            }
        }
        c.zero_line(plot, &scale)
    }
}
