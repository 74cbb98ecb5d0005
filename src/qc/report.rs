//! The QC report as Markdown (the JSON is [`super::QcReport`] serialised).

use std::fmt::Write;

use super::{QcReport, SetReport, ShortcutReport};

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
         {}; record pairs at or above the identity threshold with different labels: {}.\n",
        report.label_conflicts, report.near_duplicate_label_conflicts
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
        let twins = a.composition_twins_across;
        let _ = writeln!(md, "| composition twins (another label) | {twins} |");
        let _ = writeln!(md, "\nPairs found: {}.", a.near_duplicate_pairs_across);
        if !a.examples.is_empty() {
            md.push_str("\n| test | training | identity |\n|---|---|---|\n");
            for (test, train, identity) in &a.examples {
                let _ = writeln!(md, "| {test} | {train} | {identity:.3} |");
            }
        }
        md.push('\n');
    }
    twins(&mut md, report);
    if let Some(s) = &report.shortcuts {
        shortcuts(&mut md, s);
    }
    if !report.not_computed.is_empty() {
        let _ = writeln!(md, "Not computed: {}.", report.not_computed.join(", "));
    }
    md
}

fn twins(md: &mut String, report: &QcReport) {
    let _ = writeln!(
        md,
        "## Composition twins

Pairs with different labels, the same base counts, \
         dinucleotide spectra within {} (total variation distance) and no near-duplicate: the \
         signature of negatives made by shuffling positives. Pairs over both sets: {}.{}\n",
        report.twin_distance,
        report.composition_twins,
        match report.twins_truncated {
            true => " The search stopped at its comparison budget: counts are lower bounds.",
            false => "",
        }
    );
    if report.twin_examples.is_empty() {
        md.push_str("None found.\n\n");
        return;
    }
    md.push_str("| set | record | twin | distance |\n|---|---|---|---|\n");
    for (set, a, b, d) in &report.twin_examples {
        let _ = writeln!(md, "| {set} | {a} | {b} | {d:.4} |");
    }
    md.push('\n');
}

fn shortcuts(md: &mut String, s: &ShortcutReport) {
    let _ = writeln!(
        md,
        "## Shortcut risk\n\n{}-fold cross-validation on {} training records: a logistic \
         regression on one feature family at a time against the full pipeline (genovec eval, \
         same folds). Share of gain: how much of the pipeline's gain over the majority class \
         the family reaches alone.\n",
        s.folds, s.records
    );
    md.push_str("| model | accuracy | share of gain | risk |\n|---|---|---|---|\n");
    let _ = writeln!(md, "| majority class | {:.4} | | |", s.majority);
    for f in &s.families {
        let share = f.share_of_gain.map_or("-".into(), |x| format!("{x:.2}"));
        let _ = writeln!(
            md,
            "| {} alone | {:.4} | {share} | {} |",
            f.family, f.accuracy, f.risk
        );
    }
    let _ = writeln!(md, "| full pipeline | {:.4} | 1.00 | |\n", s.full_pipeline);
}

fn set(md: &mut String, title: &str, s: &SetReport) {
    let _ = writeln!(
        md,
        "## {title}\n\n{} records; within the set: {} exact duplicates, {} reverse-complement \
         duplicates, {} records with a near-duplicate, {} records with a composition twin \
         ({} pairs).\n",
        s.records,
        s.exact_duplicates_within,
        s.reverse_complement_duplicates_within,
        s.near_duplicates_within,
        s.composition_twins_within,
        s.composition_twin_pairs_within
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
