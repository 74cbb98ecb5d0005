//! Which of a checkpoint's variables a fine-tune updates.

use candle_core::Var;
use candle_nn::VarMap;

/// How much of the backbone trains; the head always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every weight of the backbone.
    Full,
    /// Only the last N layers and what follows them (a final norm); embeddings stay frozen.
    LastLayers(usize),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Full => write!(f, "full"),
            Scope::LastLayers(n) => write!(f, "last {n} layers"),
        }
    }
}

/// The layer a tensor name belongs to: the number after a `layer` or `layers` segment, as in
/// `encoder.layer.3.…` (DNABERT-2, NT) or `backbone.layers.1.…` (HyenaDNA).
pub fn layer_index(name: &str) -> Option<usize> {
    let segments: Vec<&str> = name.split('.').collect();
    segments
        .windows(2)
        .find(|w| w[0] == "layer" || w[0] == "layers")
        .and_then(|w| w[1].parse().ok())
}

/// Buffers the references do not train: HyenaDNA's positional grid and decay rates.
fn is_buffer(name: &str) -> bool {
    ["pos_emb.z", "pos_emb.t", "modulation.deltas"]
        .iter()
        .any(|b| name.ends_with(b))
}

/// Number of layers in the stack: one more than the largest layer index.
pub fn layer_count(vars: &VarMap) -> usize {
    let data = vars
        .data()
        .lock()
        .expect("the var map lock is never poisoned");
    data.keys()
        .filter_map(|n| layer_index(n))
        .max()
        .map_or(0, |i| i + 1)
}

/// Whether `name` trains under `scope` in a stack of `layers` layers.
pub fn trains(name: &str, scope: Scope, layers: usize) -> bool {
    if is_buffer(name) {
        return false;
    }
    match (scope, layer_index(name)) {
        (Scope::Full, _) => true,
        (Scope::LastLayers(n), Some(i)) => i + n >= layers,
        (Scope::LastLayers(_), None) => !name.contains("embeddings"),
    }
}

/// The variables that train under `scope`, sorted by name (so the order is reproducible).
pub fn trainable(vars: &VarMap, scope: Scope) -> Vec<(String, Var)> {
    let layers = layer_count(vars);
    let data = vars
        .data()
        .lock()
        .expect("the var map lock is never poisoned");
    let mut chosen: Vec<(String, Var)> = data
        .iter()
        .filter(|(name, _)| trains(name, scope, layers))
        .map(|(name, var)| (name.clone(), var.clone()))
        .collect();
    chosen.sort_by(|a, b| a.0.cmp(&b.0));
    chosen
}

/// Linear warm-up to `peak` over `warmup` steps, then linear decay to zero at `total`.
pub fn learning_rate(step: usize, warmup: usize, total: usize, peak: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let left = total.saturating_sub(step) as f64;
    let span = total.saturating_sub(warmup).max(1) as f64;
    peak * (left / span).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_indices_of_every_family() {
        assert_eq!(layer_index("bert.encoder.layer.11.mlp.wo.weight"), Some(11));
        assert_eq!(
            layer_index("esm.encoder.layer.0.attention.self.query.bias"),
            Some(0)
        );
        assert_eq!(
            layer_index("hyena.backbone.layers.1.mixer.in_proj.weight"),
            Some(1)
        );
        assert_eq!(layer_index("backbone.ln_f.weight"), None);
        assert_eq!(layer_index("bert.embeddings.LayerNorm.weight"), None);
    }

    #[test]
    fn last_layers_scope_freezes_embeddings_and_early_layers() {
        let last2 = Scope::LastLayers(2);
        assert!(!trains(
            "backbone.embeddings.word_embeddings.weight",
            last2,
            4
        ));
        assert!(!trains("backbone.layers.1.mlp.fc1.weight", last2, 4));
        assert!(trains("backbone.layers.2.mlp.fc1.weight", last2, 4));
        assert!(trains("backbone.ln_f.bias", last2, 4));
        assert!(trains(
            "backbone.embeddings.word_embeddings.weight",
            Scope::Full,
            4
        ));
        assert!(!trains(
            "backbone.layers.0.mixer.filter_fn.pos_emb.z",
            Scope::Full,
            4
        ));
    }

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        let lr: Vec<f64> = (0..10).map(|s| learning_rate(s, 2, 10, 1.0)).collect();
        assert_eq!(lr[0], 0.5);
        assert_eq!(lr[1], 1.0);
        assert_eq!(lr[2], 1.0);
        assert!(lr.windows(2).skip(2).all(|w| w[1] < w[0]));
        assert_eq!(learning_rate(10, 2, 10, 1.0), 0.0);
        assert!((learning_rate(6, 2, 10, 1.0) - 0.5).abs() < 1e-12);
    }
}
