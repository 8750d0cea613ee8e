//! A stand-in for Microsoft's `wsusutil.exe`, so that tests and the demo can run the real
//! command-line flow (export on the connected server, import on the air-gapped one) on any
//! machine, without WSUS. It runs as the `wsus-airgap` binary itself when that is started
//! under the name `wsusutil` (the demo, the tests and the Windows release copy it so).
//!
//! ```text
//! wsusutil export <PACKAGE> <LOGFILE>   write an export package describing the content folder
//! wsusutil import <PACKAGE> <LOGFILE>   validate a package and "import" its updates
//! wsusutil reset                        "re-check" the content folder (does nothing)
//! ```
//!
//! The package is in the real format (a cabinet holding `package.xml` and `metadata.txt`),
//! written by `wsus_airgap::synth::write_export`: its software updates reference every file
//! `XX/<SHA-1>.<ext>` of the content folder. Log lines (`<time> <text>`) are appended to
//! LOGFILE; errors also go to stderr as `wsusutil: ...`. Exit code 0 on success, 1 on any
//! failure and on a command line it does not know (printing usage to stderr).
//!
//! Environment (a flag is set when non-empty and not `0`):
//! - `WSUSUTIL_CONTENT`: the server's WsusContent folder (required by export).
//! - `WSUSUTIL_SEED`: seed for update ids and titles (default 1).
//! - `WSUSUTIL_RECORD`: a file to which import appends `import <PACKAGE> <N> updates` and
//!   reset appends `reset`.
//! - `WSUSUTIL_FAIL`: fail at once, logging `Fatal error: the stand-in was told to fail`.
//! - `WSUSUTIL_HANG=<seconds>`: sleep that long before doing anything else.
//! - `WSUS_STANDIN_STATE`: the stand-in WSUS server's state file (see `super::powershell`):
//!   import adds the package's updates to it.
//! - `WSUSUTIL_EMPTY_PACKAGE` (export): leave a zero-byte package and report success anyway,
//!   like the real tool after some failed exports.

use std::env;
use std::ffi::{OsStr, OsString};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{ExportSpec, SiteFile, write_export};
use crate::content::{EntryType, Placement, layout::classify, tree};
use anyhow::{Context, anyhow, bail};

const USAGE: &str = "usage: wsusutil export <package> <logfile>
       wsusutil import <package> <logfile>
       wsusutil reset
";

/// Most software updates an export gets; the content files are dealt out among them.
const MAX_SOFTWARE_UPDATES: usize = 200;

enum Command {
    Export { package: PathBuf, log: PathBuf },
    Import { package: PathBuf, log: PathBuf },
    Reset,
}

/// Runs the stand-in with `args` (the program name left out); returns the exit code.
pub fn run(args: &[OsString]) -> u8 {
    const FAILURE: u8 = 1;
    if let Err(error) = hang() {
        eprintln!("wsusutil: {error:#}");
        return FAILURE;
    }
    let Some(command) = parse(args) else {
        eprint!("{USAGE}");
        return FAILURE;
    };
    let log_path = match &command {
        Command::Export { log, .. } | Command::Import { log, .. } => Some(log.as_path()),
        Command::Reset => None,
    };
    let mut log = match log_path.map(Log::open).transpose() {
        Ok(log) => log,
        Err(error) => {
            eprintln!("wsusutil: {error:#}");
            return FAILURE;
        }
    };
    let result = if flag("WSUSUTIL_FAIL") {
        Err(anyhow!("Fatal error: the stand-in was told to fail"))
    } else {
        match &command {
            Command::Export { package, .. } => export(package, log.as_mut().expect("a log"))
                .map_err(|error| anyhow!("Export failed: {error:#}")),
            Command::Import { package, .. } => import(package, log.as_mut().expect("a log"))
                .map_err(|error| anyhow!("Import failed: {error:#}")),
            Command::Reset => reset(),
        }
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            if let Some(log) = &mut log {
                log.line(&format!("{error:#}"));
            }
            eprintln!("wsusutil: {error:#}");
            FAILURE
        }
    }
}

/// The real tool's argument order; command names are matched without case, as on Windows.
fn parse(args: &[OsString]) -> Option<Command> {
    let name = args.first()?.to_str()?.to_ascii_lowercase();
    match (name.as_str(), &args[1..]) {
        ("export", [package, log]) => Some(Command::Export {
            package: package.into(),
            log: log.into(),
        }),
        ("import", [package, log]) => Some(Command::Import {
            package: package.into(),
            log: log.into(),
        }),
        ("reset", []) => Some(Command::Reset),
        _ => None,
    }
}

