use super::*;
use crate::classify::testdata::{clusters, train_accuracy};
use linfa::traits::Predict;
use ndarray::{concatenate, Array2, Axis};

/// Two separable clusters plus a constant column (which must get scale 1).
fn two_class() -> (Array2<f64>, Vec<u32>) {
    let (x, y) = clusters(&[(&[-2.0, 1.0], 0), (&[2.0, -1.0], 1)], 30, 1.0, 1);
    let constant = Array2::from_elem((x.nrows(), 1), 7.0);
    (concatenate![Axis(1), x, constant], y)
}

fn three_class() -> (Array2<f64>, Vec<u32>) {
    clusters(
        &[(&[0.0, 4.0], 0), (&[4.0, -2.0], 1), (&[-4.0, -2.0], 2)],
        25,
        1.0,
        2,
    )
}

#[test]
fn learns_a_separable_binary_problem() {
    let (x, y) = two_class();
    let m = LinearModel::fit(&x, &y, 2, 1.0, DEFAULT_MAX_ITER).unwrap();
    assert_eq!(m.scale[2], 1.0);
    let probs = m.predict_proba_batch(&x);
    assert_eq!(train_accuracy(&probs, &y), 1.0);
    assert!(probs
        .iter()
        .all(|p| (p.iter().sum::<f64>() - 1.0).abs() < 1e-12));
}

#[test]
fn binary_probabilities_equal_linfa() {
    let (x, y) = two_class();
    let m = LinearModel::fit(&x, &y, 2, 0.5, DEFAULT_MAX_ITER).unwrap();
    let xs = standardise(&x, &m.mean, &m.scale);
    let fitted = fit_binary(&xs, &y, 0.5, DEFAULT_MAX_ITER).unwrap();
    let pos = fitted.labels().pos.class as usize;
    let theirs = fitted.predict_probabilities(&xs);
    for (row, q) in x.rows().into_iter().zip(theirs.iter()) {
        let p = m.predict_proba(&row.to_vec());
        assert!((p[pos] - q).abs() < 1e-9 && (p[1 - pos] - (1.0 - q)).abs() < 1e-9);
    }
}

#[test]
fn learns_a_separable_multiclass_problem_and_equals_linfa() {
    let (x, y) = three_class();
    let m = LinearModel::fit(&x, &y, 3, 1.0, DEFAULT_MAX_ITER).unwrap();
    let probs = m.predict_proba_batch(&x);
    assert_eq!(train_accuracy(&probs, &y), 1.0);
    let xs = standardise(&x, &m.mean, &m.scale);
    let fitted = fit_multi(&xs, &y, 1.0, DEFAULT_MAX_ITER).unwrap();
    let theirs = fitted.predict_probabilities(&xs);
    let predicted: Array1<u32> = fitted.predict(&xs);
    for (i, p) in probs.iter().enumerate() {
        for (j, &class) in fitted.classes().iter().enumerate() {
            assert!((p[class as usize] - theirs[[i, j]]).abs() < 1e-9);
        }
        assert_eq!(crate::classify::argmax(p).0, predicted[i] as usize);
    }
}

#[test]
fn absent_classes_get_zero_and_one_class_is_constant() {
    let (x, y) = two_class();
    let y2: Vec<u32> = y.iter().map(|&l| l * 2).collect();
    let m = LinearModel::fit(&x, &y2, 4, 1.0, DEFAULT_MAX_ITER).unwrap();
    let p = m.predict_proba(&x.row(0).to_vec());
    assert_eq!((p.len(), p[1], p[3]), (4, 0.0, 0.0));
    let m = LinearModel::fit(&x, &vec![1; y.len()], 3, 1.0, DEFAULT_MAX_ITER).unwrap();
    assert_eq!(m.predict_proba(&[0.0, 100.0, -3.0]), vec![0.0, 1.0, 0.0]);
}

