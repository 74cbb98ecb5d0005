//! The QC report as Markdown (the JSON is [`super::QcReport`] serialised).

use std::fmt::Write;

use super::{QcReport, SetReport};

/// The report as a Markdown document.
pub fn markdown(report: &QcReport) -> String {
    let mut md = String::from("# genovec qc\n\n");
    let _ = writeln!(
        md,
        "Near-duplicates: identity at least {}.",
        report.identity
    );
    let _ = writeln!(md, "Method: {}.\n", report.method);
    let _ = writeln!(
        md,
        "Label conflicts (distinct sequences, either orientation, with more than one label): \
         {}\n",
        report.label_conflicts
    );
    set(&mut md, "Training set", &report.train);
    if let Some(test) = &report.test {
        set(&mut md, "Test set", test);
    }
    if let Some(a) = &report.across {
        md.push_str("## Across the sets\n\n| finding | test records |\n|---|---|\n");
        let _ = writeln!(md, "| exact duplicates | {} |", a.exact_duplicates_across);
        let rc = a.reverse_complement_duplicates_across;
        let _ = writeln!(md, "| reverse-complement duplicates | {rc} |");
        let _ = writeln!(md, "| near-duplicates | {} |", a.near_duplicates_across);
        let _ = writeln!(md, "\nPairs found: {}.", a.near_duplicate_pairs_across);
        if !a.examples.is_empty() {
            md.push_str("\n| test | training | identity |\n|---|---|---|\n");
            for (test, train, identity) in &a.examples {
                let _ = writeln!(md, "| {test} | {train} | {identity:.3} |");
            }
        }
        md.push('\n');
    }
    let _ = writeln!(md, "Not computed yet: {}.", report.not_computed.join(", "));
    md
}

fn set(md: &mut String, title: &str, s: &SetReport) {
    let _ = writeln!(
        md,
        "## {title}\n\n{} records; within the set: {} exact duplicates, {} reverse-complement \
         duplicates, {} records with a near-duplicate.\n",
        s.records,
        s.exact_duplicates_within,
        s.reverse_complement_duplicates_within,
        s.near_duplicates_within
    );
    md.push_str("| label | records | length min / median / mean / max | GC | CpG | N |\n");
    md.push_str("|---|---|---|---|---|---|\n");
    for c in &s.classes {
        let _ = writeln!(
            md,
            "| {} | {} | {} / {} / {:.1} / {} | {:.4} | {:.4} | {:.4} |",
            c.label,
            c.records,
            c.length_min,
            c.length_median,
            c.length_mean,
            c.length_max,
            c.gc,
            c.cpg,
            c.n
        );
    }
    md.push('\n');
}
