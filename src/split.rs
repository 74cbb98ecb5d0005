//! Seeded stratified splits and folds (ChaCha8 from `seed`, so results are reproducible).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Row indices grouped by label, in ascending label order, each group shuffled by `rng`.
fn shuffled_groups(y: &[u32], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &label) in y.iter().enumerate() {
        groups.entry(label).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    groups.iter_mut().for_each(|g| g.shuffle(rng));
    groups
}

/// How many of a class's `n` rows go to the first part: `round(frac · n)`, but for
/// `0 < frac < 1` a class with at least two rows keeps at least one row on each side.
fn first_part_count(n: usize, frac: f64) -> usize {
    let count = ((frac * n as f64).round() as usize).min(n);
    if n >= 2 && frac > 0.0 && frac < 1.0 {
        count.clamp(1, n - 1)
    } else {
        count
    }
}

/// Splits the rows `0..y.len()` into two parts per class: about `frac` of every class's rows
/// go to the first part, the rest to the second (see the rounding rule on a class with two or
/// more rows: it is never wholly on one side). A class with one row goes where `round(frac)`
/// sends it. Both parts are sorted; the same `seed` gives the same split.
pub fn stratified_split(y: &[u32], frac: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let frac = frac.clamp(0.0, 1.0);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for group in shuffled_groups(y, &mut rng) {
        let cut = first_part_count(group.len(), frac);
        first.extend_from_slice(&group[..cut]);
        second.extend_from_slice(&group[cut..]);
    }
    first.sort_unstable();
    second.sort_unstable();
    (first, second)
}

/// Deals the rows `0..y.len()` into `n_folds` folds (0 is treated as 1), class by class, so
/// every fold holds about the same share of every class and the fold sizes differ by at most
/// one. The folds partition the rows; each is sorted; the same `seed` gives the same folds.
pub fn stratified_folds(y: &[u32], n_folds: usize, seed: u64) -> Vec<Vec<usize>> {
    let n_folds = n_folds.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![Vec::new(); n_folds];
    let mut next = 0;
    for group in shuffled_groups(y, &mut rng) {
        for i in group {
            folds[next % n_folds].push(i);
            next += 1;
        }
    }
    folds.iter_mut().for_each(|f| f.sort_unstable());
    folds
}

/// Folds that keep every group whole: `groups[i]` names row i's group (near-duplicates share
/// one), and each group goes to a single fold. Groups are dealt label by label (a group's label
/// is its first row's), in a seeded shuffle, each to the fold holding the fewest rows of that
/// label so far (then the fewest rows, then the lowest index), so folds stay stratified as far
/// as the groups allow. Each fold is sorted; the same `seed` gives the same folds.
pub fn grouped_folds(y: &[u32], groups: &[usize], n_folds: usize, seed: u64) -> Vec<Vec<usize>> {
    let n_folds = n_folds.max(1);
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &g) in groups.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let mut by_label: BTreeMap<u32, Vec<Vec<usize>>> = BTreeMap::new();
    for rows in members.into_values() {
        by_label.entry(y[rows[0]]).or_default().push(rows);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![Vec::new(); n_folds];
    for (label, mut label_groups) in by_label {
        label_groups.shuffle(&mut rng);
        let mut of_label = vec![0usize; n_folds];
        for rows in label_groups {
            let fold = (0..n_folds)
                .min_by_key(|&f| (of_label[f], folds[f].len(), f))
                .unwrap_or(0);
            of_label[fold] += rows.iter().filter(|&&r| y[r] == label).count();
            folds[fold].extend(rows);
        }
    }
    folds.iter_mut().for_each(|f| f.sort_unstable());
    folds
}

/// A stratified subsample of `rows` of about `cap` rows (all of them when there are fewer).
pub(crate) fn stratified_cap(rows: Vec<usize>, y: &[u32], cap: usize, seed: u64) -> Vec<usize> {
    if rows.len() <= cap {
        return rows;
    }
    let labels: Vec<u32> = rows.iter().map(|&r| y[r]).collect();
    let (keep, _) = stratified_split(&labels, cap as f64 / rows.len() as f64, seed);
    keep.into_iter().map(|i| rows[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_folds_keep_each_group_whole_and_partition_the_rows() {
        let y: Vec<u32> = (0..40).map(|i| (i % 2) as u32).collect();
        // Rows 0..10 pair up (0-2, 4-6, ...); the rest are alone.
        let groups: Vec<usize> = (0..40)
            .map(|i| if i < 10 { i - i % 4 % 3 } else { i })
            .collect();
        let folds = grouped_folds(&y, &groups, 4, 7);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
        for f in &folds {
            for &r in f {
                assert!(
                    f.contains(&groups[r]),
                    "row {r} and its group's first row split"
                );
            }
            assert!(
                (8..=12).contains(&f.len()),
                "{:?}",
                folds.iter().map(Vec::len).collect::<Vec<_>>()
            );
        }
        assert_eq!(folds, grouped_folds(&y, &groups, 4, 7));
    }

    fn labels() -> Vec<u32> {
        (0..200)
            .map(|i| {
                if i % 4 == 0 {
                    1
                } else if i % 10 == 1 {
                    2
                } else {
                    0
                }
            })
            .collect()
    }

    fn count(y: &[u32], rows: &[usize], class: u32) -> usize {
        rows.iter().filter(|&&r| y[r] == class).count()
    }

    #[test]
    fn split_keeps_class_proportions_and_is_deterministic() {
        let y = labels();
        let (a, b) = stratified_split(&y, 0.8, 7);
        for class in 0..3 {
            let total = count(&y, &(0..y.len()).collect::<Vec<_>>(), class);
            assert_eq!(count(&y, &a, class), (0.8 * total as f64).round() as usize);
            assert_eq!(count(&y, &a, class) + count(&y, &b, class), total);
        }
        assert_eq!(stratified_split(&y, 0.8, 7), (a.clone(), b));
        assert_ne!(stratified_split(&y, 0.8, 8).0, a);
    }

    #[test]
    fn split_keeps_small_classes_on_both_sides() {
        let (a, b) = stratified_split(&[0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2], 0.8, 1);
        assert_eq!(count(&[0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2], &b, 0), 1);
        assert!(a.contains(&10) && a.len() + b.len() == 11);
    }

    #[test]
    fn folds_partition_the_rows() {
        let y = labels();
        let folds = stratified_folds(&y, 5, 3);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, (0..y.len()).collect::<Vec<_>>());
        assert!(folds.iter().all(|f| f.len() == 40));
        assert!(folds.iter().all(|f| count(&y, f, 1) == 10));
        assert_eq!(stratified_folds(&y, 5, 3), folds);
        assert_eq!(stratified_folds(&y, 0, 3).len(), 1);
    }

    #[test]
    fn cap_subsamples_proportionally() {
        let y = labels();
        let capped = stratified_cap((0..200).collect(), &y, 100, 1);
        assert_eq!(capped.len(), 100);
        assert_eq!(count(&y, &capped, 1), 25);
        assert_eq!(stratified_cap(vec![3, 4], &y, 100, 1), vec![3, 4]);
    }
}
