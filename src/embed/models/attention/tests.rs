use candle_core::{Device, Tensor, D};

use super::*;
use crate::embed::models::ops::max_diff;

const H: usize = 3;
const DH: usize = 4;

/// The op over `H` heads of width `DH`.
fn op<'a>(spans: &'a [Span], scale: f32, positions: Positions<'a>) -> FusedAttention<'a> {
    FusedAttention {
        spans,
        heads: H,
        head_dim: DH,
        scale,
        positions,
    }
}

/// candle's composition for one span: `[queries, d]`.
fn reference(qkv: &Tensor, span: Span, scale: f64, positions: Positions) -> Tensor {
    let d = H * DH;
    let rows = qkv.narrow(0, span.start, span.queries).unwrap();
    let part = |i: usize, n: usize| {
        rows.narrow(1, i * d, d)
            .unwrap()
            .narrow(0, 0, n)
            .unwrap()
            .reshape((n, H, DH))
            .unwrap()
            .transpose(0, 1)
            .unwrap()
            .contiguous()
            .unwrap()
    };
    let (mut q, mut k, v) = (
        part(0, span.queries),
        part(1, span.keys),
        part(2, span.keys),
    );
    if let Positions::Rotary { cos, sin } = positions {
        let table =
            |t: &[f32], n| Tensor::from_slice(&t[..n * DH / 2], (n, DH / 2), &Device::Cpu).unwrap();
        let turn = |x: &Tensor, n| {
            candle_nn::rotary_emb::rope_slow(
                &x.unsqueeze(0).unwrap(),
                &table(cos, n),
                &table(sin, n),
            )
            .unwrap()
            .squeeze(0)
            .unwrap()
        };
        (q, k) = (turn(&q, span.queries), turn(&k, span.keys));
    }
    let mut scores = (q.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
    if let Positions::Alibi(slopes) = positions {
        let bias: Vec<f32> = (0..H)
            .flat_map(|h| {
                (0..span.queries).flat_map(move |i| {
                    (0..span.keys).map(move |j| slopes[h] * -(i.abs_diff(j) as f32))
                })
            })
            .collect();
        let bias = Tensor::from_vec(bias, (H, span.queries, span.keys), &Device::Cpu).unwrap();
        scores = (scores + bias).unwrap();
    }
    let probs = candle_nn::ops::softmax(&scores, D::Minus1).unwrap();
    probs
        .matmul(&v)
        .unwrap()
        .transpose(0, 1)
        .unwrap()
        .reshape((span.queries, d))
        .unwrap()
}

fn check(positions: Positions, spans: &[Span], n: usize) {
    let qkv = Tensor::randn(0f32, 1.0, (n, 3 * H * DH), &Device::Cpu).unwrap();
    let attention = op(spans, 0.5, positions);
    let got = attention.forward(&qkv).unwrap();
    assert_eq!(got.dims(), &[n, H * DH]);
    for &span in spans {
        let want = reference(&qkv, span, 0.5, positions);
        let rows = got.narrow(0, span.start, span.queries).unwrap();
        assert!(max_diff(&rows, &want) < 1e-5, "{span:?}");
    }
}

/// The trainable op's gradient of `Σ context · weights` over the spans' rows against
/// candle's, taken through [`reference`]; the gap rows' gradient is zero.
fn check_gradient(positions: Positions, spans: &[Span], n: usize) {
    let qkv = Tensor::randn(0f32, 1.0, (n, 3 * H * DH), &Device::Cpu).unwrap();
    let weights = Tensor::randn(0f32, 1.0, (n, H * DH), &Device::Cpu).unwrap();
    let grad_of = |loss: &dyn Fn(&Tensor) -> Tensor| {
        let v = candle_core::Var::from_tensor(&qkv).unwrap();
        let grads = loss(v.as_tensor()).backward().unwrap();
        grads.get(v.as_tensor()).unwrap().clone()
    };
    let span_loss = |context: &dyn Fn(Span) -> Tensor| {
        let parts = spans.iter().map(|&s| {
            let w = weights.narrow(0, s.start, s.queries).unwrap();
            (context(s) * w).unwrap().sum_all().unwrap()
        });
        parts.reduce(|a, b| (a + b).unwrap()).unwrap()
    };
    let attention = op(spans, 0.5, positions);
    let ours = grad_of(&|x| {
        assert!(x.track_op() && fused_applies(x));
        let context = attention.forward(x).unwrap();
        span_loss(&|s| context.narrow(0, s.start, s.queries).unwrap())
    });
    let theirs = grad_of(&|x| span_loss(&|s| reference(x, s, 0.5, positions)));
    assert!(
        max_diff(&ours, &theirs) < 1e-4,
        "{}",
        max_diff(&ours, &theirs)
    );
    let total = |t: &Tensor| {
        t.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    };
    assert!(total(&theirs) > 0.0);
}

/// Unpadded sequences (DNABERT-2's layout), a gap row left at zero.
#[test]
fn alibi_spans_equal_candles_composition() {
    let slopes = [0.5, 0.25, 0.125];
    let spans = [
        Span {
            start: 0,
            queries: 5,
            keys: 5,
        },
        Span {
            start: 6,
            queries: 3,
            keys: 3,
        },
    ];
    check(Positions::Alibi(&slopes), &spans, 9);
    check_gradient(Positions::Alibi(&slopes), &spans, 9);
    let qkv = Tensor::ones((9, 3 * H * DH), DType::F32, &Device::Cpu).unwrap();
    let attention = op(&spans, 1.0, Positions::None);
    let gap = attention.forward(&qkv).unwrap().get(5).unwrap();
    assert_eq!(
        gap.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap(),
        0.0
    );
}

/// Right-padded rows (NT's layout): every query attends to the real keys only.
#[test]
fn rotary_padded_spans_equal_candles_composition() {
    let (cos, sin): (Vec<f32>, Vec<f32>) = (0..6 * DH / 2)
        .map(|i| ((i as f32 * 0.3).cos(), (i as f32 * 0.3).sin()))
        .unzip();
    let spans = [
        Span {
            start: 0,
            queries: 6,
            keys: 4,
        },
        Span {
            start: 6,
            queries: 6,
            keys: 6,
        },
    ];
    check(
        Positions::Rotary {
            cos: &cos,
            sin: &sin,
        },
        &spans,
        12,
    );
    check_gradient(
        Positions::Rotary {
            cos: &cos,
            sin: &sin,
        },
        &spans,
        12,
    );
    check(Positions::None, &spans, 12);
    check_gradient(Positions::None, &spans, 12);
}

#[test]
fn overlapping_spans_are_an_error() {
    let spans = [
        Span {
            start: 0,
            queries: 4,
            keys: 4,
        },
        Span {
            start: 3,
            queries: 2,
            keys: 2,
        },
    ];
    let qkv = Tensor::zeros((5, 3 * H * DH), DType::F32, &Device::Cpu).unwrap();
    let attention = op(&spans, 1.0, Positions::None);
    assert!(attention
        .forward(&qkv)
        .unwrap_err()
        .to_string()
        .contains("bad span"));
}