#[test]
fn stronger_regularisation_gives_softer_probabilities() {
    let (x, y) = two_class();
    let hard = LinearModel::fit(&x, &y, 2, 10.0, DEFAULT_MAX_ITER).unwrap();
    let soft = LinearModel::fit(&x, &y, 2, 0.01, DEFAULT_MAX_ITER).unwrap();
    let row = x.row(0).to_vec();
    assert!(hard.predict_proba(&row)[y[0] as usize] > soft.predict_proba(&row)[y[0] as usize]);
}

#[test]
fn serde_round_trips() {
    let (x, y) = three_class();
    let m = LinearModel::fit(&x, &y, 3, 1.0, DEFAULT_MAX_ITER).unwrap();
    // serde_json (without its float_roundtrip feature) may move the last bit of an f64.
    let json: LinearModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    let (a, b) = (
        json.predict_proba(&[1.0, 2.0]),
        m.predict_proba(&[1.0, 2.0]),
    );
    assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-12));
    let config = bincode::config::standard();
    let bytes = bincode::serde::encode_to_vec(&m, config).unwrap();
    let (bin, _): (LinearModel, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
    assert_eq!(bin, m);
    assert_eq!(bin.predict_proba(&[1.0, 2.0]), m.predict_proba(&[1.0, 2.0]));
}

#[test]
fn rejects_bad_inputs() {
    let (x, y) = two_class();
    assert!(LinearModel::fit(&x, &y[1..], 2, 1.0, 10).is_err());
    assert!(LinearModel::fit(&x, &y, 1, 1.0, 10).is_err());
    assert!(LinearModel::fit(&x, &y, 2, 0.0, 10).is_err());
    let mut bad = x.clone();
    bad[[3, 1]] = f64::NAN;
    let err = LinearModel::fit(&bad, &y, 2, 1.0, 10).unwrap_err();
    assert!(err.to_string().contains("row 3, column 1"), "{err}");
}

#[test]
fn fit_removing_is_blind_to_the_shift_direction_only() {
    let (x, y) = two_class();
    let plain = LinearModel::fit(&x, &y, 2, 1.0, DEFAULT_MAX_ITER).unwrap();
    // A query set whose mean sits one unit further along column 0 (the stronger cue).
    let mut target = plain.mean.clone();
    target[0] += 1.0;
    let blind = LinearModel::fit_removing(&x, &y, 2, 1.0, DEFAULT_MAX_ITER, &target).unwrap();
    assert!(blind.removes_a_direction() && !plain.removes_a_direction());
    let row = x.row(0).to_vec();
    let moved: Vec<f64> = row
        .iter()
        .enumerate()
        .map(|(i, v)| if i == 0 { v + 5.0 } else { *v })
        .collect();
    let (b0, b1) = (blind.predict_proba(&row), blind.predict_proba(&moved));
    assert!((b0[1] - b1[1]).abs() < 1e-12, "{b0:?} vs {b1:?}");
    let (p0, p1) = (plain.predict_proba(&row), plain.predict_proba(&moved));
    assert!(
        (p0[1] - p1[1]).abs() > 0.1,
        "the plain model uses column 0: {p0:?} {p1:?}"
    );
    // Column 1 still separates the classes.
    assert!(train_accuracy(&blind.predict_proba_batch(&x), &y) >= 0.9);
    let json: LinearModel = serde_json::from_str(&serde_json::to_string(&blind).unwrap()).unwrap();
    assert!((json.predict_proba(&moved)[1] - b1[1]).abs() < 1e-12);
}

#[test]
fn fit_removing_checks_the_target_and_ignores_a_zero_offset() {
    let (x, y) = two_class();
    assert!(LinearModel::fit_removing(&x, &y, 2, 1.0, 10, &[0.0]).is_err());
    let plain = LinearModel::fit(&x, &y, 2, 1.0, DEFAULT_MAX_ITER).unwrap();
    let same = LinearModel::fit_removing(&x, &y, 2, 1.0, DEFAULT_MAX_ITER, &plain.mean).unwrap();
    assert!(!same.removes_a_direction());
    let offset = plain.standardised_offset(&plain.mean);
    assert!(offset.iter().all(|v| v.abs() < 1e-12));
}
