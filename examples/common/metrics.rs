//! What a run measures and writes: the history of its epochs, the test-set mean of a figure,
//! `metrics.json`, `history.json` and the `curves.png` plot.

use std::path::Path;

use burn::prelude::*;
use mcgrad::NoiseSource;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use serde_json::{Value, json};

use super::failure::Failure;
use super::mnist::Prepared;

/// The record of a run's epochs: named curves (the first is the training loss), the steps
/// taken and the seconds spent training by the end of each epoch. It is saved with every
/// checkpoint, so a resumed run carries the history of the epochs before it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct History {
    /// (name, [(epoch, value)]) in the order the curves were first recorded.
    #[serde(with = "exact::curves")]
    pub curves: Vec<(String, Vec<(f64, f64)>)>,
    /// Steps taken since the start of the run, at the end of each epoch.
    pub steps: Vec<usize>,
    /// Seconds of training steps of each epoch.
    #[serde(with = "exact::values")]
    pub epoch_seconds: Vec<f64>,
}

/// Numbers saved in a checkpoint as text that reads back to the same bits: serde_json writes
/// the shortest decimal that rounds to the number, but its default reader is not correctly
/// rounded (off by one unit in the last place now and then), which would make a resumed
/// run's history differ from an uninterrupted one's. Rust's `str::parse::<f64>` is exact.
mod exact {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    fn text(x: f64) -> String {
        format!("{x:?}")
    }

    fn number<E: serde::de::Error>(s: &str) -> Result<f64, E> {
        s.parse().map_err(E::custom)
    }

    pub mod values {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            v.iter().map(|&x| text(x)).collect::<Vec<_>>().serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Vec::<String>::deserialize(d)?
                .iter()
                .map(|s| number(s))
                .collect()
        }
    }

    pub mod curves {
        use super::*;

        type Text = Vec<(String, Vec<(String, String)>)>;

        pub fn serialize<S: Serializer>(
            v: &[(String, Vec<(f64, f64)>)],
            s: S,
        ) -> Result<S::Ok, S::Error> {
            let t: Text = v
                .iter()
                .map(|(n, c)| {
                    (
                        n.clone(),
                        c.iter().map(|&(x, y)| (text(x), text(y))).collect(),
                    )
                })
                .collect();
            t.serialize(s)
        }

        #[allow(clippy::type_complexity)]
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<(String, Vec<(f64, f64)>)>, D::Error> {
            Text::deserialize(d)?
                .into_iter()
                .map(|(n, c)| {
                    let points = c
                        .iter()
                        .map(|(x, y)| Ok((number(x)?, number(y)?)))
                        .collect::<Result<_, D::Error>>()?;
                    Ok((n, points))
                })
                .collect()
        }
    }
}

impl History {
    /// Epochs recorded.
    pub fn epochs(&self) -> usize {
        self.steps.len()
    }

    /// Steps taken by the end of the last epoch recorded.
    pub fn total_steps(&self) -> usize {
        self.steps.last().copied().unwrap_or(0)
    }

    /// Seconds spent in training steps over every epoch recorded.
    pub fn train_seconds(&self) -> f64 {
        self.epoch_seconds.iter().sum()
    }

    /// Records epoch `epoch`: its `figures` (the training loss first), the steps taken by its
    /// end, its seconds; prints its line. A figure that is not finite is a divergence: it is
    /// reported and nothing is recorded.
    pub fn end_epoch(
        &mut self,
        epoch: usize,
        figures: &[(&str, f64)],
        steps: usize,
        seconds: f64,
        epoch_steps: usize,
    ) -> Result<(), Failure> {
        if let Some((name, value)) = figures.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Failure::Diverged {
                epoch,
                what: format!("the {name} figure is {value}"),
            });
        }
        for &(name, value) in figures {
            let point = (epoch as f64, value);
            match self.curves.iter_mut().find(|(n, _)| n == name) {
                Some((_, c)) => c.push(point),
                None => self.curves.push((name.to_string(), vec![point])),
            }
        }
        self.steps.push(steps);
        self.epoch_seconds.push(seconds);
        let shown: Vec<String> = figures.iter().map(|(n, v)| format!("{n} {v:.4}")).collect();
        println!(
            "epoch {epoch}: {} ({seconds:.1} s, {:.1} steps/s)",
            shown.join(", "),
            epoch_steps as f64 / seconds
        );
        Ok(())
    }

    /// The last value of the curve `name`.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.curves
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, c)| c.last())
            .map(|p| p.1)
    }

    /// The curves as a JSON object `{name: [[epoch, value], ...]}`.
    fn curves_json(&self) -> Value {
        Value::Object(
            self.curves
                .iter()
                .map(|(n, c)| (n.clone(), json!(c)))
                .collect(),
        )
    }

    /// `history.json`: the curves and the steps per epoch, nothing that depends on the
    /// machine's speed: a run interrupted and resumed writes the same file as an uninterrupted
    /// one.
    pub fn write(&self, dir: &Path, example: &str) -> Result<(), Failure> {
        write_json(
            &dir.join("history.json"),
            &json!({
                "example": example,
                "epochs": self.epochs(),
                "steps": self.steps,
                "curves": self.curves_json(),
            }),
        )
    }

    /// `curves.png`: the curves named in `plotted` (one unit, `y_label`) against the epoch.
    pub fn plot(
        &self,
        dir: &Path,
        title: &str,
        y_label: &str,
        plotted: &[&str],
    ) -> Result<(), Failure> {
        let shown: Vec<_> = self
            .curves
            .iter()
            .filter(|(n, _)| plotted.contains(&n.as_str()))
            .cloned()
            .collect();
        if shown.is_empty() {
            return Ok(());
        }
        let path = dir.join("curves.png");
        let partial = dir.join("curves.partial.png");
        plot_curves(&partial, title, "epoch", y_label, &shown)
            .and_then(|()| std::fs::rename(&partial, &path).map_err(|e| e.to_string()))
            .map_err(|e| {
                Failure::file(
                    &path,
                    "cannot write the plot",
                    e,
                    "check the out dir's disk",
                )
            })
    }
}

