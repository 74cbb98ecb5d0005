//! Damaged collection files (issue 15): every damaged copy of a 3,000-record collection gives a
//! clear error naming the file, or the same answers as the clean file. Never a panic, an abort
//! or a silently different answer. The real binary runs on each copy: `search`, `classify`
//! and `check`.
//!
//! GENOVEC_CORRUPTION_TRIALS raises the number of copies (36 by default) for BENCHMARKS.md; the
//! outcome table is printed to stderr.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{ok_in, run_in, write_demo_csv};
use rand::{Rng, SeedableRng};

/// One way to damage a file, applied to its bytes.
fn damage(kind: usize, bytes: &mut Vec<u8>, rng: &mut impl Rng) -> &'static str {
    let len = bytes.len();
    let mut overwrite = |size: usize, rng: &mut dyn rand::RngCore| {
        let at = rng.gen_range(0..len - size);
        rng.fill_bytes(&mut bytes[at..at + size]);
    };
    match kind % 6 {
        0 => {
            overwrite(64, rng);
            "random 64 bytes"
        }
        1 => {
            overwrite(4096, rng);
            "random 4 KiB"
        }
        2 => {
            let keep = rng.gen_range(0..len);
            bytes.truncate(keep);
            "truncated"
        }
        3 => {
            let end = [512, 4096][rng.gen_range(0..2)];
            bytes[..end].fill(0);
            "zeroed header"
        }
        4 => {
            let size = [4096, 65536][rng.gen_range(0..2)];
            let at = rng.gen_range(len / 4..len * 3 / 4 - size);
            bytes[at..at + size].fill(0);
            "zeroed middle"
        }
        _ => {
            // One flipped bit: the smallest damage there is.
            let at = rng.gen_range(0..len);
            bytes[at] ^= 1 << rng.gen_range(0..8);
            "one bit flipped"
        }
    }
}

/// What one command did on a damaged copy, compared with the clean file.
fn outcome(dir: &Path, args: &[&str], clean: &str, file: &str) -> Result<&'static str, String> {
    let out = run_in(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) if stdout == clean => Ok("same answers"),
        Some(0) => Err(format!("{args:?} answered differently with no error")),
        Some(1) if stderr.contains(file) => Ok("error naming the file"),
        Some(1) => Err(format!("{args:?}: an error not naming {file}: {stderr}")),
        code => Err(format!("{args:?} crashed ({code:?}): {stderr}")),
    }
}

#[test]
fn every_damaged_copy_is_an_error_naming_the_file_or_answers_as_the_clean_one() {
    let trials: usize = std::env::var("GENOVEC_CORRUPTION_TRIALS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(36);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_demo_csv(&d.join("train.csv"), 1, 1000);
    write_demo_csv(&d.join("query.csv"), 2, 7);
    ok_in(
        d,
        &[
            "index",
            "--collection",
            "clean.redb",
            "--input",
            "train.csv",
        ],
    );
    let clean = std::fs::read(d.join("clean.redb")).unwrap();
    let search = |c: &str| {
        [
            "search",
            "--collection",
            c,
            "--input",
            "query.csv",
            "--k",
            "5",
        ]
        .map(String::from)
    };
    let classify = |c: &str| {
        [
            "classify",
            "--collection",
            c,
            "--input",
            "query.csv",
            "--json",
        ]
        .map(String::from)
    };
    let clean_search = ok_in(d, &as_strs(&search("clean.redb")));
    let clean_classify = ok_in(d, &as_strs(&classify("clean.redb")));
    ok_in(d, &["check", "--collection", "clean.redb"]);

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    let mut table: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for trial in 0..trials {
        let mut bytes = clean.clone();
        let kind = damage(trial, &mut bytes, &mut rng);
        let file = format!("damaged{trial}.redb");
        std::fs::write(d.join(&file), &bytes).unwrap();
        let mut seen = Vec::new();
        for (args, clean_out) in [
            (search(&file).to_vec(), clean_search.as_str()),
            (classify(&file).to_vec(), clean_classify.as_str()),
        ] {
            match outcome(d, &as_strs(&args), clean_out, &file) {
                Ok(what) => seen.push(what),
                Err(e) => failures.push(format!("trial {trial} ({kind}): {e}")),
            }
        }
        let check = run_in(d, &["check", "--collection", &file]);
        let check_says = match check.status.code() {
            Some(0) => "check passes",
            Some(1) => "check reports it",
            code => {
                failures.push(format!("trial {trial} ({kind}): check crashed ({code:?})"));
                "check crashed"
            }
        };
        if check_says == "check passes" && seen.contains(&"error naming the file") {
            failures.push(format!(
                "trial {trial} ({kind}): check passed a file that fails to load"
            ));
        }
        let verdict = if seen.iter().all(|s| *s == "same answers") {
            "same answers"
        } else {
            "error naming the file"
        };
        *table.entry((kind, verdict)).or_default() += 1;
        *table.entry((kind, check_says)).or_default() += 1;
        std::fs::remove_file(d.join(&file)).unwrap();
    }
    eprintln!("| damage | outcome | copies |\n|---|---|---|");
    for ((kind, what), n) in &table {
        eprintln!("| {kind} | {what} | {n} |");
    }
    assert!(
        failures.is_empty(),
        "{} of {trials} trials failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
