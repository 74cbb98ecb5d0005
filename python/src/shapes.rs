//! The JSON shapes of the CLI's `classify --json` line and `info --json` object, built the
//! same way from the same engine values (src/cli/classify.rs `json`, src/cli/info.rs), so a
//! Python dict equals the CLI's parsed line field by field.

use serde_json::{json, Map, Value};

use genovec::engine::{self, ClassifierStatus, Prediction, TrainAction, Trained};

use crate::reader::Reader;

/// One prediction as `genovec classify --json` prints it (the engine's shape).
pub fn prediction(p: &Prediction, status: &ClassifierStatus) -> Value {
    p.to_json(Some(status))
}

/// The collection as `genovec info --json` prints it.
pub fn info(reader: &Reader) -> Value {
    let info = reader.collection.info();
    let status = engine::status(&reader.collection, reader.state.as_ref());
    let mut classifier = serde_json::to_value(&status).unwrap_or(Value::Null);
    if let Some(c) = &reader.state {
        classifier["val_accuracy"] = c.val_accuracy.into();
    }
    let labels: Map<String, Value> = info
        .labels
        .iter()
        .map(|(l, n)| (l.clone(), (*n).into()))
        .collect();
    json!({
        "path": info.path, "records": info.records, "labels": labels,
        "embedder": info.config.embedder, "embedder_identity": info.config.embedder_identity,
        "dimension": info.config.dim, "metric": info.config.metric,
        "graph_params": info.config.graph, "graph_nodes": info.graph_nodes, "tail": info.tail,
        "tombstones": info.tombstones, "format_version": info.format_version,
        "quantize": info.config.quantize, "vector_bytes": info.vector_bytes,
        "search": reader.collection.search_method().ok(), "classifier": classifier,
    })
}

/// What a training run did (the CLI's stderr line, as fields): `action` is `tuned`,
/// `refitted`, `up_to_date` or `too_few`.
pub fn trained(t: &Trained) -> Value {
    let state = t.state.as_ref().filter(|_| t.action != TrainAction::TooFew);
    json!({
        "action": t.action,
        "params": state.map(|c| &c.params),
        "trained_on": state.map(|c| c.trained_on),
        "val_accuracy": state.map(|c| c.val_accuracy),
    })
}
