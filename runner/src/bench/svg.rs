//! `target/bench/<arch>-batching.svg`, written by hand. The figure is the
//! event ratios: one column per flavour, one row per event (barriers and
//! invalidations inside lazy mode over outside, below 1 = saved; drains,
//! which happen only inside, as a count), per N. A secondary row shows guest
//! ns per page under TCG (not a hardware cost), outliers ringed. Every axis
//! is labelled; x ticks are the sizes the bench ran.

mod draw;

use super::records::{of_kind, outlier, Record, OUTLIER_FACTOR};
use super::table::{partner, per_rep, FLAVOURS};
use super::ArchResult;
use draw::{Canvas, LogScale, Marker, Series};

/// (op, legend label, colour, marker).
const OPS: [(&str, &str, &str, Marker); 2] =
    [("apply", "apply_to_page_range", "#1f77b4", Marker::Circle), ("vmap", "vmap / vunmap", "#d62728", Marker::Square)];

const LEFT: f64 = 36.0;
const COLUMN_W: f64 = 262.0;
const TICKS_W: f64 = 46.0;
const PLOT_W: f64 = 200.0;
const RATIO_H: f64 = 100.0;
const TIME_H: f64 = 130.0;
/// A plot's x tick labels and the gap to the next row.
const BELOW: f64 = 40.0;

