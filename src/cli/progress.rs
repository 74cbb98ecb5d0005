//! The CLI's progress display: on a terminal, a bar (or a spinner when the size is unknown)
//! that names the phase; otherwise one log line when a phase starts and one when it ends.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use genovec::progress::Reporter;
use indicatif::{ProgressBar, ProgressStyle};

/// Phases shorter than this end without a closing log line.
const QUIET_BELOW: Duration = Duration::from_secs(2);

struct Current {
    name: String,
    started: Instant,
    bar: Option<ProgressBar>,
}

/// The reporter behind `genovec::progress` for one CLI command.
pub struct CliReporter {
    terminal: bool,
    current: Mutex<Option<Current>>,
}

/// Installs the reporter (once per process).
pub fn install() {
    let reporter = CliReporter {
        terminal: std::io::stderr().is_terminal(),
        current: Mutex::new(None),
    };
    genovec::progress::set_reporter(Box::new(reporter));
}

impl CliReporter {
    fn end(&self, current: &mut Option<Current>) {
        let Some(c) = current.take() else { return };
        if let Some(bar) = c.bar {
            bar.finish_and_clear();
        }
        let took = c.started.elapsed();
        if !self.terminal && took >= QUIET_BELOW {
            eprintln!("{}: done in {:.1} s", c.name, took.as_secs_f64());
        }
    }

    fn bar(name: &str, total: Option<u64>) -> ProgressBar {
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::new(n),
                "{msg} {bar:30} {pos}/{len} [{elapsed_precise}, eta {eta}]",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{spinner} {msg} [{elapsed_precise}]",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

impl Reporter for CliReporter {
    fn phase(&self, name: &str, total: Option<u64>) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        self.end(&mut current);
        if !self.terminal {
            match total {
                Some(n) => eprintln!("{name}: {n} to do"),
                None => eprintln!("{name}..."),
            }
        }
        *current = Some(Current {
            name: name.to_string(),
            started: Instant::now(),
            bar: self.terminal.then(|| Self::bar(name, total)),
        });
    }

    fn advance(&self, done: u64) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bar) = current.as_ref().and_then(|c| c.bar.as_ref()) {
            bar.set_position(done);
        }
    }

    fn finish(&self) {
        self.end(&mut self.current.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn note(&self, line: &str) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.as_ref().and_then(|c| c.bar.as_ref()) {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}
