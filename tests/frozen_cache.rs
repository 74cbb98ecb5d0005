//! `--last-layers N` fine-tuning with the frozen prefix cached: every family trains to the
//! same losses and dev accuracies as running the whole model at each step, whether the cache
//! sits in memory or in its temporary file, and the report and progress say what was cached.

mod common;

use genovec::finetune::{finetune, FinetuneOptions, FinetuneReport, Progress, Scope};
use genovec::seq::{self, ReadOptions, SeqRecord};

/// The first `n` rows of a GUE prom_core_notata split (70 bp, both classes).
fn prom_core(split: &str, n: usize) -> Vec<SeqRecord> {
    let path = common::dataset(&format!("gue/prom/prom_core_notata/{split}.csv"));
    let mut all = seq::read_all(&[path], &ReadOptions::default()).unwrap();
    all.truncate(n);
    all
}

fn run(fixture: &str, cache_frozen: bool, cache_memory_mb: u64) -> (FinetuneReport, Vec<Progress>) {
    let (train, dev) = (prom_core("train", 96), prom_core("dev", 40));
    let opts = FinetuneOptions {
        epochs: 2,
        batch: 16,
        eval_every: Some(4),
        patience: 100,
        scope: Scope::LastLayers(1),
        lr: Some(1e-3),
        seed: 9,
        cache_frozen,
        cache_memory_mb,
        ..FinetuneOptions::default()
    };
    let base = common::model_fixture(fixture);
    let mut seen = Vec::new();
    let tuned = finetune(None, &base, &train, Some(&dev), &opts, &mut |p| {
        seen.push(p.clone())
    })
    .expect("fine-tunes");
    (tuned.report, seen)
}

fn cached_equals_uncached(fixture: &str) {
    let (plain, plain_progress) = run(fixture, false, 2048);
    assert!(
        plain.frozen_cache.is_none(),
        "{fixture}: no cache asked for"
    );
    assert!(plain_progress
        .iter()
        .all(|p| matches!(p, Progress::Step { .. })));
    for memory_mb in [2048, 0] {
        let (cached, progress) = run(fixture, true, memory_mb);
        let cache = cached.frozen_cache.as_ref().expect("a cache report");
        assert_eq!(
            cache.first_trained_layer, 1,
            "{fixture}: two layers, the last trains"
        );
        assert_eq!(cache.rows, 96 + 40);
        match memory_mb {
            0 => assert!(cache.memory_bytes == 0 && cache.disk_bytes > 0, "{cache:?}"),
            _ => assert!(cache.memory_bytes > 0 && cache.disk_bytes == 0, "{cache:?}"),
        }
        let mut cached_rows = progress.iter().filter_map(|p| match p {
            Progress::Caching { done, total } => Some((*done, *total)),
            _ => None,
        });
        assert_eq!(
            cached_rows.next_back(),
            Some((136, 136)),
            "{fixture}: caching progress"
        );
        assert_eq!(cached.steps, plain.steps);
        assert_eq!(cached.losses.len(), plain.losses.len());
        for (step, (a, b)) in cached.losses.iter().zip(&plain.losses).enumerate() {
            assert!(
                (a - b).abs() < 1e-3 * b.abs().max(1.0),
                "{fixture} ({memory_mb} MiB): step {step} loss {a} cached, {b} uncached"
            );
        }
        let accuracies = |r: &FinetuneReport| r.dev_history.iter().map(|h| h.1).collect::<Vec<_>>();
        assert_eq!(
            accuracies(&cached),
            accuracies(&plain),
            "{fixture}: dev accuracies"
        );
    }
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn frozen_cache_dnabert2() {
    cached_equals_uncached("dnabert2_tiny");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn frozen_cache_nt_v1() {
    cached_equals_uncached("nt_v1_tiny");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn frozen_cache_nt_v2() {
    cached_equals_uncached("nt_v2_tiny");
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn frozen_cache_hyenadna() {
    cached_equals_uncached("hyenadna_tiny");
}
