//! Each fused op against candle's composition of the same function: values and the gradients
//! of every tracked input.

use candle_core::{Device, Tensor, Var, D};

use super::*;
use crate::embed::models::ops::max_diff;

fn randn(shape: &[usize], mean: f32, std: f32) -> Tensor {
    Tensor::randn(mean, std, shape, &Device::Cpu).unwrap()
}

/// `f`'s output and the gradients of `Σ f(inputs) · weights` for each input.
fn value_and_grads(
    inputs: &[Var],
    weights: &Tensor,
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
) -> (Tensor, Vec<Tensor>) {
    let tensors: Vec<Tensor> = inputs.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&tensors).unwrap();
    let grads = (&y * weights)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let g = tensors
        .iter()
        .map(|t| grads.get(t).unwrap().clone())
        .collect();
    (y, g)
}

/// Fused and composed forms agree on the value and on every input's gradient (of the sum of
/// the output times random weights), and no input's gradient is zero.
pub(crate) fn agree(
    inputs: &[Tensor],
    out_shape: &[usize],
    fused: impl Fn(&[Tensor]) -> Result<Tensor>,
    composed: impl Fn(&[Tensor]) -> Result<Tensor>,
    tol: f32,
) {
    let weights = randn(out_shape, 0.0, 1.0);
    let vars = || -> Vec<Var> {
        inputs
            .iter()
            .map(|t| Var::from_tensor(t).unwrap())
            .collect()
    };
    let (y1, g1) = value_and_grads(&vars(), &weights, fused);
    let (y2, g2) = value_and_grads(&vars(), &weights, composed);
    assert_eq!(y1.dims(), out_shape);
    assert!(max_diff(&y1, &y2) < tol, "value {}", max_diff(&y1, &y2));
    for (i, (a, b)) in g1.iter().zip(&g2).enumerate() {
        let scale = b
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(scale > 0.0, "input {i} has a zero gradient");
        assert!(
            max_diff(a, b) < tol * scale.max(1.0),
            "input {i}: {}",
            max_diff(a, b)
        );
    }
}

#[test]
fn softmax_matches_candles_composition() {
    // Wide logits, and a masked key as the attention mask makes it.
    let x = randn(&[2, 3, 5, 9], 0.0, 4.0);
    let mask = Tensor::from_vec(
        vec![0f32, 0., 0., 0., 0., 0., 0., f32::MIN, f32::MIN],
        9,
        &Device::Cpu,
    )
    .unwrap();
    let x = x.broadcast_add(&mask).unwrap();
    agree(
        &[x],
        &[2, 3, 5, 9],
        |t| softmax(&t[0]),
        |t| candle_nn::ops::softmax(&t[0], D::Minus1),
        1e-6,
    );
}

#[test]
fn layer_norm_matches_candles_composition() {
    let (x, w, b) = (
        randn(&[3, 7, 24], 0.5, 2.0),
        randn(&[24], 1.0, 0.3),
        randn(&[24], 0.0, 0.3),
    );
    let eps = 1e-5;
    agree(
        &[x, w, b],
        &[3, 7, 24],
        |t| layer_norm(&t[0], &t[1], &t[2], eps),
        |t| {
            let centred = t[0].broadcast_sub(&t[0].mean_keepdim(D::Minus1)?)?;
            let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
            let normed = centred.broadcast_div(&(var + eps)?.sqrt()?)?;
            normed.broadcast_mul(&t[1])?.broadcast_add(&t[2])
        },
        2e-5,
    );
}

#[test]
fn layer_norm_gives_no_gradient_to_a_constant_input() {
    let x = randn(&[4, 8], 0.0, 1.0);
    let w = Var::from_tensor(&randn(&[8], 1.0, 0.1)).unwrap();
    let b = Var::from_tensor(&randn(&[8], 0.0, 0.1)).unwrap();
    let y = layer_norm(&x, w.as_tensor(), b.as_tensor(), 1e-5).unwrap();
    let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
    assert!(grads.get(&x).is_none());
    assert!(grads.get(w.as_tensor()).is_some() && grads.get(b.as_tensor()).is_some());
}

#[test]
fn rope_matches_candles_slow_rope() {
    // Tables longer than T, as the models build them for the longest batch.
    let x = randn(&[2, 3, 5, 8], 0.0, 1.0);
    let (cos, sin) = (randn(&[7, 4], 0.0, 1.0), randn(&[7, 4], 0.0, 1.0));
    let (c5, s5) = (cos.narrow(0, 0, 5).unwrap(), sin.narrow(0, 0, 5).unwrap());
    agree(
        &[x],
        &[2, 3, 5, 8],
        |t| rope(&t[0], &cos, &sin),
        |t| candle_nn::rotary_emb::rope_slow(&t[0], &c5, &s5),
        1e-6,
    );
}

#[test]
fn strided_inputs_are_made_contiguous() {
    let x = randn(&[6, 4], 0.0, 1.0).t().unwrap();
    let v = Var::from_tensor(&x).unwrap();
    let want = candle_nn::ops::softmax(&x.contiguous().unwrap(), D::Minus1).unwrap();
    assert!(max_diff(&softmax(v.as_tensor()).unwrap(), &want) < 1e-6);
    assert!(applies(&x));
}

#[test]
fn row_ops_match_candles_broadcasts() {
    let (x, row) = (randn(&[3, 4, 6], 0.0, 1.0), randn(&[6], 0.5, 1.0));
    agree(
        &[x.clone(), row.clone()],
        &[3, 4, 6],
        |t| row_op(&t[0], &t[1], true),
        |t| t[0].broadcast_add(&t[1]),
        1e-6,
    );
    agree(
        &[x, row],
        &[3, 4, 6],
        |t| row_op(&t[0], &t[1], false),
        |t| t[0].broadcast_mul(&t[1]),
        1e-5,
    );
}

#[test]
fn a_row_op_rejects_a_row_of_the_wrong_width() {
    let x = Var::from_tensor(&randn(&[2, 5], 0.0, 1.0)).unwrap();
    let err = row_op(x.as_tensor(), &randn(&[4], 0.0, 1.0), true).unwrap_err();
    assert!(err.to_string().contains("row op"), "{err}");
}
