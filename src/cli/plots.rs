//! PNG plots of a comparison (the `plots` cargo feature: plotters' text rendering needs the
//! fontconfig and freetype libraries, which the default build does not require).

/// Without the `plots` feature there are no plots; report.md says how to get them.
#[cfg(not(feature = "plots"))]
pub fn write(
    dir: &std::path::Path,
    _report: &genovec::engine::CompareReport,
) -> anyhow::Result<()> {
    let note = "\nPlots were not drawn: this genovec was built without `--features plots`.\n";
    let path = dir.join("report.md");
    let mut text = std::fs::read_to_string(&path)?;
    text.push_str(note);
    std::fs::write(path, text)?;
    Ok(())
}

#[cfg(feature = "plots")]
pub use drawn::write;

#[cfg(feature = "plots")]
mod drawn {
    use std::path::Path;

    use genovec::engine::{CompareReport, PipelineResult};
    use plotters::prelude::*;

    const SIZE: (u32, u32) = (800, 600);

    /// `accuracy_vs_time.png` (and `_shift`) and `roc.png` (and `roc_shift.png`, two
    /// classes only).
    pub fn write(dir: &Path, report: &CompareReport) -> anyhow::Result<()> {
        let sets = [("", &report.pipelines), ("_shift", &report.shift)];
        for (suffix, rows) in sets.into_iter().filter(|(_, r)| !r.is_empty()) {
            accuracy_vs_time(&dir.join(format!("accuracy_vs_time{suffix}.png")), rows)?;
            if rows.iter().any(|r| !r.roc.is_empty()) {
                roc(&dir.join(format!("roc{suffix}.png")), rows)?;
            }
        }
        Ok(())
    }

    fn accuracy_vs_time(path: &Path, rows: &[PipelineResult]) -> anyhow::Result<()> {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let max_ms = rows.iter().map(|r| r.infer_ms_per_seq).fold(1e-3, f64::max);
        let min_ms = rows
            .iter()
            .map(|r| r.infer_ms_per_seq)
            .fold(max_ms, f64::min);
        let mut chart = ChartBuilder::on(&root)
            .caption("accuracy against inference time", ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((min_ms / 2.0..max_ms * 2.0).log_scale(), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("inference ms per sequence (log)")
            .y_desc("accuracy")
            .draw()?;
        for (i, r) in rows.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            chart
                .draw_series([Circle::new(
                    (r.infer_ms_per_seq, r.accuracy),
                    7,
                    colour.filled(),
                )])?
                .label(format!("{} ({:.3})", r.name, r.accuracy))
                .legend(move |(x, y)| Circle::new((x, y), 5, colour.filled()));
        }
        chart.configure_series_labels().border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    }

    fn roc(path: &Path, rows: &[PipelineResult]) -> anyhow::Result<()> {
        let root = BitMapBackend::new(path, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("ROC", ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .draw()?;
        chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.3)))?;
        for (i, r) in rows.iter().enumerate().filter(|(_, r)| !r.roc.is_empty()) {
            let colour = Palette99::pick(i).to_rgba();
            let auroc = r.auroc.unwrap_or(f64::NAN);
            chart
                .draw_series(LineSeries::new(
                    r.roc.iter().copied(),
                    colour.stroke_width(2),
                ))?
                .label(format!("{} (AUROC {auroc:.3})", r.name))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .draw()?;
        root.present()?;
        Ok(())
    }
}
