use super::layers::*;
use super::rotary::*;
use super::tokenizer::*;
use super::*;
use crate::embed::models::{fixture, Family, ModelEmbedder};

/// NT-v2's vocab layout: 6 specials, the 6-mers in `product("ATCG", repeat=6)` order, bases.
fn v2_vocab() -> Vec<String> {
    let mut vocab: Vec<String> = ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
        .map(String::from)
        .to_vec();
    let kmer = |mut n: usize| -> String {
        let mut s = [b'A'; 6];
        for c in s.iter_mut().rev() {
            *c = b"ATCG"[n % 4];
            n /= 4;
        }
        String::from_utf8(s.to_vec()).unwrap()
    };
    vocab.extend((0..4096).map(kmer));
    vocab.extend(["A", "T", "C", "G", "N"].map(String::from));
    vocab
}

fn tokenizer() -> KmerTokenizer {
    let vocab = v2_vocab();
    KmerTokenizer::from_tokens(vocab.iter().map(String::as_str)).unwrap()
}

fn names(t: &KmerTokenizer, seq: &str) -> Vec<String> {
    let vocab = v2_vocab();
    t.tokenize(seq)
        .iter()
        .map(|&i| vocab[i as usize].clone())
        .collect()
}

#[test]
fn kmer_ids_follow_product_order() {
    let t = tokenizer();
    assert_eq!(t.tokenize("AAAAAA"), vec![3, 6]);
    assert_eq!(t.tokenize("AAAAAT"), vec![3, 7]);
    assert_eq!(t.tokenize("GGGGGG"), vec![3, 4101]);
    assert_eq!(t.tokenize("ATCGN"), vec![3, 4102, 4103, 4104, 4105, 4106]);
    assert_eq!(t.tokenize(""), vec![3]);
}

#[test]
fn kmers_left_to_right_with_single_base_leftovers() {
    let t = tokenizer();
    assert_eq!(names(&t, "ACGTACG"), ["<cls>", "ACGTAC", "G"]);
    assert_eq!(
        names(&t, "ACNGTACGTA"),
        ["<cls>", "A", "C", "N", "GTACGT", "A"]
    );
    assert_eq!(
        names(&t, "NNAAAAAAAAAAAACC"),
        ["<cls>", "N", "N", "AAAAAA", "AAAAAA", "C", "C"]
    );
}

#[test]
fn unknown_runs_are_one_unk_each() {
    let t = tokenizer();
    assert_eq!(names(&t, "acgtacgtacgt"), ["<cls>", "<unk>"]);
    assert_eq!(
        names(&t, "ACGTAacgtTT"),
        ["<cls>", "A", "C", "G", "T", "A", "<unk>", "T", "T"]
    );
    assert_eq!(names(&t, "ac gt"), ["<cls>", "<unk>", "<unk>"]);
    assert_eq!(names(&t, "AC GT"), ["<cls>", "A", "C", "G", "T"]);
}

#[test]
fn positions_start_after_the_pad_id() {
    assert_eq!(
        fairseq_positions(&[3, 9, 9, 1, 1], 1).collect::<Vec<_>>(),
        [2, 3, 4, 1, 1]
    );
}

#[test]
fn inv_freq_matches_hand_values() {
    let f = inv_freq(16);
    let expected = [
        1.0,
        10f64.powf(-0.5),
        0.1,
        10f64.powf(-1.5),
        0.01,
        10f64.powf(-2.5),
        1e-3,
        10f64.powf(-3.5),
    ];
    assert_eq!(f.len(), 8);
    for (got, want) in f.iter().zip(expected) {
        assert!((*got as f64 - want).abs() <= want * 1e-6, "{got} vs {want}");
    }
}

#[test]
fn rotary_tables_match_hand_values() {
    let (cos, sin) = rotary_tables(3, 4); // inv_freq [1, 0.01], rows of 2
    assert_eq!(&cos[..2], &[1.0, 1.0]);
    assert_eq!(&sin[..2], &[0.0, 0.0]);
    let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-7;
    assert!(close(cos[2], 1f64.cos()) && close(sin[2], 1f64.sin()));
    assert!(close(cos[5], 0.02f64.cos()) && close(sin[5], 0.02f64.sin()));
}

#[test]
fn rope_is_the_rotate_half_form() {
    let dev = Device::Cpu;
    let x = Tensor::arange(0f32, 24.0, &dev)
        .unwrap()
        .reshape((1, 1, 3, 8))
        .unwrap();
    let x = (x * 0.1).unwrap().sin().unwrap();
    let got = Rotary::new(3, 8, &dev).unwrap().apply(&x).unwrap();
    // Reference: x * cat(cos, cos) + cat(-x2, x1) * cat(sin, sin).
    let (cos, sin) = rotary_tables(3, 8);
    let cos = Tensor::from_vec(cos, (3, 4), &dev).unwrap();
    let sin = Tensor::from_vec(sin, (3, 4), &dev).unwrap();
    let (cos, sin) = (
        Tensor::cat(&[&cos, &cos], 1).unwrap(),
        Tensor::cat(&[&sin, &sin], 1).unwrap(),
    );
    let (x1, x2) = (x.narrow(3, 0, 4).unwrap(), x.narrow(3, 4, 4).unwrap());
    let rotated = Tensor::cat(&[&x2.neg().unwrap(), &x1], 3).unwrap();
    let want = (x.broadcast_mul(&cos).unwrap() + rotated.broadcast_mul(&sin).unwrap()).unwrap();
    let diff = crate::embed::models::ops::max_diff(&got, &want);
    assert!(diff < 1e-6, "{diff}");
}

fn config(extra: &str) -> Config {
    let json = format!(
        r#"{{"vocab_size": 4105, "hidden_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 128, "max_position_embeddings": 1002,
            "layer_norm_eps": 1e-12, "pad_token_id": 1, "mask_token_id": 2 {extra}}}"#
    );
    serde_json::from_str(&json).unwrap()
}

#[test]
fn version_and_limits_come_from_the_config() {
    let v1 = config(r#", "position_embedding_type": "absolute", "token_dropout": true"#);
    assert_eq!(v1.version(), Version::V1);
    assert_eq!(max_tokens(&v1, Some(1000)), 1000);
    assert_eq!(max_tokens(&v1, None), 1000);
    assert_eq!(max_tokens(&v1, Some(512)), 512);
    let v2 = config(r#", "position_embedding_type": "rotary", "add_bias_fnn": false"#);
    assert_eq!(v2.version(), Version::V2);
    assert_eq!(v2.position_embedding_type, PositionEmbedding::Rotary);
    assert!(config(r#", "emb_layer_norm_before": true"#)
        .check()
        .is_err());
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn inv_freq_matches_the_checkpoint_buffer() {
    let path = fixture("nt_v2_tiny").join("model.safetensors");
    let tensors = candle_core::safetensors::load(path, &Device::Cpu).unwrap();
    let name = "esm.encoder.layer.0.attention.self.rotary_embeddings.inv_freq";
    let stored = tensors[name].to_vec1::<f32>().unwrap();
    assert_eq!(inv_freq(16), stored);
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn contract_nt_v2_tiny() {
    let embedder = ModelEmbedder::load(Some(Family::Nt), &fixture("nt_v2_tiny"), false).unwrap();
    crate::embed::contract::run_contract(&embedder, 1e-4);
}

#[test]
#[ignore = "needs GENOVEC_SHARED"]
fn contract_nt_v1_tiny() {
    let embedder = ModelEmbedder::load(Some(Family::Nt), &fixture("nt_v1_tiny"), false).unwrap();
    crate::embed::contract::run_contract(&embedder, 1e-4);
}
