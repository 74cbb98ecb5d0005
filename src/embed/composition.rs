//! The built-in composition embedder: k-mer spectra plus handcrafted features. No weights.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Embedder;
use crate::features::{handcrafted_into, kmer_dim, kmer_spectra_into, HANDCRAFTED_DIM};
use crate::Result;

/// Parameters of the composition embedder.
///
/// The vector is the concatenation of one block per k (the k-mer frequency spectrum, square
/// rooted when `sqrt`, then scaled to unit norm and by 1/sqrt(number of k blocks)) and the
/// 16 handcrafted features (GC, AT/GC, skews, Z-curve) times `handcrafted_weight`.
/// Per-block normalisation keeps long k-mers from drowning short ones; the weight sets how
/// much base composition counts against the spectra in a distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompositionConfig {
    /// The k-mer lengths, each in 1..=8.
    pub ks: Vec<usize>,
    /// Merge each k-mer with its reverse complement.
    pub canonical: bool,
    /// Square-root (Hellinger) transform of the spectra.
    pub sqrt: bool,
    /// Weight of the handcrafted block (0 leaves its values at 0).
    pub handcrafted_weight: f32,
}

impl Default for CompositionConfig {
    /// The default chosen by cross-validation on training data (see BENCHMARKS.md).
    fn default() -> Self {
        CompositionConfig {
            ks: vec![1, 2, 3, 4, 5],
            canonical: true,
            sqrt: true,
            handcrafted_weight: 0.5,
        }
    }
}

impl CompositionConfig {
    /// Vector length for this configuration.
    pub fn dim(&self) -> usize {
        self.ks
            .iter()
            .map(|&k| kmer_dim(k, self.canonical))
            .sum::<usize>()
            + HANDCRAFTED_DIM
    }

    /// A compact, stable description, recorded as the embedder identity.
    pub fn identity(&self) -> String {
        let ks: Vec<String> = self.ks.iter().map(usize::to_string).collect();
        format!(
            "composition-v1;k={};canonical={};sqrt={};hw={}",
            ks.join(","),
            self.canonical,
            self.sqrt,
            self.handcrafted_weight
        )
    }
}

impl CompositionConfig {
    /// Parses the options of a `composition:OPTIONS` spec: `;`-separated `key=value` pairs
    /// over the defaults, with keys `k` (a comma list, each in 1..=8), `canonical`, `sqrt`
    /// and `hw` (the handcrafted weight). Example: `k=3,4,5;canonical=false`.
    pub fn parse_options(options: &str) -> std::result::Result<Self, String> {
        let mut config = CompositionConfig::default();
        for pair in options.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("option {pair:?} is not key=value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("option {key}={value:?}: {e}");
            match key {
                "k" => config.ks = parse_ks(value)?,
                "canonical" => config.canonical = value.parse().map_err(|e| bad(&e))?,
                "sqrt" => config.sqrt = value.parse().map_err(|e| bad(&e))?,
                "hw" => config.handcrafted_weight = value.parse().map_err(|e| bad(&e))?,
                _ => return Err(format!("unknown option {key:?} (k, canonical, sqrt, hw)")),
            }
        }
        Ok(config)
    }
}

fn parse_ks(value: &str) -> std::result::Result<Vec<usize>, String> {
    let ks: Vec<usize> = value
        .split(',')
        .map(|k| {
            k.trim()
                .parse::<usize>()
                .map_err(|e| format!("k {k:?}: {e}"))
        })
        .collect::<std::result::Result<_, _>>()?;
    match ks.iter().find(|k| !(1..=8).contains(*k)) {
        Some(k) => Err(format!("k {k} is outside 1..=8")),
        None if ks.is_empty() => Err("k needs at least one value".into()),
        None => Ok(ks),
    }
}

/// The composition embedder.
#[derive(Debug, Clone, Default)]
pub struct Composition {
    config: CompositionConfig,
}

