//! `genovec qc`: what a labelled dataset hides before anyone trains on it: exact and
//! reverse-complement duplicates within and across its sets, near-duplicates across them
//! (found by nearest-neighbour search over composition vectors, then verified by edit
//! distance), label conflicts, and per-class composition statistics.
//!
//! Every count names what it counts, and the report states the method and threshold of the
//! near-duplicate search. Composition twins (`twins.rs`) are counted within and across the
//! sets; shortcut-risk models (`shortcut.rs`) are scored by the engine, which also runs the
//! full pipeline to compare. [`near_duplicate_groups`] gives `eval --group` its folds.

mod exact;
mod near;
mod report;
pub mod shortcut;
mod stats;
mod twins;

use serde::Serialize;

use crate::seq::{DnaSeq, SeqRecord};
use crate::store::Collection;
use crate::{Error, Result};

pub use report::markdown;
pub use shortcut::{FamilyScore, ShortcutReport};
pub use stats::ClassStats;
pub use twins::DEFAULT_DISTANCE as DEFAULT_TWIN_DISTANCE;

/// Settings of a QC run.
#[derive(Debug, Clone, Copy)]
pub struct QcOptions {
    /// Least identity (1 − edits / shorter length) of a near-duplicate pair.
    pub identity: f64,
    /// Training neighbours examined per test sequence.
    pub neighbours: usize,
    /// Largest dinucleotide-spectrum distance of composition twins (see `twins.rs`).
    pub twin_distance: f64,
}

impl Default for QcOptions {
    fn default() -> Self {
        QcOptions {
            identity: 0.9,
            neighbours: 10,
            twin_distance: twins::DEFAULT_DISTANCE,
        }
    }
}

/// Findings within one set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetReport {
    /// Records read.
    pub records: usize,
    /// Records whose sequence equals an earlier record's in the same set.
    pub exact_duplicates_within: usize,
    /// Records whose reverse complement equals an earlier record's sequence (and that are not
    /// exact duplicates themselves).
    pub reverse_complement_duplicates_within: usize,
    /// Records with another record of the same set at or above the identity threshold, in
    /// either orientation (exact duplicates included): what inflates cross-validation.
    pub near_duplicates_within: usize,
    /// Pairs of records in the set at or above the identity threshold (exact copies included)
    /// with different labels.
    pub near_duplicate_label_conflicts_within: usize,
    /// Records with a composition twin in the same set: another label, the same base counts,
    /// nearly the same dinucleotide spectrum, and no near-duplicate.
    pub composition_twins_within: usize,
    /// Twin pairs within the set.
    pub composition_twin_pairs_within: usize,
    /// Per label, sorted by label.
    pub classes: Vec<ClassStats>,
}

/// Findings across the training and test sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcrossReport {
    /// Test records whose sequence is in the training set.
    pub exact_duplicates_across: usize,
    /// Test records whose reverse complement is in the training set (not counted above).
    pub reverse_complement_duplicates_across: usize,
    /// Test records with a training record at or above the identity threshold, in either
    /// orientation (exact duplicates included).
    pub near_duplicates_across: usize,
    /// (test, training) record pairs at or above the threshold that the search found.
    pub near_duplicate_pairs_across: usize,
    /// Up to 20 examples: (test name, training name, identity).
    pub examples: Vec<(String, String, f64)>,
    /// (test, training) pairs at or above the identity threshold with different labels.
    pub near_duplicate_label_conflicts_across: usize,
    /// Test records with a composition twin in the training set.
    pub composition_twins_across: usize,
    /// (test, training) twin pairs.
    pub composition_twin_pairs_across: usize,
}

