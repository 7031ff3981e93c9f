//! What every example writes: metrics.json, PNG grids of images, a PNG plot of the curves;
//! and the progress bar it shows meanwhile.

use std::path::Path;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;

/// Writes pretty JSON.
pub fn write_json(path: &Path, value: &serde_json::Value) -> std::io::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
}

/// Saves a grid of 28×28 grayscale images (intensities in [0, 1], row-major, 784 values
/// each), `cols` per row, scaled up 2×, with a 2-pixel border.
pub fn save_grid(path: &Path, images: &[f32], cols: usize) -> Result<(), String> {
    const SIDE: usize = 28;
    const SCALE: usize = 2;
    const GAP: usize = 2;
    let n = images.len() / (SIDE * SIDE);
    if n == 0 {
        return Err("no images to draw".into());
    }
    let rows = n.div_ceil(cols);
    let cell = SIDE * SCALE + GAP;
    let (w, h) = (cols * cell + GAP, rows * cell + GAP);
    let mut img = image::GrayImage::from_pixel(w as u32, h as u32, image::Luma([64]));
    for k in 0..n {
        let (r, c) = (k / cols, k % cols);
        for y in 0..SIDE * SCALE {
            for x in 0..SIDE * SCALE {
                let v = images[k * SIDE * SIDE + (y / SCALE) * SIDE + x / SCALE].clamp(0.0, 1.0);
                let px = (GAP + c * cell + x) as u32;
                let py = (GAP + r * cell + y) as u32;
                img.put_pixel(px, py, image::Luma([(v * 255.0).round() as u8]));
            }
        }
    }
    img.save(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Registers a system font for the plots' text once; plots are drawn without text when none
/// is found (plotters needs a font file, and a fresh machine may have none).
fn font_available() -> bool {
    use std::sync::OnceLock;
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let candidates = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
            "/System/Library/Fonts/Supplemental/Arial.ttf",
            "C:\\Windows\\Fonts\\arial.ttf",
        ];
        for path in candidates {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        eprintln!("note: no TrueType font found; plots are drawn without text");
        false
    })
}

/// Plots curves (x, y) against a shared x axis into a PNG.
pub fn plot_curves(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), String> {
    let points: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .filter(|(_, y)| y.is_finite())
        .collect();
    if points.is_empty() {
        return Err("nothing to plot".into());
    }
    let (x0, x1) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let text = font_available();
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if text {
        builder
            .caption(title, ("sans-serif", 24))
            .x_label_area_size(40)
            .y_label_area_size(70);
    } else {
        builder.x_label_area_size(10).y_label_area_size(10);
    }
    let mut chart = builder
        .build_cartesian_2d(x0..x1.max(x0 + 1e-9), (y0 - pad)..(y1 + pad))
        .map_err(|e| err(&e))?;
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc(x_label).y_desc(y_label);
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(|e| err(&e))?;
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (i, (name, s)) in series.iter().enumerate() {
        let color = colors[i % colors.len()];
        let line = chart
            .draw_series(LineSeries::new(s.iter().copied(), color.stroke_width(2)))
            .map_err(|e| err(&e))?;
        if text {
            line.label(name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        chart
            .draw_series(s.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| err(&e))?;
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

/// A progress bar over one epoch's steps with the running loss, and the time per step.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    steps: usize,
    loss_sum: f64,
    loss_count: usize,
}

impl Progress {
    pub fn new(epoch: usize, epochs: usize, steps: usize, quiet: bool) -> Self {
        let bar = (!quiet).then(|| {
            let bar = ProgressBar::new(steps as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{epoch}/{epochs}"));
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            steps: 0,
            loss_sum: 0.0,
            loss_count: 0,
        }
    }

    /// One step done.
    pub fn step(&mut self) {
        self.steps += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// The summed loss of `count` steps, read from the device: updates the running mean shown.
    pub fn losses(&mut self, sum: f64, count: usize) {
        self.loss_sum += sum;
        self.loss_count += count;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("loss {:.3}", self.mean_loss()));
        }
    }

    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.loss_count.max(1) as f64
    }

    /// Finishes the bar; returns (steps, elapsed).
    pub fn finish(self) -> (usize, Duration) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        (self.steps, self.started.elapsed())
    }
}
