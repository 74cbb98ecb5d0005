//! Progress of long work, phase by phase.
//!
//! The library names each phase (read, embed and store, graph build, tune, fit, ...) and
//! reports how far it got; whoever runs it decides how to show that. The CLI installs a
//! [`Reporter`] once at start-up (a bar or spinner on a terminal, a log line per phase
//! otherwise); without one, as in the server and the tests, every call is a no-op. Phases
//! of nested work (an index run inside an eval fold) carry the outer work's [`scope`] as a
//! prefix.

use std::sync::{Mutex, OnceLock};

/// Shows phases and their progress.
pub trait Reporter: Send + Sync {
    /// A phase begins (the previous one, if any, has ended): `total` units when known.
    fn phase(&self, name: &str, total: Option<u64>);
    /// `done` units of the current phase are complete.
    fn advance(&self, done: u64);
    /// The current phase has ended and no other follows yet.
    fn finish(&self);
    /// A line for the user, printed without tearing a bar.
    fn note(&self, line: &str) {
        eprintln!("{line}");
    }
}

static REPORTER: OnceLock<Box<dyn Reporter>> = OnceLock::new();
static SCOPE: Mutex<String> = Mutex::new(String::new());

/// Installs the process's reporter; false when one was installed already.
pub fn set_reporter(reporter: Box<dyn Reporter>) -> bool {
    REPORTER.set(reporter).is_ok()
}

/// Starts a phase named `name` (prefixed by the current [`scope`]).
pub fn phase(name: &str, total: Option<u64>) {
    if let Some(r) = REPORTER.get() {
        let scope = SCOPE.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if scope.is_empty() {
            r.phase(name, total);
        } else {
            r.phase(&format!("{scope}: {name}"), total);
        }
    }
}

/// Reports `done` units of the current phase.
pub fn advance(done: u64) {
    if let Some(r) = REPORTER.get() {
        r.advance(done);
    }
}

/// Prints a line for the user on stderr, around the reporter's bar when there is one.
pub fn note(line: &str) {
    match REPORTER.get() {
        Some(r) => r.note(line),
        None => eprintln!("{line}"),
    }
}

/// Ends the current phase.
pub fn finish() {
    if let Some(r) = REPORTER.get() {
        r.finish();
    }
}

/// Names the outer work (`fold 2/5`) for the phases started until the guard drops.
pub fn scope(name: String) -> ScopeGuard {
    let previous = std::mem::replace(&mut *SCOPE.lock().unwrap_or_else(|p| p.into_inner()), name);
    ScopeGuard { previous }
}

/// Restores the previous scope when dropped.
pub struct ScopeGuard {
    previous: String,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        finish();
        *SCOPE.lock().unwrap_or_else(|p| p.into_inner()) = std::mem::take(&mut self.previous);
    }
}
