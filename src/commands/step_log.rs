//! `--log FILE`: a plain-text record of each step of an export or import, appended, one
//! time-stamped line per event, for change records (in the spirit of robocopy's /LOG).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use wsus_airgap::printable::printable;

/// An open step log, or none when no `--log` was given.
pub struct StepLog {
    file: Option<(File, PathBuf)>,
    command: &'static str,
}

impl StepLog {
    pub fn open(path: Option<&Path>, command: &'static str) -> Result<Self> {
        let file = path
            .map(|path| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("{}: cannot open the log", path.display()))
                    .map(|file| (file, path.to_owned()))
            })
            .transpose()?;
        Ok(StepLog { file, command })
    }

    /// True when a log was asked for.
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// No log.
    pub fn none() -> Self {
        StepLog {
            file: None,
            command: "",
        }
    }

    /// Appends `time command: text`; a log that cannot be written is an error, since it was
    /// asked for as a record.
    pub fn line(&mut self, text: &str) -> Result<()> {
        let Some((file, path)) = &mut self.file else {
            return Ok(());
        };
        let now = humantime::format_rfc3339_seconds(SystemTime::now());
        let text = printable(text);
        writeln!(file, "{now} {}: {text}", self.command)
            .and_then(|()| file.flush())
            .with_context(|| format!("{}: cannot write the log", path.display()))
    }
}