/// The whole report (`qc --json` prints it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QcReport {
    /// How near-duplicates were found and verified.
    pub method: String,
    /// The identity threshold.
    pub identity: f64,
    /// The training set's findings.
    pub train: SetReport,
    /// The test set's findings, when one was given.
    pub test: Option<SetReport>,
    /// Findings across the two, when a test set was given (its fields sit at the top level of
    /// the JSON: `exact_duplicates_across`, ...).
    #[serde(flatten)]
    pub across: Option<AcrossReport>,
    /// Distinct sequences (a sequence and its reverse complement counted as one) carried by
    /// records with different labels, over both sets.
    pub label_conflicts: usize,
    /// Record pairs at or above the identity threshold (exact copies included) with
    /// different labels: within the training set, within the test set and across them.
    pub near_duplicate_label_conflicts: usize,
    /// Composition-twin pairs over both sets: within the training set, within the test set
    /// and across them (see `twins.rs`).
    pub composition_twins: usize,
    /// Largest dinucleotide-spectrum distance (total variation) of composition twins.
    pub twin_distance: f64,
    /// Up to 20 twin pairs: (set, first name, second name, spectrum distance); the set is
    /// "train", "test" or "across" (test name first).
    pub twin_examples: Vec<(String, String, String, f64)>,
    /// True when the twin search stopped at its comparison budget (counts are then lower
    /// bounds).
    pub twins_truncated: bool,
    /// Single-feature models against the full pipeline, when the engine scored them.
    pub shortcuts: Option<ShortcutReport>,
    /// Checks not computed by this version.
    pub not_computed: Vec<String>,
}

/// Runs every check on `train` and, when given, `test`.
pub fn run(train: &[SeqRecord], test: Option<&[SeqRecord]>, opts: QcOptions) -> Result<QcReport> {
    let mut twin_log = TwinLog::default();
    let mut set = |records: &[SeqRecord], index: &near::Index, name: &str| -> Result<SetReport> {
        let (exact, rc) = exact::within(records);
        let twins = twins::find(records, None, opts.twin_distance, opts.identity);
        let (twin_records, twin_pairs) = twin_log.add(name, records, records, &twins);
        let mut near = vec![false; records.len()];
        let mut conflicts = std::collections::BTreeSet::new();
        for p in index.pairs(index, opts)? {
            if p.test != p.train {
                (near[p.test], near[p.train]) = (true, true);
                if records[p.test].label != records[p.train].label {
                    conflicts.insert((p.test.min(p.train), p.test.max(p.train)));
                }
            }
        }
        Ok(SetReport {
            records: records.len(),
            exact_duplicates_within: exact,
            reverse_complement_duplicates_within: rc,
            near_duplicates_within: near.iter().filter(|&&b| b).count(),
            near_duplicate_label_conflicts_within: conflicts.len(),
            composition_twins_within: twin_records,
            composition_twin_pairs_within: twin_pairs,
            classes: stats::per_class(records),
        })
    };
    let train_index = near::Index::build(train)?;
    let train_report = set(train, &train_index, "train")?;
    let (test_report, across) = match test {
        Some(test) => {
            let test_index = near::Index::build(test)?;
            let report = set(test, &test_index, "test")?;
            let mut across = across(train, test, &train_index, &test_index, opts)?;
            let twins = twins::find(test, Some(train), opts.twin_distance, opts.identity);
            let (records, pairs) = twin_log.add("across", test, train, &twins);
            across.composition_twins_across = records;
            across.composition_twin_pairs_across = pairs;
            (Some(report), Some(across))
        }
        None => (None, None),
    };
    let all: Vec<&SeqRecord> = train.iter().chain(test.unwrap_or_default()).collect();
    let near_conflicts = train_report.near_duplicate_label_conflicts_within
        + test_report
            .as_ref()
            .map_or(0, |t| t.near_duplicate_label_conflicts_within)
        + across
            .as_ref()
            .map_or(0, |a| a.near_duplicate_label_conflicts_across);
    Ok(QcReport {
        method: near::METHOD.replace("{k}", &opts.neighbours.to_string()),
        identity: opts.identity,
        train: train_report,
        test: test_report,
        across,
        label_conflicts: exact::label_conflicts(&all),
        near_duplicate_label_conflicts: near_conflicts,
        composition_twins: twin_log.pairs,
        twin_distance: opts.twin_distance,
        twin_examples: twin_log.examples,
        twins_truncated: twin_log.truncated,
        shortcuts: None,
        not_computed: vec!["shortcut risk (single-feature models): scored by the engine".into()],
    })
}

/// Twin findings gathered over the sets: examples and whether any search was truncated.
#[derive(Default)]
struct TwinLog {
    pairs: usize,
    examples: Vec<(String, String, String, f64)>,
    truncated: bool,
}

