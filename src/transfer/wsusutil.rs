//! Running Microsoft's `wsusutil.exe`: export on the connected side, import and reset on the
//! disconnected side.
//!
//! The program is started with its documented command lines (`export <package> <logfile>`,
//! `import <package> <logfile>`, `reset`) and waited for. A non-zero exit is an error that
//! carries the last lines of the program's log, where wsusutil writes its reasons. The known
//! bug where a failed export leaves a zero-byte package is caught here too.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How many lines of wsusutil's log an error quotes.
const LOG_TAIL_LINES: usize = 15;

/// Why a wsusutil step failed.
#[derive(Debug, thiserror::Error)]
pub enum WsusutilError {
    #[error("{}: cannot start: {source}", program.display())]
    Start { program: PathBuf, source: io::Error },
    #[error("`{command}` failed ({status})")]
    Failed {
        command: String,
        status: String,
        /// The last lines of the log (or of what it printed), oldest first.
        log_tail: Vec<String>,
    },
    #[error(
        "{}: wsusutil export wrote an empty package and reported success",
        path.display()
    )]
    EmptyPackage { path: PathBuf },
    #[error("{}: wsusutil export wrote no package", path.display())]
    NoPackage { path: PathBuf },
}

/// Where WSUS installs wsusutil: `%ProgramFiles%\Update Services\Tools\wsusutil.exe`.
pub fn default_program() -> PathBuf {
    let program_files =
        std::env::var_os("ProgramFiles").unwrap_or_else(|| r"C:\Program Files".into());
    PathBuf::from(program_files)
        .join("Update Services")
        .join("Tools")
        .join("wsusutil.exe")
}

/// `wsusutil export <package> <log>`; the package must then exist and not be empty.
pub fn export(program: &Path, package: &Path, log: &Path) -> Result<(), WsusutilError> {
    let (package, log) = (&absolute(package), &absolute(log));
    run(
        program,
        &["export".as_ref(), package.as_os_str(), log.as_os_str()],
        Some(log),
    )?;
    match fs::metadata(package) {
        Ok(metadata) if metadata.len() == 0 => Err(WsusutilError::EmptyPackage {
            path: package.to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(_) => Err(WsusutilError::NoPackage {
            path: package.to_owned(),
        }),
    }
}

/// `wsusutil import <package> <log>`.
pub fn import(program: &Path, package: &Path, log: &Path) -> Result<(), WsusutilError> {
    let package = absolute(package);
    run(
        program,
        &["import".as_ref(), package.as_os_str(), log.as_os_str()],
        Some(log),
    )
}

/// `path` made absolute against the current folder, as wsusutil is given it: its command
/// line and its log then name the package unambiguously, whatever folder it works in.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// `wsusutil reset`: makes WSUS re-check every content file against its database.
pub fn reset(program: &Path) -> Result<(), WsusutilError> {
    run(program, &["reset".as_ref()], None)
}

fn run(program: &Path, args: &[&std::ffi::OsStr], log: Option<&Path>) -> Result<(), WsusutilError> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| WsusutilError::Start {
            program: program.to_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let command = std::iter::once(program.as_os_str())
        .chain(args.iter().copied())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let status = match output.status.code() {
        Some(code) => format!("exit code {code}"),
        None => output.status.to_string(),
    };
    // The log says why; when there is none, what the program printed.
    let from_log = log
        .and_then(|log| fs::read(log).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .filter(|text| !text.trim().is_empty());
    let text = from_log.unwrap_or_else(|| {
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        text
    });
    Err(WsusutilError::Failed {
        command,
        status,
        log_tail: tail(&text, LOG_TAIL_LINES),
    })
}

/// The last `count` non-empty lines of `text`.
fn tail(text: &str, count: usize) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|line| line.trim_end().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_non_empty_lines() {
        assert_eq!(tail("a\n\nb\r\nc\n", 2), ["b", "c"]);
        assert!(tail("", 3).is_empty());
    }
}
