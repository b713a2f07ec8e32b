//! Draws the lanes and the herd as one SVG, with plotters' SVG backend (text stays `<text>`, so
//! no font is needed and the output is the same bytes on every machine).

use std::time::Duration;

use plotters::prelude::*;

use crate::herd::{self, Herd};
use crate::lanes::{self, Lane, Phase};

/// The picture's size in pixels.
const SIZE: (u32, u32) = (1200, 900);
/// The height of the lanes chart; the herd chart gets the rest.
const LANES_HEIGHT: u32 = 500;
/// The width of the lanes' legend strip.
const LEGEND_WIDTH: u32 = 170;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn colour(phase: Phase) -> RGBColor {
    match phase {
        Phase::Connecting => RGBColor(245, 158, 11),
        Phase::Authenticating => RGBColor(139, 92, 246),
        Phase::Resubscribing => RGBColor(56, 189, 248),
        Phase::Live => RGBColor(34, 197, 94),
        Phase::Backoff => RGBColor(239, 68, 68),
        Phase::Stopped => RGBColor(107, 114, 128),
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The whole picture, as SVG text.
pub fn render(lanes: &[Lane], without: &Herd, with: &Herd) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)
            .and_then(|()| {
                let (top, bottom) = root.split_vertically(LANES_HEIGHT);
                draw_lanes(&top, lanes)?;
                draw_herd(&bottom, without, with)?;
                root.present()?;
                Ok(())
            });
        drawn.map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn draw_lanes(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    lanes: &[Lane],
) -> DrawResult {
    let rows = lanes.len() as f64;
    let (area, legend) = area.split_horizontally(SIZE.0 - LEGEND_WIDTH);
    // One row per lane, plus one on top for the fault labels.
    let mut chart = ChartBuilder::on(&area)
        .caption(
            "Five sessions through one scripted outage (simulated, virtual time)",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..seconds(lanes::END), 0f64..rows + 1.0)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_labels(19)
        .x_desc("virtual time (s)")
        // Lane i sits in [i, i + 1): its name goes at its middle.
        .y_labels(2 * lanes.len() + 3)
        .y_label_formatter(&|y| {
            let row = y - 0.5;
            if row.fract().abs() < 1e-9 && row >= 0.0 && (row as usize) < lanes.len() {
                lanes[lanes.len() - 1 - row as usize].name.clone()
            } else {
                String::new()
            }
        })
        .draw()?;

    // Faults: a dashed-looking thin line across every lane, and its label in the top row.
    for (at, label) in lanes::fault_marks() {
        let x = seconds(at);
        chart.draw_series(LineSeries::new(
            [(x, 0.0), (x, rows + 0.15)],
            BLACK.mix(0.35).stroke_width(1),
        ))?;
        chart.draw_series([Text::new(
            label.to_owned(),
            (x + 0.6, rows + 0.3),
            ("sans-serif", 13).into_font().color(&BLACK),
        )])?;
    }

    for (i, lane) in lanes.iter().enumerate() {
        // The first lane on top.
        let y0 = (lanes.len() - 1 - i) as f64;
        chart.draw_series(lane.bands.iter().map(|band| {
            Rectangle::new(
                [
                    (seconds(band.start), y0 + 0.3),
                    (seconds(band.end), y0 + 0.75),
                ],
                colour(band.phase).filled(),
            )
        }))?;
        // Each drawn backoff delay: a bar under the band from the draw to the next attempt.
        chart.draw_series(lane.scheduled.iter().map(|s| {
            Rectangle::new(
                [
                    (seconds(s.at), y0 + 0.16),
                    (seconds(s.at + s.delay), y0 + 0.24),
                ],
                BLACK.filled(),
            )
        }))?;
        // Each attempt: a mark on top of the band.
        chart.draw_series(
            lane.attempts
                .iter()
                .map(|at| TriangleMarker::new((seconds(*at), y0 + 0.84), 5, BLACK.filled())),
        )?;
    }

    draw_legend(legend)?;
    Ok(())
}

/// The lanes' legend, in its own strip on the right so that it covers no lane.
fn draw_legend(area: DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> DrawResult {
    let font = ("sans-serif", 14).into_font().color(&BLACK);
    let row = |i: i32| 70 + 24 * i;
    for (i, phase) in (0..).zip(Phase::ALL) {
        area.draw(&Rectangle::new(
            [(8, row(i) - 6), (30, row(i) + 6)],
            colour(phase).filled(),
        ))?;
        area.draw(&Text::new(phase.name(), (38, row(i) - 7), font.clone()))?;
    }
    let i = Phase::ALL.len() as i32;
    area.draw(&TriangleMarker::new((19, row(i)), 5, BLACK.filled()))?;
    area.draw(&Text::new(
        "connection attempt",
        (38, row(i) - 7),
        font.clone(),
    ))?;
    area.draw(&Rectangle::new(
        [(8, row(i + 1) - 2), (30, row(i + 1) + 2)],
        BLACK.filled(),
    ))?;
    area.draw(&Text::new(
        "drawn backoff delay",
        (38, row(i + 1) - 7),
        font,
    ))?;
    Ok(())
}

fn draw_herd(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    without: &Herd,
    with: &Herd,
) -> DrawResult {
    let bucket = seconds(herd::BUCKET);
    let from = seconds(herd::RESTART_AT) - 1.0;
    let to = seconds(herd::END);
    let first = (from / bucket).round() as usize;
    let peak = without
        .dials
        .iter()
        .chain(&with.dials)
        .skip(first)
        .copied()
        .max()
        .unwrap_or(1);
    let limit = f64::from(herd::BURST) + f64::from(herd::RATE) * bucket;
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{} sessions lose their server at once (restart, {} s down): dials per 100 ms",
                herd::FLEET,
                herd::DOWNTIME.as_secs()
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(90)
        .build_cartesian_2d(from..to, 0f64..(f64::from(peak) * 1.1).max(limit * 1.2))?;
    chart
        .configure_mesh()
        .x_labels(22)
        .x_desc("virtual time (s)")
        .y_desc("dials per 100 ms")
        .draw()?;

    let bars = |herd: &Herd, style: ShapeStyle, inset: f64| {
        herd.dials
            .iter()
            .enumerate()
            .skip(first)
            .filter(|(_, n)| **n > 0)
            .map(move |(i, n)| {
                let x = i as f64 * bucket;
                Rectangle::new(
                    [(x + inset, 0.0), (x + bucket - inset, f64::from(*n))],
                    style,
                )
            })
            .collect::<Vec<_>>()
    };
    let grey = RGBColor(156, 163, 175);
    let blue = RGBColor(37, 99, 235);
    chart
        .draw_series(bars(without, grey.mix(0.8).filled(), 0.0))?
        .label("without a budget")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], grey.filled()));
    chart
        .draw_series(bars(with, blue.filled(), 0.02))?
        .label(format!(
            "with ConnectBudget::new({}, {}) shared by the fleet",
            herd::RATE,
            herd::BURST
        ))
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], blue.filled()));
    chart
        .draw_series(LineSeries::new(
            [(from, limit), (to, limit)],
            RED.stroke_width(2),
        ))?
        .label(format!(
            "the budget's ceiling: burst + rate x 100 ms = {limit}"
        ))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}
