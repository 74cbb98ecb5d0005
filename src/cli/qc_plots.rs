//! The plots of `qc --out DIR` (the `plots` cargo feature, as for `compare`): the training
//! set's length and GC distributions, one line per class, so a class told apart by length or
//! composition alone is seen at a glance.

use genovec::seq::SeqRecord;

/// Draws the plots into `dir` and returns the Markdown that shows them (or says why not).
#[cfg(not(feature = "plots"))]
pub fn write(_dir: &std::path::Path, _train: &[SeqRecord]) -> anyhow::Result<String> {
    Ok("Plots were not drawn: this genovec was built without `--features plots`.\n".into())
}

#[cfg(feature = "plots")]
pub use drawn::write;

/// Per class (sorted by label): the values of each record.
#[cfg_attr(not(feature = "plots"), allow(dead_code))]
fn by_class(train: &[SeqRecord], value: impl Fn(&SeqRecord) -> f64) -> Vec<(String, Vec<f64>)> {
    let mut classes: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for r in train {
        let label = r.label.clone().unwrap_or_else(|| "(none)".into());
        classes.entry(label).or_default().push(value(r));
    }
    classes.into_iter().collect()
}

#[cfg(feature = "plots")]
mod drawn {
    use std::path::Path;

    use genovec::seq::SeqRecord;
    use plotters::prelude::*;

    const SIZE: (u32, u32) = (800, 500);
    const BINS: usize = 40;

    /// `qc_length.png` and `qc_gc.png`.
    pub fn write(dir: &Path, train: &[SeqRecord]) -> anyhow::Result<String> {
        let length = super::by_class(train, |r| r.seq.len() as f64);
        let gc = super::by_class(train, |r| genovec::features::gc_content(r.seq.as_bytes()));
        histogram(&dir.join("qc_length.png"), "length (bp)", &length)?;
        histogram(&dir.join("qc_gc.png"), "GC fraction", &gc)?;
        Ok("![length by class](qc_length.png)\n\n![GC by class](qc_gc.png)\n".into())
    }

    /// One line per class: the share of its records in each of [`BINS`] equal bins.
    fn histogram(path: &Path, what: &str, classes: &[(String, Vec<f64>)]) -> anyhow::Result<()> {
        let all = classes.iter().flat_map(|(_, v)| v.iter().copied());
        let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
        // A constant value (every record 70 bp) still gets a visible bin.
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            (lo - 1.0, lo + 1.0)
        };
        let width = (hi - lo) / BINS as f64;
        let shares: Vec<Vec<(f64, f64)>> = (classes.iter())
            .map(|(_, values)| {
                let mut counts = vec![0usize; BINS];
                for &x in values {
                    counts[(((x - lo) / width) as usize).min(BINS - 1)] += 1;
                }
                let n = values.len().max(1) as f64;
                let centre = |b: usize| lo + (b as f64 + 0.5) * width;
                (0..BINS)
                    .map(|b| (centre(b), counts[b] as f64 / n))
                    .collect()
            })
            .collect();
        let top = shares.iter().flatten().map(|p| p.1).fold(0.0, f64::max);
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{what} by class"), ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(lo..hi, 0.0..(top * 1.1).max(1e-3))?;
        chart
            .configure_mesh()
            .x_desc(what)
            .y_desc("share of the class's records")
            .draw()?;
        for (i, ((label, values), line)) in classes.iter().zip(shares).enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
                .label(format!("{label} ({} records)", values.len()))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
        }
        chart.configure_series_labels().border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    }
}