/// Writes `metrics.json` into `dir`: the example's `figures` (an object) and the run's
/// shared fields (epochs, steps, speed, times, every curve, the configuration, the device,
/// `evaluation_only` when this invocation trained no epoch).
#[allow(clippy::too_many_arguments)]
pub fn write_metrics(
    dir: &Path,
    example: &str,
    figures: Value,
    history: &History,
    wall_seconds: f64,
    evaluation_only: bool,
    config: &impl serde::Serialize,
    device: &Device,
) -> Result<(), Failure> {
    let mut metrics = json!({
        "example": example,
        "evaluation_only": evaluation_only,
        "epochs": history.epochs(),
        "steps": history.total_steps(),
        "steps_per_sec": history.total_steps() as f64 / history.train_seconds().max(1e-9),
        "epoch_seconds": history.epoch_seconds,
        "wall_seconds": wall_seconds,
        "curves": history.curves_json(),
        "config": config,
        "device": format!("{device:?}"),
    });
    if let (Value::Object(m), Value::Object(f)) = (&mut metrics, figures) {
        m.extend(f);
    }
    write_json(&dir.join("metrics.json"), &metrics)
}

/// Writes pretty JSON atomically: to `<path>.partial`, then renamed over `path`, so that a
/// killed run never leaves half a file.
pub fn write_json(path: &Path, value: &Value) -> Result<(), Failure> {
    let partial = super::checkpoint::partial_path(path);
    let text = serde_json::to_string_pretty(value).expect("JSON values serialize") + "\n";
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| Failure::file(path, "cannot write", e, "check the out dir's disk"))
}

/// The mean of `f` over the test set, in batches of `batch`, with fixed evaluation seeds (one
/// for the model's noise, one for the data's): the same model gives the same figure.
pub fn test_mean(
    test: &Prepared,
    batch: usize,
    seed: u64,
    device: &Device,
    mut f: impl FnMut(Tensor<2>, &mut NoiseSource) -> Tensor<1>,
) -> f64 {
    let mut noise = NoiseSource::seed_from_u64(seed);
    let mut data_noise = NoiseSource::seed_from_u64(seed ^ 1);
    let indices: Vec<usize> = (0..test.len()).collect();
    let total: f64 = indices
        .chunks(batch)
        .map(|chunk| {
            f(test.batch(chunk, &mut data_noise, device), &mut noise)
                .sum()
                .into_scalar::<f32>() as f64
        })
        .sum();
    total / test.len() as f64
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

/// Plots curves (epoch, y) into a PNG. Epochs are whole numbers: the x axis is labelled at
/// whole epochs only (one epoch is one tick, "1"). Each curve has its own colour, marker
/// (circle, triangle, cross, ring), line (solid, dashed) and width (each thinner than the one
/// before), so curves that lie on top of each other stay visible.
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
    let pad = ((y1 - y0) * 0.05).max(1e-3 * y1.abs().max(1e-6));
    // half an epoch of margin on each side: a single epoch sits in the middle of its axis
    let (xa, xb) = (x0 - 0.5, x1 + 0.5);
    let epochs = (x1 - x0).round() as usize + 1;
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
        .build_cartesian_2d(xa..xb, (y0 - pad)..(y1 + pad))
        .map_err(|e| err(&e))?;
    let whole = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_labels((epochs + 1).min(12))
        .x_label_formatter(&whole);
    if text {
        mesh.x_desc(x_label).y_desc(y_label);
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(|e| err(&e))?;
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (i, (name, s)) in series.iter().enumerate() {
        let color = colors[i % colors.len()];
        // each curve thinner than the one before, so that a later one lying on an earlier
        // one leaves it visible on both sides
        let line = color.stroke_width(4u32.saturating_sub(i as u32).max(1));
        let points = s.iter().copied();
        // every other curve dashed, with a legend entry drawn the same way
        let drawn = if i % 2 == 1 {
            let drawn = chart
                .draw_series(DashedLineSeries::new(points, 8, 5, line))
                .map_err(|e| err(&e))?;
            drawn
                .legend(move |(x, y)| DashedPathElement::new(vec![(x, y), (x + 24, y)], 5, 3, line))
        } else {
            let drawn = chart
                .draw_series(LineSeries::new(points, line))
                .map_err(|e| err(&e))?;
            drawn.legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], line))
        };
        if text {
            drawn.label(name.as_str());
        }
        let filled = color.filled();
        let points = s.iter().copied();
        match i % 4 {
            0 => chart.draw_series(points.map(|p| Circle::new(p, 4, filled))),
            1 => chart.draw_series(points.map(|p| TriangleMarker::new(p, 6, filled))),
            2 => chart.draw_series(points.map(|p| Cross::new(p, 5, line))),
            _ => chart.draw_series(points.map(|p| Circle::new(p, 5, line))),
        }
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
