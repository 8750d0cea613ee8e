//! The reports a change board reads: the data behind `--json`, rendered as one HTML file.
//!
//! Those who approve an import into a disconnected network read neither terminal output nor
//! JSON. [`html`] renders the very structures `--json` serialises (so the two never disagree)
//! into a page that needs nothing but a browser: styles inline, no script, nothing fetched,
//! so it opens from a USB stick on a machine with no network. What no command's data holds,
//! the tool, the time and the machine that made the report, is [`Made`]. Commands only say
//! where the file goes: [`write_html`] writes it atomically.

pub mod html;

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::atomic_file::{self, Access, Existing};
use crate::manifest::Timestamp;
use crate::manifest::create::host_name;

/// Which tool made a report, when and where: the part of "what was checked" that the data of
/// a command does not hold.
#[derive(Debug, Clone)]
pub struct Made {
    /// `wsus-airgap 0.1.0`.
    pub tool: String,
    pub at: Timestamp,
    pub host: String,
}

impl Made {
    /// This tool, this machine, now.
    pub fn now() -> Self {
        Made {
            tool: format!("wsus-airgap {}", env!("CARGO_PKG_VERSION")),
            at: Timestamp::new(SystemTime::now()),
            host: host_name(),
        }
    }
}

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write the report: {source}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// Renders a report with `render` and writes it to `path`, if one was given: into a folder
/// created if needed, atomically, so that a reader never finds half a report.
pub fn write_html(
    path: Option<&Path>,
    render: impl FnOnce(&Made) -> String,
) -> Result<(), WriteError> {
    let Some(path) = path else {
        return Ok(());
    };
    let html = render(&Made::now());
    let error = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(folder_of(path)).map_err(error)?;
    atomic_file::write(path, html.as_bytes(), Access::Shared, Existing::Replace).map_err(error)
}

/// Proves, before work that changes anything, that a report could be written to `path` (if
/// one was given) afterwards.
pub fn check_writable(path: Option<&Path>) -> Result<(), WriteError> {
    let Some(path) = path else {
        return Ok(());
    };
    atomic_file::check_writable(folder_of(path)).map_err(|source| WriteError {
        path: path.to_owned(),
        source,
    })
}

/// The folder a file at `path` goes into.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}
