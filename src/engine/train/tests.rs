use ndarray::array;

use super::*;
use crate::classify::FusionParams;
use crate::engine::design::{design_row, design_width};
use crate::features::{handcrafted_into, positional_profile, HANDCRAFTED_DIM, PROFILE_DIM};

fn state(handcrafted: bool, profile: bool) -> ClassifierState {
    let x = array![[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]];
    ClassifierState {
        params: FusionParams::default(),
        val_accuracy: 1.0,
        trained_on: 4,
        handcrafted,
        profile,
        model: LinearModel::fit(&x, &[0, 1, 0, 1], 2, 1.0, 50).unwrap(),
        labels: vec!["a".into(), "b".into()],
        trained_next_id: Some(4),
        tuned: None,
        class_means: Vec::new(),
    }
}

#[test]
fn a_design_row_is_the_vector_then_handcrafted_then_profile() {
    let seq = b"TATAAAAGGCGCGCATTTACGGCGATCGATCGGGCT";
    let vector = [0.25f32, -0.5];
    let layout = Design::new(true);
    let mut row = vec![0f64; design_width(2, layout)];
    assert_eq!(row.len(), 2 + HANDCRAFTED_DIM + PROFILE_DIM);
    design_row(&vector, seq, layout, &mut row);
    let mut hand = [0f32; HANDCRAFTED_DIM];
    handcrafted_into(seq, &mut hand);
    let want: Vec<f64> = vector
        .iter()
        .chain(&hand)
        .chain(&positional_profile(seq))
        .map(|&v| f64::from(v))
        .collect();
    assert_eq!(row, want);
    let mut bare = vec![0f64; design_width(2, Design::new(false))];
    design_row(&vector, seq, Design::new(false), &mut bare);
    assert_eq!(bare, [0.25, -0.5]);
}

#[test]
fn a_state_stored_before_the_profile_keeps_its_16_column_rows() {
    let mut json = serde_json::to_value(state(true, true)).unwrap();
    json.as_object_mut().unwrap().remove("profile");
    let old: ClassifierState = serde_json::from_value(json).unwrap();
    assert_eq!(
        old.design(),
        Design {
            handcrafted: true,
            profile: false
        }
    );
    assert_eq!(design_width(708, old.design()), 708 + HANDCRAFTED_DIM);
    let new: ClassifierState =
        serde_json::from_slice(&serde_json::to_vec(&state(true, true)).unwrap()).unwrap();
    assert_eq!(new.design(), Design::new(true));
    // The profile never appears without the handcrafted block it extends.
    assert_eq!(state(false, true).design(), Design::new(false));
}
