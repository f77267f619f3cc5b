//! Minimal inline-SVG line charts for `report.html`: no JavaScript, no external assets.
//!
//! Two x axes: linear (time) and HdrHistogram's log percentile axis, where x = log10(1/(1-q))
//! so 0 → 0%, 1 → 90%, 2 → 99%, 3 → 99.9%, … The y axis is linear from 0 to a "nice" maximum.

use std::fmt::Write as _;

use super::markup::escape;

const W: f64 = 720.0;
const H: f64 = 260.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 34.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 40.0;

/// One line on a chart.
pub struct Series {
    pub name: String,
    /// A CSS colour.
    pub color: &'static str,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
}

/// Axes and labels of a chart.
pub struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    x_min: f64,
    x_max: f64,
    x_ticks: Vec<(f64, String)>,
}

/// 1, 2 or 5 × 10^k at or above `x` (1 for non-positive input).
pub fn nice_ceil(x: f64) -> f64 {
    if !x.is_finite() || x <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= x {
            return m * mag;
        }
    }
    10.0 * mag
}

fn fmt_tick(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e12 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// The label of a log-percentile tick (`0%`, `90%`, `99%`, `99.9%`, …).
pub fn percentile_label(decade: u32) -> String {
    match decade {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        d => format!("99.{}%", "9".repeat(d as usize - 2)).replace("99.%", "99%"),
    }
}

impl Chart {
    /// A time-like linear x axis from `x_min` to `x_max`.
    pub fn linear_x(title: &str, x_label: &str, y_label: &str, x_min: f64, x_max: f64) -> Chart {
        let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
        let step = nice_ceil((x_max - x_min) / 8.0);
        let mut x_ticks = Vec::new();
        let mut x = (x_min / step).ceil() * step;
        while x <= x_max + step * 1e-9 {
            x_ticks.push((x, fmt_tick(x)));
            x += step;
        }
        Chart {
            title: title.to_owned(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            x_min,
            x_max,
            x_ticks,
        }
    }

    /// HdrHistogram's percentile axis over `decades` nines (at least 4: 0% … 99.99%).
    pub fn percentile_x(title: &str, y_label: &str, decades: f64) -> Chart {
        let decades = decades.clamp(4.0, 9.0).ceil();
        let x_ticks = (0..=decades as u32)
            .map(|d| (f64::from(d), percentile_label(d)))
            .collect();
        Chart {
            title: title.to_owned(),
            x_label: "percentile".to_owned(),
            y_label: y_label.to_owned(),
            x_min: 0.0,
            x_max: decades,
            x_ticks,
        }
    }

    /// The chart as an `<svg>` element.
    pub fn render(&self, series: &[Series]) -> String {
        let y_max = nice_ceil(
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .filter(|y| y.is_finite())
                .fold(0.0, f64::max),
        );
        let mut s = String::new();
        let _ = write!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{t}\" font-family=\"sans-serif\" font-size=\"11\">\
<title>{t}</title><rect width=\"{W}\" height=\"{H}\" fill=\"#fff\"/>\
<text x=\"{LEFT}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{t}</text>",
            t = escape(&self.title)
        );
        self.axes(&mut s, y_max);
        for (i, line) in series.iter().enumerate() {
            self.series(&mut s, y_max, i, line);
        }
        s.push_str("</svg>\n");
        s
    }

    /// The plot's x position of `x`.
    fn sx(&self, x: f64) -> f64 {
        LEFT + (x - self.x_min) / (self.x_max - self.x_min) * (W - LEFT - RIGHT)
    }

    /// The plot's y position of `y` on an axis up to `y_max`.
    fn sy(y: f64, y_max: f64) -> f64 {
        let ph = H - TOP - BOTTOM;
        TOP + ph - (y / y_max) * ph
    }

    /// Grid lines, ticks, both axes and their labels.
    fn axes(&self, s: &mut String, y_max: f64) {
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        for i in 0..=5 {
            let y = y_max * f64::from(i) / 5.0;
            let py = Self::sy(y, y_max);
            let _ = write!(
                s,
                "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{:.1}\" y2=\"{py:.1}\" stroke=\"#eee\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                W - RIGHT,
                LEFT - 6.0,
                py + 4.0,
                fmt_tick(y)
            );
        }
        for (x, label) in &self.x_ticks {
            let px = self.sx(*x);
            let _ = write!(
                s,
                "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>\
<text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                TOP + ph,
                TOP + ph + 14.0,
                escape(label)
            );
        }
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{r:.1}\" y2=\"{b:.1}\" stroke=\"#333\"/>\
<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b:.1}\" stroke=\"#333\"/>\
<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
<text x=\"14\" y=\"{cy:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {cy:.1})\">{}</text>",
            H - 6.0,
            escape(&self.x_label),
            escape(&self.y_label),
            b = TOP + ph,
            r = W - RIGHT,
            cx = LEFT + pw / 2.0,
            cy = TOP + ph / 2.0,
        );
    }

    /// One series: its polyline and its legend entry (the `i`th).
    fn series(&self, s: &mut String, y_max: f64, i: usize, line: &Series) {
        let pts: Vec<String> = line
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|&(x, y)| {
                format!(
                    "{:.1},{:.1}",
                    self.sx(x.clamp(self.x_min, self.x_max)),
                    Self::sy(y.max(0.0), y_max)
                )
            })
            .collect();
        if !pts.is_empty() {
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\" points=\"{}\"/>",
                line.color,
                pts.join(" ")
            );
        }
        let lx = W - RIGHT - 110.0;
        let ly = TOP + 14.0 * (i as f64 + 1.0);
        let _ = write!(
            s,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"10\" height=\"3\" fill=\"{}\"/>\
<text x=\"{:.1}\" y=\"{ly:.1}\">{}</text>",
            ly - 4.0,
            line.color,
            lx + 14.0,
            escape(&line.name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_numbers() {
        let ceilings: Vec<f64> = [0.0, 3.2, 7.0, 120.0, 0.013].map(nice_ceil).to_vec();
        assert_eq!(ceilings, [1.0, 5.0, 10.0, 200.0, 0.02]);
    }

    #[test]
    fn percentile_labels() {
        let labels: Vec<String> = (0..6).map(percentile_label).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
    }

    #[test]
    fn renders_polyline_in_the_plot_area() {
        let c = Chart::linear_x("req/s <&>", "t", "r", 0.0, 10.0);
        let svg = c.render(&[Series {
            name: "r".into(),
            color: "#000",
            points: vec![(0.0, 0.0), (10.0, 100.0)],
        }]);
        assert!(svg.contains("points=\"70.0,220.0 686.0,30.0\""), "{svg}");
        assert!(svg.contains("<title>req/s &lt;&amp;&gt;</title>"));
    }
}