impl Composition {
    /// An embedder with the given parameters; panics if a k is outside 1..=8.
    pub fn new(config: CompositionConfig) -> Self {
        assert!(
            config.ks.iter().all(|k| (1..=8).contains(k)),
            "k must be in 1..=8"
        );
        Composition { config }
    }

    /// The parameters.
    pub fn config(&self) -> &CompositionConfig {
        &self.config
    }

    /// Embeds one sequence into `out` (length `dim()`).
    pub fn embed_into(&self, seq: &[u8], out: &mut [f32]) {
        let c = &self.config;
        let block_scale = 1.0 / (c.ks.len().max(1) as f32).sqrt();
        let spectra: usize = c.ks.iter().map(|&k| kmer_dim(k, c.canonical)).sum();
        kmer_spectra_into(seq, &c.ks, c.canonical, &mut out[..spectra]);
        let mut start = 0;
        for &k in &c.ks {
            let block = &mut out[start..start + kmer_dim(k, c.canonical)];
            if c.sqrt {
                block.iter_mut().for_each(|x| *x = x.sqrt());
            }
            scale_to_norm(block, block_scale);
            start += block.len();
        }
        let hand = &mut out[start..];
        handcrafted_into(seq, hand);
        hand.iter_mut().for_each(|x| *x *= c.handcrafted_weight);
    }
}

/// Scales `v` to L2 norm `target`; a zero block stays zero.
fn scale_to_norm(v: &mut [f32], target: f32) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x *= target / norm);
    }
}

impl Embedder for Composition {
    fn name(&self) -> &str {
        "composition"
    }

    fn identity(&self) -> String {
        self.config.identity()
    }

    fn dim(&self) -> usize {
        self.config.dim()
    }

    fn embed_batch(&self, seqs: &[&[u8]]) -> Result<Vec<Vec<f32>>> {
        // Each sequence on its own, so rayon's threads share them; the output is in order.
        Ok(seqs
            .par_iter()
            .map(|s| {
                let mut v = vec![0.0; self.dim()];
                self.embed_into(s, &mut v);
                v
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::contract;

    #[test]
    fn default_dimension_is_stated_and_small() {
        // Canonical k=1..5: 2 + 10 + 32 + 136 + 512 = 692, plus 16 handcrafted = 708.
        assert_eq!(CompositionConfig::default().dim(), 708);
    }

    #[test]
    fn blocks_have_the_documented_norms() {
        let config = CompositionConfig {
            ks: vec![1, 2],
            canonical: false,
            sqrt: false,
            handcrafted_weight: 1.0,
        };
        let e = Composition::new(config);
        let v = e.embed_batch(&[b"ACGTACGGTA"]).unwrap().remove(0);
        let norm = |s: &[f32]| s.iter().map(|x| x * x).sum::<f32>().sqrt();
        let half = 1.0 / 2f32.sqrt();
        assert!((norm(&v[0..4]) - half).abs() < 1e-6);
        assert!((norm(&v[4..20]) - half).abs() < 1e-6);
        // GC content of ACGTACGGTA: C,G,C,G,G = 5 of 10.
        assert!((v[20] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn sequence_of_only_n_embeds_to_zero_spectra() {
        let e = Composition::default();
        let v = e.embed_batch(&[b"NNNN"]).unwrap().remove(0);
        assert!(v.iter().all(|x| *x == 0.0));
    }

    #[test]
    fn options_parse_over_the_defaults_and_reject_bad_values() {
        let c = CompositionConfig::parse_options("k=3,4;canonical=false").unwrap();
        assert_eq!(
            (c.ks.clone(), c.canonical, c.sqrt),
            (vec![3, 4], false, true)
        );
        assert_eq!(c.dim(), 64 + 256 + 16);
        assert_eq!(
            CompositionConfig::parse_options("").unwrap(),
            CompositionConfig::default()
        );
        for bad in ["k=9", "k=", "hw=x", "depth=2", "k"] {
            assert!(CompositionConfig::parse_options(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contract_suite() {
        contract::run_contract(&Composition::default(), 0.0);
    }
}
