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
    /// How a y value is written on the axis.
    pub format: fn(&f64) -> String,
    /// The lines.
    pub series: &'a [Series],
}

/// Writes a chart of `panels` side by side to `path`, each with the invalidation duration on a
/// log scale from `durations.0` to `durations.1` seconds.
pub fn draw(path: &Path, durations: (f64, f64), panels: &[Panel<'_>]) -> Result<(), String> {
    let width = 560 * u32::try_from(panels.len()).unwrap_or(1);
    let root = SVGBackend::new(path, (width, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, durations, panel).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    root.present()
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    durations: (f64, f64),
    panel: &Panel<'_>,
) -> Result<(), Box<dyn std::error::Error + 'static>>
where
    DB::ErrorType: 'static,
{
    let x = (durations.0..durations.1).log_scale();
    let y = (panel.range.0..panel.range.1).log_scale();
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc("invalidation takes")
        .y_desc(panel.unit)
        .x_label_formatter(&duration_label)
        .y_label_formatter(&panel.format)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (index, series) in panel.series.iter().enumerate() {
        let color = Palette99::pick(index).to_rgba();
        let width = if series.name == "this project" { 3 } else { 2 };
        chart
            .draw_series(LineSeries::new(
                series.points.iter().copied(),
                color.stroke_width(width),
            ))?
            .label(series.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width))
            });
        chart.draw_series(
            series
                .points
                .iter()
                .map(|point| Circle::new(*point, 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 12))
        .draw()?;
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
        s if s < 120.0 => format!("{s:.0} s"),
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
            (4.0, 3000.0),
            &[Panel {
                title: "p95 lag",
                unit: "lag",
                range: (0.05, 1000.0),
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
