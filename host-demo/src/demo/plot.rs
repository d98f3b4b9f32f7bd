//! Pictures of a run's latency: a histogram for the terminal, and an SVG file (`--plot`) with
//! latency over time and the histogram, both on logarithmic latency axes.

use std::fmt::Write as _;
use std::io;

/// Histogram bin edges in microseconds (the last bin is open).
const EDGES: [u64; 9] = [100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000];

fn bins(lat: &[u64]) -> [u64; 10] {
    let mut counts = [0u64; 10];
    for &l in lat {
        counts[EDGES.iter().position(|&e| l < e).unwrap_or(9)] += 1;
    }
    counts
}

fn label(i: usize) -> String {
    match i {
        9 => format!(">= {} ms", EDGES[8] / 1000),
        _ if EDGES[i] < 1000 => format!("< {} us", EDGES[i]),
        _ => format!("< {} ms", EDGES[i] / 1000),
    }
}

/// The histogram of `lat` (microseconds) with `#` bars, as lines of text for the terminal.
pub fn terminal_histogram(lat: &[u64]) -> String {
    let mut s = String::new();
    if lat.is_empty() {
        return s;
    }
    s.push_str("\n  latency histogram (send -> deliver)\n");
    let counts = bins(lat);
    let max = counts.iter().copied().max().unwrap_or(1).max(1);
    for (i, &c) in counts.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>10} {:<50} {c}",
            label(i),
            "#".repeat((c * 50 / max) as usize)
        );
    }
    s
}

const WIDTH: f64 = 960.0;
const PANEL: f64 = 300.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;

/// y of a latency on a log axis from 10 us to 10 s inside a panel starting at `top`.
fn log_y(top: f64, us: u64) -> f64 {
    let v = (us.max(10) as f64).log10().clamp(1.0, 7.0);
    top + PANEL - (v - 1.0) / 6.0 * PANEL
}

/// The SVG document: `samples` are (send time, latency), both in microseconds.
pub fn svg(samples: &[(u64, u64)], title: &str) -> String {
    let mut s = String::new();
    let height = 2.0 * PANEL + 160.0;
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" \
         fill=\"white\"/>\n<text x=\"{LEFT}\" y=\"24\" font-size=\"16\">{}</text>\n",
        escape(title)
    );
    let plot_w = WIDTH - LEFT - RIGHT;
    // Panel 1: latency over time.
    let top = 50.0;
    axes(&mut s, top, "latency over the run (log scale)");
    let t_end = samples.iter().map(|p| p.0).max().unwrap_or(1).max(1) as f64;
    // At most ~6000 points keep the file small; every n-th sample, plus every sample above p99.
    let mut sorted: Vec<u64> = samples.iter().map(|p| p.1).collect();
    sorted.sort_unstable();
    let p99 = sorted
        .get(sorted.len().saturating_sub(1) * 99 / 100)
        .copied()
        .unwrap_or(0);
    let step = (samples.len() / 6000).max(1);
    for (i, &(t, l)) in samples.iter().enumerate() {
        if i % step == 0 || l > p99 {
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.5\" fill=\"#2a6fdb\" fill-opacity=\"0.5\"/>",
                LEFT + t as f64 / t_end * plot_w,
                log_y(top, l)
            );
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">send time (0 .. {:.2} s)</text>",
        WIDTH - RIGHT,
        top + PANEL + 30.0,
        t_end / 1e6
    );
    // Panel 2: histogram.
    let top2 = top + PANEL + 60.0;
    let counts = bins(&sorted);
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.0}\">latency histogram ({} messages)</text>",
        top2 - 8.0,
        samples.len()
    );
    let bar_w = plot_w / counts.len() as f64;
    for (i, &c) in counts.iter().enumerate() {
        let h = c as f64 / max * PANEL;
        let x = LEFT + i as f64 * bar_w;
        let _ = writeln!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#e07b24\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{c}</text>",
            x + 2.0,
            top2 + PANEL - h,
            bar_w - 4.0,
            x + bar_w / 2.0,
            top2 + PANEL + 16.0,
            escape(&label(i)),
            x + bar_w / 2.0,
            top2 + PANEL - h - 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn axes(s: &mut String, top: f64, title: &str) {
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.0}\">{}</text>\n<line x1=\"{LEFT}\" y1=\"{top}\" x2=\"{LEFT}\" \
         y2=\"{:.0}\" stroke=\"black\"/>\n<line x1=\"{LEFT}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" \
         stroke=\"black\"/>",
        top - 8.0,
        escape(title),
        top + PANEL,
        top + PANEL,
        WIDTH - RIGHT,
        top + PANEL
    );
    for (us, text) in [
        (10u64, "10 us"),
        (100, "100 us"),
        (1_000, "1 ms"),
        (10_000, "10 ms"),
        (100_000, "100 ms"),
        (1_000_000, "1 s"),
        (10_000_000, "10 s"),
    ] {
        let y = log_y(top, us);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{text}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes the SVG to `out` (the `--plot` file, checked before the run) and puts it in place
/// of `path`.
pub fn write_svg(
    mut out: crate::outfile::OutFile,
    path: &str,
    samples: &[(u64, u64)],
    title: &str,
) -> io::Result<()> {
    io::Write::write_all(&mut out, svg(samples, title).as_bytes())
        .and_then(|()| out.commit())
        .map_err(|e| crate::transport::context(e, &format!("cannot write {path}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_split_at_the_edges() {
        let c = bins(&[0, 99, 100, 199, 50_000, u64::MAX]);
        assert_eq!(c, [2, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn the_svg_has_one_point_per_sample_and_one_bar_per_bin() {
        let samples: Vec<(u64, u64)> = (0..100).map(|i| (i * 1000, 150 + i * 10)).collect();
        let s = svg(&samples, "a < b");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        assert_eq!(s.matches("<circle").count(), 100);
        assert_eq!(s.matches("fill=\"#e07b24\"").count(), 10);
        assert!(s.contains("a &lt; b"));
    }
}
