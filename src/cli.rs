//! The command line, as clap definitions only. Turning these into work happens in `commands`.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success: nothing wrong was found
  1  the check ran and found problems
  2  usage or I/O error (for example, the folder does not exist)";

/// Move WSUS updates into air-gapped networks, and prove they arrived authentic, complete and
/// intact.
#[derive(Debug, Parser)]
#[command(name = "wsus-airgap", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prove a WsusContent folder intact: hash every content file and compare it with the
    /// SHA-1 in its name. Needs no manifest and no database.
    #[command(after_help = EXIT_CODES)]
    Audit(AuditArgs),
    /// Show what a `wsusutil export` package holds: server, languages, updates and files.
    #[command(after_help = EXIT_CODES)]
    Inspect(InspectArgs),
    /// Check that a WsusContent folder holds every file an export package's updates need,
    /// and name the updates that would show "Failed to download" once approved.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Generate a sample WsusContent folder, damage two files, and audit it.
    #[command(after_help = EXIT_CODES)]
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The WsusContent folder to audit.
    #[arg(value_name = "WSUSCONTENT")]
    pub content: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The export package (a .cab or gzip file written by `wsusutil export`).
    #[arg(value_name = "PACKAGE")]
    pub package: PathBuf,
    /// Write one JSON document to stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The export package (a .cab or gzip file written by `wsusutil export`).
    #[arg(long, value_name = "PACKAGE")]
    pub package: PathBuf,
    /// The WsusContent folder to check.
    #[arg(long, value_name = "WSUSCONTENT")]
    pub content: PathBuf,
    /// The approved updates: one update GUID per line, or the CSV written by
    /// `Get-WsusUpdate -Approval Approved | Export-Csv`. Then only approved updates that lack
    /// content fail the check; other gaps are reported as information.
    #[arg(long, value_name = "FILE")]
    pub approved: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Number of files hashed at once [default: one per CPU].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to generate the sample folder; it must not exist yet or be empty
    /// [default: a new folder under the system's temporary folder, kept afterwards].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}

/// How a command reports.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write one JSON document to stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
}
