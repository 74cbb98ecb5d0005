//! The contract every [`Embedder`] must meet; each implementation runs [`run_contract`].

use super::Embedder;

/// Sequences of varied length and composition, N included.
fn probe_sequences() -> Vec<Vec<u8>> {
    vec![
        b"ACGT".to_vec(),
        b"A".to_vec(),
        b"GGGGCCCCGGGGCCCC".to_vec(),
        b"ACGTNNACGTTTGACCA".to_vec(),
        b"TATAAAAGGCGCGCTATAAT".repeat(12),
        b"N".to_vec(),
    ]
}

/// Asserts the contract with a per-embedder tolerance for batch-vs-single differences.
pub fn run_contract(embedder: &dyn Embedder, tolerance: f32) {
    let seqs = probe_sequences();
    let refs: Vec<&[u8]> = seqs.iter().map(Vec::as_slice).collect();
    let batch = embedder.embed_batch(&refs).expect("batch embeds");
    assert_eq!(batch.len(), seqs.len(), "one vector per sequence");
    assert!(embedder.embed_batch(&[]).expect("empty batch").is_empty());
    for (seq, vector) in refs.iter().zip(&batch) {
        assert_eq!(vector.len(), embedder.dim(), "dimension");
        assert!(vector.iter().all(|x| x.is_finite()), "finite values");
        let single = embedder
            .embed_batch(&[seq])
            .expect("single embeds")
            .remove(0);
        let diff = single
            .iter()
            .zip(vector)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff <= tolerance, "batch vs one-by-one differ by {diff}");
    }
    let again = embedder.embed_batch(&refs).expect("batch embeds again");
    assert_eq!(again, batch, "deterministic");
    assert!(!embedder.identity().is_empty() && !embedder.name().is_empty());
    assert_ne!(batch[0], batch[2], "different sequences embed differently");
}
