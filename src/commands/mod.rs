//! The command layer: runs one subcommand, turns its result into words on stdout or stderr,
//! and chooses the exit code. The library underneath never prints.

/// `eprintln!` that drops the line when stderr's reader has gone (`2>&1 | head`) instead of
/// panicking, so that the exit code stays the verdict. Defined before the modules that use it.
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod audit;
mod check;
mod console;
mod demo;
mod export;
mod import;
mod inspect;
mod keygen;
mod manifest_create;
mod manifest_show;
mod manifest_verify;
mod mirror;
mod progress_bar;
mod render;
mod stdout;
mod step_log;
mod transfer_report;
mod verify;

use std::process::ExitCode;

use crate::cli::{Command, ManifestCommand};
use wsus_airgap::check::ApprovedError;
use wsus_airgap::content::FolderError;
use wsus_airgap::manifest::create::CreateError;
use wsus_airgap::manifest::keys::KeyError;
use wsus_airgap::package::PackageError;
use wsus_airgap::printable::printable;
use wsus_airgap::transfer::wsusutil::WsusutilError;
use wsus_airgap::transfer::{Outcome, TransferError};
use wsus_airgap::wsus::ScriptError;

/// How the process ends; documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing wrong was found.
    Success = 0,
    /// The check ran and found problems.
    Problems = 1,
    /// Usage or I/O error.
    Error = 2,
    /// wsusutil or PowerShell failed.
    Wsusutil = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Runs a command; errors are printed here, once, as `wsus-airgap: error: ...` (exit 2), or
/// as `wsus-airgap: wsusutil failed: ...` (exit 3). A command asked for `--json` also writes
/// the error as its one document on stdout.
pub fn run(command: Command) -> Exit {
    let json = command.wants_json();
    let result = match command {
        Command::Audit(args) => audit::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Keygen(args) => keygen::run(&args),
        Command::Manifest(ManifestCommand::Create(args)) => manifest_create::run(&args),
        Command::Manifest(ManifestCommand::Show(args)) => manifest_show::run(&args),
        Command::Manifest(ManifestCommand::Verify(args)) => manifest_verify::run(&args),
        Command::Mirror(args) => mirror::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Demo(args) => demo::run(&args),
    };
    result.unwrap_or_else(|error| {
        let message = describe(&error);
        if json {
            #[derive(serde::Serialize)]
            struct Document<'a> {
                result: &'static str,
                error: &'a str,
            }
            let document = Document {
                result: "error",
                error: &message,
            };
            let _ = transfer_report::write_document(&document);
        }
        if let Some(error) = wsusutil_failure(&error) {
            render::report_wsusutil(error);
            return Exit::Wsusutil;
        }
        if let Some(error) = powershell_failure(&error) {
            render::report_powershell(error);
            return Exit::Wsusutil;
        }
        stderr_line!("wsus-airgap: error: {}", printable(&message));
        if let Some(hint) = hint(&error) {
            stderr_line!("hint: {hint}");
        }
        Exit::Error
    })
}

/// The exit code of a workflow that ran to its end: 0 done, 1 refused.
pub fn exit_code<T>(outcome: &Outcome<T>) -> Exit {
    match outcome {
        Outcome::Done(_) => Exit::Success,
        Outcome::Refused(_) => Exit::Problems,
    }
}

/// The wsusutil failure behind `error`, if that is what it is.
fn wsusutil_failure(error: &anyhow::Error) -> Option<&WsusutilError> {
    error
        .downcast_ref::<TransferError>()
        .and_then(|error| error.cause().downcast_ref::<WsusutilError>())
}

/// The PowerShell failure behind `error`, if that is what it is.
fn powershell_failure(error: &anyhow::Error) -> Option<&ScriptError> {
    (error.downcast_ref::<TransferError>()).map_or_else(
        || error.downcast_ref(),
        |error| error.cause().downcast_ref(),
    )
}

/// An error and its causes, each cause once: many errors already quote their cause.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// `word`, with an `s` unless there is exactly one.
fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// The next step for errors whose fix is known.
fn hint(error: &anyhow::Error) -> Option<&'static str> {
    // A workflow's error, and a manifest's, is looked at through what it wraps.
    let error: &(dyn std::error::Error + 'static) = match error.downcast_ref::<TransferError>() {
        Some(error) => error.cause(),
        None => error.as_ref(),
    };
    let error: &(dyn std::error::Error + 'static) = match error.downcast_ref::<CreateError>() {
        Some(CreateError::Package(error)) => error,
        Some(CreateError::Folder(error)) => error,
        _ => error,
    };
    None.or_else(|| error.downcast_ref::<FolderError>()?.hint())
        .or_else(|| error.downcast_ref::<ApprovedError>()?.hint())
        .or_else(|| error.downcast_ref::<KeyError>()?.hint())
        .or_else(|| error.downcast_ref::<PackageError>()?.hint())
}
