//! The few SVG pieces the bench plot needs: text, legends, log-scale panels
//! with markers and lines.

use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Square,
    /// The outlier ring (legend only; points get it through `rings`).
    Ring,
    /// A line without markers (legend only).
    None,
}

/// One line of points on a panel, one value per x tick.
#[derive(Clone, Debug)]
pub struct Series {
    pub colour: &'static str,
    pub marker: Marker,
    pub filled: bool,
    pub dash: &'static str,
    pub points: Vec<Option<f64>>,
    /// Per point: how many times its series' median, for an outlier.
    pub rings: Vec<Option<f64>>,
    /// Sideways shift, so that equal points of two series both show.
    pub offset: f64,
}

impl Series {
    pub fn new(colour: &'static str, marker: Marker, filled: bool, dash: &'static str) -> Series {
        Series { colour, marker, filled, dash, points: Vec::new(), rings: Vec::new(), offset: 0.0 }
    }
}

/// A logarithmic y axis over whole decades, with a row for zero below
/// them when the data has zeros.
#[derive(Clone, Copy, Debug)]
pub struct LogScale {
    low: i32,
    high: i32,
    zero_row: bool,
}

/// Room the zero row takes under the decades.
const ZERO_ROW: f64 = 26.0;

impl LogScale {
    /// The decades around `values`' positive ones; `with_one` keeps 1 in.
    pub fn fitting(values: &[f64], with_one: bool, zeros: bool) -> LogScale {
        let positive: Vec<f64> = values.iter().copied().filter(|v| *v > 0.0 && v.is_finite()).collect();
        let decade = |v: f64| v.log10();
        let mut low = positive.iter().copied().map(decade).fold(f64::INFINITY, f64::min).floor();
        let mut high = positive.iter().copied().map(decade).fold(f64::NEG_INFINITY, f64::max).ceil();
        if positive.is_empty() {
            (low, high) = (0.0, 1.0);
        }
        if with_one {
            (low, high) = (low.min(0.0), high.max(0.0));
        }
        let (low, high) = (low as i32, high as i32);
        let zero_row = zeros && values.contains(&0.0);
        LogScale { low, high: if high > low { high } else { low + 1 }, zero_row }
    }

    /// The y of `value` in a panel from `top`, `height` high.
    fn y(&self, value: f64, top: f64, height: f64) -> Option<f64> {
        let log_height = if self.zero_row { height - ZERO_ROW } else { height };
        if value > 0.0 {
            let fraction = (value.log10() - f64::from(self.low)) / f64::from(self.high - self.low);
            Some(top + log_height - fraction * log_height)
        } else {
            self.zero_row.then_some(top + height - ZERO_ROW / 2.0)
        }
    }
}

/// `1`, `10`, `0.01`; `1e5` and `1e-4` beyond.
fn decade_label(decade: i32) -> String {
    match decade {
        0..=4 => 10u64.pow(decade as u32).to_string(),
        -3..=-1 => format!("{:.*}", decade.unsigned_abs() as usize, 10f64.powi(decade)),
        _ => format!("1e{decade}"),
    }
}

#[derive(Default)]
pub struct Canvas {
    body: String,
}