fn export(package: &Path, log: &mut Log) -> anyhow::Result<()> {
    log.line("Export started");
    if flag("WSUSUTIL_EMPTY_PACKAGE") {
        File::create(package).with_context(|| format!("{}", package.display()))?;
        log.line("Export completed successfully");
        return Ok(());
    }
    let content = env::var_os("WSUSUTIL_CONTENT")
        .filter(|value| !value.is_empty())
        .context("WSUSUTIL_CONTENT is not set: the stand-in needs the content folder")?;
    let files = content_files(Path::new(&content))?;
    let seed = match env::var("WSUSUTIL_SEED") {
        Ok(seed) => seed.parse().context("WSUSUTIL_SEED is not a number")?,
        Err(_) => 1,
    };
    // No files, no software updates (and so no bundles or second revisions, which need them).
    let software_updates = files.len().div_ceil(4).min(MAX_SOFTWARE_UPDATES);
    let spec = ExportSpec {
        software_updates,
        second_revisions: software_updates.min(1),
        bundles: software_updates.min(2),
        missing_files: 0,
        unreferenced_files: 0,
        seed,
        ..ExportSpec::default()
    };
    let export =
        write_export(package, &files, &spec).with_context(|| format!("{}", package.display()))?;
    log.line(&format!(
        "Exporting {} updates ({} content files)",
        export.updates.len(),
        files.len()
    ));
    log.line("Export completed successfully");
    Ok(())
}

/// Every content file in its place (`XX/<upper-case SHA-1>.<ext>`), sorted by path. Files
/// without an extension, or with a dotted one, are left out: the package writer would name
/// them differently from where they lie.
fn content_files(root: &Path) -> anyhow::Result<Vec<SiteFile>> {
    // `{error}`, not `?`: these errors print their source themselves, and a chain would
    // print it again.
    let tree = tree::list(root).map_err(|error| anyhow!("{error}"))?;
    if let Some((path, reason)) = tree.unreadable.first() {
        bail!("{}: cannot read {path}: {reason}", root.display());
    }
    let mut files = Vec::new();
    for entry in tree
        .entries
        .iter()
        .filter(|e| e.file_type == EntryType::File)
    {
        let parts: Vec<&OsStr> = entry.relative.split('/').map(OsStr::new).collect();
        if let Placement::Content {
            name,
            lower_case: false,
        } = classify(&parts)
            && !name.extension.is_empty()
            && !name.extension.contains('.')
        {
            files.push(SiteFile {
                path: entry.relative.clone(),
                sha1: name.sha1,
                size: entry.size,
            });
        }
    }
    Ok(files) // already sorted: the tree lists entries by relative path
}

fn import(package: &Path, log: &mut Log) -> anyhow::Result<()> {
    log.line("Import started");
    // Which bytes it was given, so that a test can tell the package it imported.
    let bytes = std::fs::read(package).with_context(|| format!("{}", package.display()))?;
    log.line(&format!(
        "Package {} (BLAKE3 {})",
        package.display(),
        blake3::hash(&bytes)
    ));
    let read = crate::package::open(package).map_err(|error| anyhow!("{error}"))?;
    let updates = read.updates.len();
    // The stand-in WSUS server (see `super::powershell`), if there is one, now has them.
    super::powershell::record_import(&read)?;
    log.line(&format!("Imported {updates} updates"));
    log.line("Import completed successfully");
    record(&format!("import {} {updates} updates", package.display()))
}

fn reset() -> anyhow::Result<()> {
    println!("Reset started: the content folder will be checked in the background");
    record("reset")
}

/// Appends a line to the file `WSUSUTIL_RECORD` names, if it names one.
fn record(line: &str) -> anyhow::Result<()> {
    let Some(path) = env::var_os("WSUSUTIL_RECORD").filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("{}", path.display()))?;
    writeln!(file, "{line}").with_context(|| format!("{}", path.display()))
}

fn hang() -> anyhow::Result<()> {
    if let Some(seconds) = env::var_os("WSUSUTIL_HANG").filter(|s| !s.is_empty()) {
        let seconds = seconds.to_string_lossy();
        let duration = seconds
            .parse()
            .ok()
            .and_then(|s: f64| Duration::try_from_secs_f64(s).ok())
            .with_context(|| format!("WSUSUTIL_HANG={seconds} is not a number of seconds"))?;
        std::thread::sleep(duration);
    }
    Ok(())
}

fn flag(name: &str) -> bool {
    env::var_os(name).is_some_and(|value| !value.is_empty() && value != "0")
}

/// The log file, opened for appending.
struct Log(File);

impl Log {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path);
        Ok(Log(file.with_context(|| format!("{}", path.display()))?))
    }

    /// Writes one line; a log that cannot be written is reported but does not stop the work.
    fn line(&mut self, text: &str) {
        let time = humantime::format_rfc3339_seconds(SystemTime::now());
        if let Err(error) = writeln!(self.0, "{time} {text}") {
            eprintln!("wsusutil: cannot write the log: {error}");
        }
    }
}
