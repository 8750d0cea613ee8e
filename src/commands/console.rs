//! The terminal side of a workflow's events: a progress bar per stage, a spinner while
//! wsusutil runs, warnings on stderr, and each step appended to the `--log` file.

use std::sync::Mutex;

use indicatif::ProgressBar;
use std::io::IsTerminal;

use wsus_airgap::progress::{Milestones, Phase, Phases, Progress};
use wsus_airgap::transfer::{Events, Outcome, Step, TransferError};
use wsus_airgap::wsus::stage::WsusStep;

use super::progress_bar::{Bar, spinner};
use super::render::write_updates_at_risk;
use super::step_log::StepLog;
use std::io::Write as _;
use wsus_airgap::printable::{Printable, printable};

/// Events shown on the terminal and written to the step log.
pub struct Console {
    quiet: bool,
    log: Mutex<StepLog>,
    /// The first failure to write the log: a record was asked for, so it fails the run.
    log_failure: Mutex<Option<anyhow::Error>>,
    spinner: Mutex<Option<ProgressBar>>,
}

impl Console {
    pub fn new(quiet: bool, log: StepLog) -> Self {
        Console {
            quiet,
            log: Mutex::new(log),
            log_failure: Mutex::new(None),
            spinner: Mutex::new(None),
        }
    }

    /// Progress bars only, no log.
    pub fn bars(quiet: bool) -> Self {
        Self::new(quiet, StepLog::none())
    }

    /// Appends `text` to the step log.
    pub fn log(&self, text: &str) {
        let result = self.log.lock().expect("the log lock").line(text);
        let mut failure = self.log_failure.lock().expect("the log failure lock");
        if let (Err(error), None) = (result, &*failure) {
            *failure = Some(error);
        }
    }

    /// Logs how a workflow ended (a refusal or an error, followed by `unchanged`: what that
    /// leaves as it was), and passes its result on; fails if the step log could not be written.
    pub fn logged<T>(
        &self,
        result: Result<Outcome<T>, TransferError>,
        unchanged: &str,
    ) -> anyhow::Result<Outcome<T>> {
        match &result {
            Ok(Outcome::Done(_)) => {}
            Ok(Outcome::Refused(refusal)) => {
                self.log(&format!("refused: {refusal}; {unchanged}"));
            }
            Err(error) => self.log(&format!("stopped: {error}; {unchanged}")),
        }
        if let Some(error) = self
            .log_failure
            .lock()
            .expect("the log failure lock")
            .take()
        {
            return Err(error);
        }
        Ok(result?)
    }
}

impl Phases for Console {
    fn progress(&self, phase: Phase) -> Box<dyn Progress + '_> {
        let mut progress: Box<dyn Progress + '_> = Box::new(Bar::new(self.quiet));
        // Where no bar is seen (a scheduled task), the log records how far each stage came.
        if self.log.lock().expect("the log lock").is_open() && !std::io::stderr().is_terminal() {
            let every = std::time::Duration::from_secs(10);
            let log = move |milestone| self.log(&format!("{phase}: {milestone}"));
            progress = Box::new(Milestones::new(progress, 5, every, log));
        }
        if phase == Phase::Copying {
            return test_hook::abort_after(progress);
        }
        progress
    }
}

impl Events for Console {
    fn step(&self, step: &Step<'_>) {
        match step {
            Step::ContentWarning(finding) => {
                stderr_line!("warning: {}", printable(&finding.to_string()));
            }
            Step::GapsAllowed { at_risk, .. } => {
                let _ = write_updates_at_risk(&mut std::io::stderr().lock(), at_risk);
                stderr_line!("warning: {}", printable(&step.to_string()));
            }
            Step::Wsus(WsusStep::Setting(warning)) => {
                let _ = write!(Printable(std::io::stderr().lock()), "warning: {warning}");
            }
            Step::ReceiptNotOnMedia { .. } | Step::SequenceNotNewer { .. } => {
                stderr_line!("warning: {}", printable(&step.to_string()));
            }
            Step::WsusutilStarted { verb, .. } => {
                *self.spinner.lock().expect("the spinner lock") =
                    Some(spinner(self.quiet, format!("wsusutil {verb}")));
            }
            Step::WsusutilEnded { .. } => {
                if let Some(spinner) = self.spinner.lock().expect("the spinner lock").take() {
                    spinner.finish_and_clear();
                }
            }
            _ => {}
        }
        self.log(&step.to_string());
    }
}

/// Tests of interrupted runs set `WSUS_AIRGAP_TEST_ABORT_AFTER_BYTES` to a number of bytes:
/// the process then aborts once its copies have read that many, as a crash would stop it.
/// Only debug builds (the ones the tests run) have the hook; a release build ignores it.
mod test_hook {
    use wsus_airgap::progress::Progress;

    #[cfg(debug_assertions)]
    pub fn abort_after<'a>(inner: Box<dyn Progress + 'a>) -> Box<dyn Progress + 'a> {
        use std::sync::atomic::{AtomicU64, Ordering};

        struct AbortAfter<'a> {
            inner: Box<dyn Progress + 'a>,
            copied: AtomicU64,
            limit: u64,
        }
        impl Progress for AbortAfter<'_> {
            fn start(&self, files: u64, bytes: u64) {
                self.inner.start(files, bytes);
            }
            fn bytes_read(&self, bytes: u64) {
                self.inner.bytes_read(bytes);
                let copied = self.copied.fetch_add(bytes, Ordering::Relaxed) + bytes;
                if copied >= self.limit {
                    std::process::abort();
                }
            }
            fn file_done(&self) {
                self.inner.file_done();
            }
        }
        let limit = std::env::var("WSUS_AIRGAP_TEST_ABORT_AFTER_BYTES")
            .ok()
            .and_then(|bytes| bytes.parse().ok());
        match limit {
            Some(limit) => Box::new(AbortAfter {
                inner,
                copied: AtomicU64::new(0),
                limit,
            }),
            None => inner,
        }
    }

    #[cfg(not(debug_assertions))]
    pub fn abort_after<'a>(inner: Box<dyn Progress + 'a>) -> Box<dyn Progress + 'a> {
        inner
    }
}
