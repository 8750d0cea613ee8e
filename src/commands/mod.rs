//! The command layer: runs one subcommand, turns its result into words on stdout or stderr,
//! and chooses the exit code. The library underneath never prints.

mod audit;
mod demo;
mod progress_bar;

use std::process::ExitCode;

use crate::cli::Command;
use wsus_airgap::content::AuditError;

/// How the process ends; documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing wrong was found.
    Success = 0,
    /// The check ran and found problems.
    Problems = 1,
    /// Usage or I/O error.
    Error = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Runs a command; errors are printed here, once, as `wsus-airgap: error: ...`.
pub fn run(command: Command) -> Exit {
    let result = match command {
        Command::Audit(args) => audit::run(&args),
        Command::Demo(args) => demo::run(&args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("wsus-airgap: error: {error:#}");
        if let Some(hint) = hint(&error) {
            eprintln!("hint: {hint}");
        }
        Exit::Error
    })
}

/// The next step for errors whose fix is known.
fn hint(error: &anyhow::Error) -> Option<&'static str> {
    match error.downcast_ref::<AuditError>()? {
        AuditError::RootMissing { .. } | AuditError::RootNotAFolder { .. } => Some(
            "give the WsusContent folder itself, for example D:\\WSUS\\WsusContent or the media's WsusContent folder",
        ),
        AuditError::RootUnreadable { .. } => {
            Some("run as a user that can read the whole folder (on Windows, an administrator)")
        }
        AuditError::ThreadPool { .. } => Some("try a smaller --jobs"),
    }
}
