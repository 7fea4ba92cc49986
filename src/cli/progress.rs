//! Progress of long work (training, cross-genre evaluation): a bar on a terminal, plain
//! lines in a log.
//!
//! indicatif draws nothing when stderr is not a terminal, so a `herken train` under
//! `nohup`, in CI or in a container's log looked dead for the minutes an encoder pass or a
//! fine-tuning run takes. There each phase is announced when it starts and when it ends, and
//! in between at every tenth of it when a few seconds have passed since the last line, with
//! the elapsed time: a few dozen lines for a whole training, two for a quick phase.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How far a phase had come when a line was last printed.
struct Logged {
    phase: String,
    tenth: usize,
    at: Instant,
}

/// The least time between two lines within a phase (its end is always printed).
const QUIET: Duration = Duration::from_secs(5);

/// A progress display for [`herken::training::Progress`] callbacks.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    logged: Mutex<Option<Logged>>,
    quiet: Duration,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Progress {
        Progress::with_bar(std::io::stderr().is_terminal())
    }

    fn with_bar(bar: bool) -> Progress {
        let bar = bar.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>14} [{bar:40}] {pos}/{len} ({elapsed}, {eta} left)",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            logged: Mutex::new(None),
            quiet: QUIET,
        }
    }

    /// Report `done` of `total` in `phase`.
    pub fn update(&self, done: usize, total: usize, phase: &str) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(phase.to_string());
            return;
        }
        if let Some(line) = self.line(done, total, phase) {
            eprintln!("{line}");
        }
    }

    /// The line to print for this report, if it starts or ends a phase, or crosses a tenth of
    /// it at least `quiet` after the last line.
    fn line(&self, done: usize, total: usize, phase: &str) -> Option<String> {
        let percent = (done.min(total) * 100).checked_div(total).unwrap_or(100);
        let tenth = percent / 10;
        let mut logged = self.logged.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // The same phase again from its start (the next genre's "head") is a new phase.
        let print = match logged.as_ref() {
            Some(l) if l.phase == phase && l.tenth <= tenth => {
                l.tenth < tenth && (tenth == 10 || now.duration_since(l.at) >= self.quiet)
            }
            _ => true,
        };
        if !print {
            return None;
        }
        *logged = Some(Logged {
            phase: phase.to_string(),
            tenth,
            at: now,
        });
        let secs = self.started.elapsed().as_secs();
        Some(format!(
            "{phase}: {done}/{total} ({percent} %, {}m {:02}s)",
            secs / 60,
            secs % 60
        ))
    }

    /// Run `f` (which prints) without the bar drawing over its output.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_gets_one_line_per_phase_and_tenth() {
        let mut p = Progress::with_bar(false);
        p.quiet = Duration::ZERO;
        let lines: Vec<String> = (0..=100)
            .filter_map(|i| p.line(i, 100, "fine-tuning"))
            .collect();
        assert_eq!(lines.len(), 11, "{lines:?}");
        assert!(lines[0].starts_with("fine-tuning: 0/100 (0 %"), "{lines:?}");
        assert!(
            lines[10].starts_with("fine-tuning: 100/100 (100 %"),
            "{lines:?}"
        );
        assert!(p.line(100, 100, "fine-tuning").is_none());
        let next = p
            .line(1, 50, "embedding")
            .expect("a new phase is announced");
        assert!(next.starts_with("embedding: 1/50 (2 %"), "{next}");
        assert!(p.line(0, 0, "empty").unwrap().contains("(100 %"));
    }

    #[test]
    fn a_phase_run_again_is_announced_again() {
        let mut p = Progress::with_bar(false);
        p.quiet = Duration::from_secs(3600);
        assert!(p.line(0, 7, "head").is_some());
        assert!(p.line(7, 7, "head").is_some());
        assert!(p.line(0, 7, "head").is_some(), "the next genre's head");
        assert!(p.line(3, 7, "head").is_none());
    }

    #[test]
    fn a_quick_phase_gets_its_start_and_its_end() {
        let mut p = Progress::with_bar(false);
        p.quiet = Duration::from_secs(3600);
        let lines: Vec<String> = (1..=100)
            .filter_map(|i| p.line(i, 100, "features"))
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[1].starts_with("features: 100/100"), "{lines:?}");
    }
}
