//! The polling benchmark's charts: lag and cost against the invalidation's duration, one line
//! per strategy, as SVG files (plotters' SVG backend; text is written as SVG text in a generic
//! sans-serif font, so no font file is read).

use std::path::Path;

use plotters::prelude::*;

/// One strategy's values, by invalidation duration in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The strategy.
    pub name: String,
    /// (duration in seconds, value) pairs, by duration; durations where it has no value (it
    /// gave up) are left out.
    pub points: Vec<(f64, f64)>,
}

/// A panel of a chart: a title, what its values are, their range and how to write them.
pub struct Panel<'a> {
    /// Above the panel.
    pub title: &'a str,
    /// The y axis' description.
    pub unit: &'a str,
    /// The y range (log scale).
    pub range: (f64, f64),
    /// The y values labelled on the axis.
    pub ticks: &'a [f64],
    /// How a y value is written on the axis.
    pub format: fn(&f64) -> String,
    /// The lines.
    pub series: &'a [Series],
}

/// Line colours, by series (Tableau's ten, reordered): grey for the first, the ideal, green
/// for the second, this project.
const COLORS: [RGBColor; 8] = [
    RGBColor(127, 127, 127),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];

/// Writes a chart of `panels` side by side to `path`, with one legend above them for the
/// series of the first, and the invalidation's duration on a log scale from a little before
/// the first of `durations` to a little after the last, with those labelled.
pub fn draw(path: &Path, durations: &[f64], panels: &[Panel<'_>]) -> Result<(), String> {
    let columns = panels.len().max(1);
    let width = 560 * u32::try_from(columns).unwrap_or(1);
    let root = SVGBackend::new(path, (width, 500)).into_drawing_area();
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let (legend, plots) = root.split_vertically(56);
    if let Some(first) = panels.first() {
        draw_legend(&legend, first.series).map_err(|e| failed(&e))?;
    }
    for (area, panel) in plots.split_evenly((1, columns)).iter().zip(panels) {
        draw_panel(area, durations, panel).map_err(|e| failed(&e))?;
    }
    root.present().map_err(|e| failed(&e))
}

fn style(index: usize, name: &str) -> ShapeStyle {
    let width = if name == "this project" { 3 } else { 2 };
    COLORS[index % COLORS.len()].stroke_width(width)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    series: &[Series],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let per_row = 5;
    for (index, series) in series.iter().enumerate() {
        let x = 70 + 210 * i32::try_from(index % per_row).unwrap_or(0);
        let y = 16 + 22 * i32::try_from(index / per_row).unwrap_or(0);
        area.draw(&PathElement::new(
            vec![(x, y), (x + 26, y)],
            style(index, &series.name),
        ))?;
        area.draw(&Text::new(
            series.name.as_str(),
            (x + 32, y - 7),
            ("sans-serif", 13),
        ))?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    durations: &[f64],
    panel: &Panel<'_>,
) -> Result<(), Box<dyn std::error::Error + 'static>>
where
    DB::ErrorType: 'static,
{
    let shortest = durations.iter().copied().fold(f64::MAX, f64::min);
    let longest = durations.iter().copied().fold(0.0, f64::max);
    let x = (shortest * 0.8..longest * 1.25)
        .log_scale()
        .with_key_points(durations.to_vec());
    let y = (panel.range.0..panel.range.1)
        .log_scale()
        .with_key_points(panel.ticks.to_vec());
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc("invalidation takes")
        .y_desc(panel.unit)
        .x_label_formatter(&duration_label)
        .y_label_formatter(&panel.format)
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    for (index, series) in panel.series.iter().enumerate() {
        let style = style(index, &series.name);
        chart.draw_series(LineSeries::new(series.points.iter().copied(), style))?;
        // Hollow rings for every other series, so that one under another stays visible.
        let radius = if index % 2 == 0 { 5 } else { 3 };
        let marker = if index % 2 == 0 {
            style.stroke_width(2)
        } else {
            style.filled()
        };
        chart.draw_series(
            series
                .points
                .iter()
                .map(|point| Circle::new(*point, radius, marker)),
        )?;
    }
    Ok(())
}

/// "5 s", "2 min" for a duration in seconds on the axis.
fn duration_label(seconds: &f64) -> String {
    if *seconds < 120.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{:.0} min", seconds / 60.0)
    }
}

/// "0.1 s", "2 s", "4 min" for a lag in seconds on the axis.
pub fn lag_label(seconds: &f64) -> String {
    match *seconds {
        s if s < 1.0 => format!("{s:.1} s"),
        s if s < 60.0 => format!("{s:.0} s"),
        s => format!("{:.0} min", s / 60.0),
    }
}

/// "$0.0001" for dollars on the axis.
pub fn dollar_label(usd: &f64) -> String {
    let digits = (-usd.log10().floor()).clamp(0.0, 8.0) as usize;
    format!("${usd:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_an_svg_with_each_strategy_named_in_its_legend() {
        let directory = std::env::temp_dir().join(format!("charts-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("lag.svg");
        let series = [
            Series {
                name: "this project".into(),
                points: vec![(5.0, 1.1), (2400.0, 1.2)],
            },
            Series {
                name: "AWS CLI waiter".into(),
                points: vec![(5.0, 15.3)],
            },
        ];
        draw(
            &path,
            &[5.0, 2400.0],
            &[Panel {
                title: "p95 lag",
                unit: "lag",
                range: (0.05, 1000.0),
                ticks: &[1.0, 60.0],
                format: lag_label,
                series: &series,
            }],
        )
        .unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&directory).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for text in [
            "this project",
            "AWS CLI waiter",
            "p95 lag",
            "invalidation takes",
        ] {
            assert!(svg.contains(text), "the chart lacks {text}");
        }
        assert_eq!(dollar_label(&0.0001), "$0.0001");
        assert_eq!(lag_label(&240.0), "4 min");
    }
}