/// One row of event panels: its y label (two lines) and what a point is.
struct EventRow {
    label: [&'static str; 2],
    ratio: bool,
    field: &'static str,
}

const EVENT_ROWS: [EventRow; 3] = [
    EventRow { label: ["barriers", "inside / outside"], ratio: true, field: "barriers" },
    EventRow { label: ["invalidations", "inside / outside"], ratio: true, field: "invalidations" },
    EventRow { label: ["drains inside", "(none outside)"], ratio: false, field: "drains" },
];

/// The two ops' markers sit apart, so that equal values both show.
fn offset(op: &str) -> f64 {
    if op == "apply" {
        -2.5
    } else {
        2.5
    }
}

/// The sizes the bench ran, in order.
fn sizes(records: &[Record]) -> Vec<u64> {
    let mut sizes: Vec<u64> = of_kind(records, "batching").filter_map(|r| r.key("pages")?.parse().ok()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The inside-lazy record of one point.
fn inside<'a>(records: &'a [Record], flavour: &str, op: &str, pages: u64) -> Option<&'a Record> {
    let pages = pages.to_string();
    of_kind(records, "batching").find(|r| {
        r.key("flavour") == Some(flavour)
            && r.key("op") == Some(op)
            && r.key("lazy") == Some("in")
            && r.key("pages") == Some(pages.as_str())
    })
}

/// The row's value at one point: the in/out ratio (none when nothing
/// happened outside) or the count inside, per map + unmap.
fn event_value(records: &[Record], row: &EventRow, flavour: &str, op: &str, pages: u64) -> Option<f64> {
    let record = inside(records, flavour, op, pages)?;
    let count = per_rep(record, row.field);
    if !row.ratio {
        return Some(count);
    }
    let outside = per_rep(partner(records, record, "out")?, row.field);
    (outside > 0.0).then(|| count / outside)
}

/// Every value of the rows `pick` chooses, for their common axis.
fn row_values(records: &[Record], sizes: &[u64], pick: impl Fn(&EventRow) -> bool) -> Vec<f64> {
    let mut values = Vec::new();
    for row in EVENT_ROWS.iter().filter(|row| pick(row)) {
        for flavour in FLAVOURS {
            for (op, ..) in OPS {
                values.extend(sizes.iter().filter_map(|&n| event_value(records, row, flavour, op, n)));
            }
        }
    }
    values
}

pub fn render(result: &ArchResult) -> String {
    let records = &result.records;
    let sizes = sizes(records);
    let width = LEFT + COLUMN_W * FLAVOURS.len() as f64;
    let mut canvas = Canvas::default();
    let mut y = 22.0;
    canvas.text(10.0, y, "start", 15.0, &format!("{}: lazy MMU batching, map then unmap N pages", result.arch.name()));
    y += 18.0;
    canvas.text(
        10.0,
        y,
        "start",
        11.0,
        "Exact event counts per map + unmap: inside lazy mode over outside (1 = no change, below 1 = fewer \
         events in lazy mode); drains are counted inside only.",
    );
    y += 22.0;
    let mut legend: Vec<(Series, &str)> =
        OPS.iter().map(|(_, label, colour, marker)| (Series::new(colour, *marker, true, ""), *label)).collect();
    legend.push((Series::new("#888", Marker::None, false, "4,3"), "ratio 1 (same count)"));
    canvas.legend(10.0, y, &legend);
    y += 22.0;
    for (column, flavour) in FLAVOURS.iter().enumerate() {
        let x = LEFT + column as f64 * COLUMN_W + TICKS_W + PLOT_W / 2.0;
        canvas.text(x, y, "middle", 13.0, &format!("flavour {flavour}"));
    }
    y += 10.0;
    // Both ratio rows share one axis, so their panels compare.
    let ratio_scale = LogScale::fitting(&row_values(records, &sizes, |row| row.ratio), true, false);
    for row in &EVENT_ROWS {
        let scale = if row.ratio {
            ratio_scale
        } else {
            LogScale::fitting(&row_values(records, &sizes, |other| other.field == row.field), false, true)
        };
        canvas.y_label(LEFT - 24.0, y + RATIO_H / 2.0, &row.label);
        for (column, flavour) in FLAVOURS.iter().enumerate() {
            let left = LEFT + column as f64 * COLUMN_W + TICKS_W;
            let series: Vec<Series> = OPS
                .iter()
                .map(|(op, _, colour, marker)| {
                    let mut series = Series::new(colour, *marker, true, "");
                    series.points = sizes.iter().map(|&n| event_value(records, row, flavour, op, n)).collect();
                    series.offset = offset(op);
                    series
                })
                .collect();
            canvas.panel(left, y, PLOT_W, RATIO_H, &scale, &sizes, &series, row.ratio);
        }
        y += RATIO_H + BELOW;
    }
    y = time_section(&mut canvas, records, &sizes, y);
    canvas.finish(width, y)
}

/// The secondary row: guest ns per page, inside solid and outside dashed.
fn time_section(canvas: &mut Canvas, records: &[Record], sizes: &[u64], mut y: f64) -> f64 {
    y += 12.0;
    canvas.text(
        10.0,
        y,
        "start",
        13.0,
        "Secondary: guest ns per page under QEMU TCG (median of the runs; emulated time, not a hardware cost)",
    );
    y += 18.0;
    let mut legend = Vec::new();
    for (_, label, colour, marker) in OPS {
        legend.push((Series::new(colour, marker, true, ""), format!("{label}, inside lazy mode")));
        legend.push((Series::new(colour, marker, false, "5,3"), "outside".to_string()));
    }
    legend.push((
        Series::new("#d62728", Marker::Ring, false, ""),
        format!("outlier: over x{OUTLIER_FACTOR} the median of all flavours at that N"),
    ));
    let legend: Vec<(Series, &str)> = legend.iter().map(|(series, label)| (series.clone(), label.as_str())).collect();
    canvas.legend(10.0, y, &legend);
    y += 24.0;
    let values: Vec<f64> =
        of_kind(records, "batching").filter_map(|r| r.stats("ns_per_page")).map(|s| s.median).collect();
    let scale = LogScale::fitting(&values, false, false);
    canvas.y_label(LEFT - 24.0, y + TIME_H / 2.0, &["guest ns per page", "(log scale)"]);
    for (column, flavour) in FLAVOURS.iter().enumerate() {
        let left = LEFT + column as f64 * COLUMN_W + TICKS_W;
        let mut all = Vec::new();
        for (op, _, colour, marker) in OPS {
            for (lazy, filled, dash) in [("in", true, ""), ("out", false, "5,3")] {
                let mut series = Series::new(colour, marker, filled, dash);
                series.offset = offset(op);
                for &n in sizes {
                    let record = inside(records, flavour, op, n).and_then(|r| {
                        if lazy == "in" {
                            Some(r)
                        } else {
                            partner(records, r, "out")
                        }
                    });
                    series.points.push(record.and_then(|r| r.stats("ns_per_page")).map(|s| s.median));
                    series.rings.push(record.and_then(|r| outlier(records, r)));
                }
                all.push(series);
            }
        }
        canvas.panel(left, y, PLOT_W, TIME_H, &scale, sizes, &all, false);
    }
    y + TIME_H + BELOW
}
