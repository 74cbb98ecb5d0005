//! Background training: after writes, the classifier is brought up to date off the request
//! path and swapped in whole.
//!
//! A training reads a snapshot of the live records under the read lock (searches go on),
//! fits with no lock held, and takes the write lock only to store the new state, a single
//! small commit. Until the swap, requests use the previous classifier, whose state
//! (records added or deleted since) every prediction reports.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::state::Served;
use crate::engine::{self, Design, TrainAction, TrainMode};
use crate::Result;

impl Served {
    /// Starts a background training unless one is running; a running one trains again
    /// when it ends, so the last write is always trained on.
    pub fn train_in_background(self: &Arc<Self>) {
        if !self.auto_train {
            return;
        }
        self.train_again.store(true, Ordering::Release);
        if self.training.swap(true, Ordering::AcqRel) {
            return;
        }
        let served = Arc::clone(self);
        tokio::task::spawn_blocking(move || served.train_until_current());
    }

    fn train_until_current(self: Arc<Self>) {
        while self.train_again.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.train_once() {
                tracing::error!(collection = %self.name, error = %e, "background training failed");
            }
        }
        self.training.store(false, Ordering::Release);
        // A write that arrived between the last check and the store above found a training
        // running and left it to this one.
        if self.train_again.load(Ordering::Acquire) {
            self.train_in_background();
        }
    }

    /// One training as [`engine::plan`] says: tuned when due, else refitted.
    fn train_once(&self) -> Result<TrainAction> {
        let previous = self.classifier();
        // The snapshot reads every live vector: from memory, not row by row from the file.
        self.wait_loaded();
        let (action, snap) = {
            let collection = self.read();
            let action = engine::plan(&*collection, previous.as_deref(), TrainMode::Auto);
            if matches!(action, TrainAction::UpToDate | TrainAction::TooFew) {
                return Ok(action);
            }
            let layout = previous.as_ref().map_or(Design::new(true), |s| s.design());
            (action, engine::read_snapshot(&collection, layout)?)
        };
        // The features are computed after the read lock is released.
        let snap = snap.finish();
        let state = engine::fit_classifier(&snap, previous.as_deref(), action)?;
        self.commit(|c| engine::save_state(c, &state))?;
        *self.classifier.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(state));
        tracing::info!(collection = %self.name, ?action, "classifier trained in the background");
        Ok(action)
    }
}
