//! `target/bench/<arch>-batching.svg`, written by hand: guest time per page
//! against N (both axes logarithmic), one panel per flavour, inside lazy
//! mode solid and outside dashed, apply_to_page_range and vmap in two colours.

use std::fmt::Write;

use super::records::{of_kind, Record};
use super::table::FLAVOURS;
use super::ArchResult;

const PANEL_W: f64 = 250.0;
const PANEL_H: f64 = 230.0;
const MARGIN_LEFT: f64 = 52.0;
const MARGIN_TOP: f64 = 56.0;
const PLOT_W: f64 = 180.0;
const PLOT_H: f64 = 160.0;
const MAX_LOG2_PAGES: f64 = 12.0;

/// (op, lazy, colour, dash) of each line.
const SERIES: [(&str, &str, &str, &str); 4] = [
    ("apply", "in", "#1f77b4", ""),
    ("apply", "out", "#1f77b4", "5,3"),
    ("vmap", "in", "#d62728", ""),
    ("vmap", "out", "#d62728", "5,3"),
];

/// (log2 pages, median ns per page) of one series, in page order.
fn points(records: &[Record], flavour: &str, op: &str, lazy: &str) -> Vec<(f64, f64)> {
    of_kind(records, "batching")
        .filter(|r| r.key("flavour") == Some(flavour) && r.key("op") == Some(op) && r.key("lazy") == Some(lazy))
        .filter_map(|r| {
            let pages: f64 = r.key("pages")?.parse().ok()?;
            let ns = r.stats("ns_per_page")?.median;
            (pages >= 1.0 && ns > 0.0).then(|| (pages.log2(), ns))
        })
        .collect()
}

pub fn render(result: &ArchResult) -> String {
    let all: Vec<f64> = of_kind(&result.records, "batching")
        .filter_map(|r| r.stats("ns_per_page"))
        .map(|s| s.median)
        .filter(|&ns| ns > 0.0)
        .collect();
    let low = all.iter().copied().fold(f64::INFINITY, f64::min).max(1.0).log10().floor();
    let high = all.iter().copied().fold(1.0, f64::max).log10().ceil().max(low + 1.0);
    let width = PANEL_W * FLAVOURS.len() as f64 + 20.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">",
        PANEL_H + MARGIN_TOP
    );
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        out,
        "<text x=\"10\" y=\"18\" font-size=\"14\">{}: guest ns per page (map + unmap) against N, QEMU TCG (not hardware costs)</text>",
        result.arch.name()
    );
    for (i, (op, lazy, colour, dash)) in SERIES.iter().enumerate() {
        let x = 10.0 + i as f64 * 170.0;
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"34\" x2=\"{}\" y2=\"34\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>\
             <text x=\"{}\" y=\"38\">{op}, {} lazy mode</text>",
            x + 24.0,
            x + 30.0,
            if *lazy == "in" { "inside" } else { "outside" }
        );
    }
    for (panel, flavour) in FLAVOURS.iter().enumerate() {
        let left = panel as f64 * PANEL_W + MARGIN_LEFT;
        let top = MARGIN_TOP + 10.0;
        let x_of = |log2: f64| left + log2 / MAX_LOG2_PAGES * PLOT_W;
        let y_of = |ns: f64| top + PLOT_H - (ns.log10() - low) / (high - low) * PLOT_H;
        let _ = writeln!(out, "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{flavour}</text>", left + 4.0, top - 4.0);
        let _ = writeln!(
            out,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{PLOT_W}\" height=\"{PLOT_H}\" fill=\"none\" stroke=\"#888\"/>"
        );
        for log2 in [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0] {
            let x = x_of(log2);
            let _ = writeln!(
                out,
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                top + PLOT_H + 13.0,
                2f64.powf(log2)
            );
        }
        let mut decade = low;
        while decade <= high {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">1e{decade}</text>",
                left - 3.0,
                y_of(10f64.powf(decade)) + 4.0
            );
            decade += 1.0;
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">N pages</text>",
            left + PLOT_W / 2.0,
            top + PLOT_H + 26.0
        );
        for (op, lazy, colour, dash) in SERIES {
            let path: Vec<String> = points(&result.records, flavour, op, lazy)
                .iter()
                .map(|&(x, ns)| format!("{:.1},{:.1}", x_of(x), y_of(ns)))
                .collect();
            if !path.is_empty() {
                let _ = writeln!(
                    out,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/>",
                    path.join(" ")
                );
            }
        }
    }
    out.push_str("</svg>\n");
    out
}