impl TwinLog {
    /// Records `twins` between `a` and `b`; returns (records of `a` with a twin, pairs).
    fn add(
        &mut self,
        set: &str,
        a: &[SeqRecord],
        b: &[SeqRecord],
        twins: &twins::Twins,
    ) -> (usize, usize) {
        self.truncated |= twins.truncated;
        self.pairs += twins.pairs.len();
        let mut with = vec![false; a.len()];
        for &(i, j, d) in &twins.pairs {
            with[i] = true;
            if set != "across" {
                with[j] = true;
            }
            if self.examples.len() < 20 {
                let names = (a[i].name.clone(), b[j].name.clone());
                self.examples.push((set.into(), names.0, names.1, d));
            }
        }
        (with.iter().filter(|&&w| w).count(), twins.pairs.len())
    }
}

/// A group number per record: records joined by a chain of near-duplicate pairs (at the
/// threshold, either orientation) share one, so a split can keep each group on one side.
/// Returns the groups and how many there are.
pub fn near_duplicate_groups(
    records: &[SeqRecord],
    opts: QcOptions,
) -> Result<(Vec<usize>, usize)> {
    let index = near::Index::build(records)?;
    let mut parent: Vec<usize> = (0..records.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for p in index.pairs(&index, opts)? {
        let (a, b) = (root(&mut parent, p.test), root(&mut parent, p.train));
        // The smaller index is the root: a group is named by its first record.
        parent[a.max(b)] = a.min(b);
    }
    let groups: Vec<usize> = (0..records.len()).map(|i| root(&mut parent, i)).collect();
    let count = groups.iter().enumerate().filter(|&(i, &g)| i == g).count();
    Ok((groups, count))
}

/// A stored collection's live records, to check as a training set.
pub fn stored_records(collection: &Collection) -> Result<Vec<SeqRecord>> {
    let rows = collection.live_records()?;
    rows.into_iter()
        .map(|row| {
            let seq = DnaSeq::parse(&row.seq).map_err(|e| Error::Corrupt {
                path: collection.path().to_path_buf(),
                message: format!("record {:?}: {e}", row.name),
            })?;
            Ok(SeqRecord {
                label: Some(collection.label_name(row.label).to_string()),
                name: row.name,
                seq,
                metadata: None,
            })
        })
        .collect()
}

/// Checks a twin distance given by a user.
pub fn check_twin_distance(distance: f64) -> Result<f64> {
    if (0.0..=1.0).contains(&distance) {
        return Ok(distance);
    }
    Err(Error::InvalidArgument {
        what: "twin-distance".into(),
        message: format!("must be in [0, 1], got {distance}"),
    })
}

/// Checks an identity threshold given by a user.
pub fn check_identity(identity: f64) -> Result<f64> {
    if identity > 0.0 && identity <= 1.0 {
        return Ok(identity);
    }
    Err(Error::InvalidArgument {
        what: "identity".into(),
        message: format!("must be in (0, 1], got {identity}"),
    })
}

fn across(
    train: &[SeqRecord],
    test: &[SeqRecord],
    train_index: &near::Index,
    test_index: &near::Index,
    opts: QcOptions,
) -> Result<AcrossReport> {
    let (exact, rc) = exact::across(train, test);
    let near = train_index.pairs(test_index, opts)?;
    let mut with_near = vec![false; test.len()];
    near.iter().for_each(|p| with_near[p.test] = true);
    let examples = near
        .iter()
        .take(20)
        .map(|p| {
            let (t, r) = (&test[p.test].name, &train[p.train].name);
            (t.clone(), r.clone(), p.identity)
        })
        .collect();
    Ok(AcrossReport {
        exact_duplicates_across: exact,
        reverse_complement_duplicates_across: rc,
        near_duplicates_across: with_near.iter().filter(|&&b| b).count(),
        near_duplicate_pairs_across: near.len(),
        near_duplicate_label_conflicts_across: (near.iter())
            .filter(|p| test[p.test].label != train[p.train].label)
            .count(),
        examples,
        composition_twins_across: 0,
        composition_twin_pairs_across: 0,
    })
}

#[cfg(test)]
mod tests;