impl Canvas {
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, size: f64, text: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" font-size=\"{size}\">{}</text>",
            escape(text)
        );
    }

    /// A y axis label, read bottom to top, centred on `y`: its first line
    /// at `x`, the next ones to the right of it.
    pub fn y_label(&mut self, x: f64, y: f64, lines: &[&str]) {
        for (index, line) in lines.iter().enumerate() {
            let _ = writeln!(
                self.body,
                "<text transform=\"translate({:.1},{y:.1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"{}\">{}</text>",
                x + 13.0 * index as f64,
                if index == 0 { 12 } else { 10 },
                escape(line)
            );
        }
    }

    /// One row of swatches and labels, each placed after the previous one.
    pub fn legend(&mut self, x: f64, y: f64, entries: &[(Series, &str)]) {
        let mut at = x;
        for (series, label) in entries {
            let _ = writeln!(
                self.body,
                "<line x1=\"{at:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"1.5\" \
                 stroke-dasharray=\"{}\"/>",
                at + 26.0,
                if series.marker == Marker::Ring { "none" } else { series.colour },
                series.dash
            );
            self.marker(series, at + 13.0, y);
            if series.marker == Marker::Ring {
                self.ring(at + 13.0, y, None, false);
            }
            self.text(at + 32.0, y + 4.0, "start", 11.0, label);
            at += 32.0 + 6.4 * label.chars().count() as f64 + 22.0;
        }
    }

    fn marker(&mut self, series: &Series, x: f64, y: f64) {
        let fill = if series.filled { series.colour } else { "white" };
        let colour = series.colour;
        let _ = match series.marker {
            Marker::Circle => writeln!(
                self.body,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.2\" fill=\"{fill}\" stroke=\"{colour}\" stroke-width=\"1.3\"/>"
            ),
            Marker::Square => writeln!(
                self.body,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"6\" height=\"6\" fill=\"{fill}\" stroke=\"{colour}\" \
                 stroke-width=\"1.3\"/>",
                x - 3.0,
                y - 3.0
            ),
            Marker::Ring | Marker::None => Ok(()),
        };
    }

    /// An outlier's ring and, if given, how far out it is: right of the
    /// ring, or left of it with `left` (an inside point and an outside
    /// point at one N both ringed keep their labels apart).
    fn ring(&mut self, x: f64, y: f64, times: Option<f64>, left: bool) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7.5\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.6\"/>"
        );
        if let Some(times) = times {
            let (label_x, anchor) = if left { (x - 9.5, "end") } else { (x + 9.5, "start") };
            let _ = writeln!(
                self.body,
                "<text x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" font-size=\"9\" fill=\"#d62728\">x{times:.0}</text>",
                y + 3.0
            );
        }
    }

    /// A framed panel: y ticks at each decade (and 0), x ticks at `sizes`,
    /// the x axis label, an optional dashed line at 1, then the series.
    #[allow(clippy::too_many_arguments)]
    pub fn panel(
        &mut self,
        left: f64,
        top: f64,
        width: f64,
        height: f64,
        scale: &LogScale,
        sizes: &[u64],
        series: &[Series],
        line_at_one: bool,
    ) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"none\" stroke=\"#888\"/>"
        );
        for decade in scale.low..=scale.high {
            let y = scale.y(10f64.powi(decade), top, height).expect("positive");
            self.grid_line(left, width, y, "#e4e4e4", "");
            self.text(left - 4.0, y + 3.5, "end", 10.0, &decade_label(decade));
        }
        if let Some(y) = scale.y(0.0, top, height) {
            self.grid_line(left, width, y + ZERO_ROW / 2.0, "#bbb", "2,2");
            self.text(left - 4.0, y + 3.5, "end", 10.0, "0");
        }
        if line_at_one {
            let y = scale.y(1.0, top, height).expect("positive");
            self.grid_line(left, width, y, "#888", "4,3");
        }
        let x_of = |index: usize| left + (index as f64 + 0.5) * width / sizes.len().max(1) as f64;
        for (index, size) in sizes.iter().enumerate() {
            let x = x_of(index);
            let bottom = top + height;
            let _ = writeln!(
                self.body,
                "<line x1=\"{x:.1}\" y1=\"{bottom:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#888\"/>",
                bottom + 3.0
            );
            self.text(x, bottom + 13.0, "middle", 9.5, &size.to_string());
        }
        self.text(left + width / 2.0, top + height + 27.0, "middle", 11.0, "N pages");
        for line in series {
            let points: Vec<Option<(f64, f64)>> = line
                .points
                .iter()
                .enumerate()
                .map(|(index, value)| Some((x_of(index) + line.offset, scale.y((*value)?, top, height)?)))
                .collect();
            for run in points.split(Option::is_none).filter(|run| run.len() > 1) {
                let path: Vec<String> = run.iter().flatten().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = writeln!(
                    self.body,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.4\" stroke-dasharray=\"{}\"/>",
                    path.join(" "),
                    line.colour,
                    line.dash
                );
            }
            for (index, (x, y)) in points.iter().enumerate().filter_map(|(i, p)| Some((i, (*p)?))) {
                self.marker(line, x, y);
                if let Some(times) = line.rings.get(index).copied().flatten() {
                    self.ring(x, y, Some(times), line.filled);
                }
            }
        }
    }

    fn grid_line(&mut self, left: f64, width: f64, y: f64, colour: &str, dash: &str) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-dasharray=\"{dash}\"/>",
            left + width
        );
    }

    pub fn finish(self, width: f64, height: f64) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
             font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
            self.body
        )
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
