//! One run at a time where two would harm each other.
//!
//! A scheduled task and an operator can start the same command at once. Two imports with one
//! trust state (one server's) would both pass the gate before either records its sequence, so
//! the same media could be imported twice and wsusutil run over itself; two exports signing
//! with one key would sign the same sequence number. Each such run first takes an exclusive
//! lock on a small lock file beside the file it guards (`flock` on Unix, `LockFileEx` on
//! Windows). The system releases it when the process ends, however it ends, so a crash never
//! leaves a stale lock behind; the file itself stays, empty, and is reused by the next run.
//! Windows may release the lock of a process that was killed a moment later, so a lock found
//! taken is tried again for about a second before the run is turned away.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::retry;

/// The pauses before trying a taken lock again: a second in all.
const RELEASE_PAUSES: [Duration; 4] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(300),
    Duration::from_millis(400),
];

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum RunLockError {
    #[error(
        "{}: another wsus-airgap {work} is running (it holds this lock); nothing was changed: \
         run again once it has finished",
        path.display()
    )]
    Busy { path: PathBuf, work: &'static str },
    #[error("{}: cannot take the lock: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// A lock held until dropped (or until the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock at `path` (creating the file, not its folder) or fails with
    /// [`RunLockError::Busy`], naming the `work` that holds it, such as "import with this
    /// trust state". It waits about a second at most.
    fn take(path: &Path, work: &'static str) -> Result<Self, RunLockError> {
        let io_error = |source| RunLockError::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        // On Windows nobody may delete or rename the file while it is open, so a held lock
        // cannot be sidestepped by removing its file.
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            use windows_sys::Win32::Storage::FileSystem::{FILE_SHARE_READ, FILE_SHARE_WRITE};
            options.share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE);
        }
        let file = options.open(path).map_err(io_error)?;
        let taken = retry::retry_after(
            &RELEASE_PAUSES,
            |error| matches!(error, TryLockError::WouldBlock),
            || file.try_lock(),
        );
        match taken {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(RunLockError::Busy {
                path: path.to_owned(),
                work,
            }),
            Err(TryLockError::Error(error)) => Err(io_error(error)),
        }
    }

    /// [`RunLock::take`] on the lock file that guards the file at `guarded`: its name with
    /// `.lock` added, in the same folder (`trust-state.json.lock`).
    pub fn take_for(guarded: &Path, work: &'static str) -> Result<Self, RunLockError> {
        let mut path = guarded.as_os_str().to_owned();
        path.push(".lock");
        Self::take(Path::new(&path), work)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let first = RunLock::take(&path, "test").unwrap();
        let second = RunLock::take(&path, "test").unwrap_err();
        assert!(
            matches!(&second, RunLockError::Busy { path: busy, work: "test" } if *busy == path),
            "{second:?}"
        );
        #[cfg(windows)]
        assert!(
            std::fs::remove_file(&path).is_err(),
            "a held lock's file stays"
        );
        drop(first);
        RunLock::take(&path, "test").unwrap();
        let _guard = RunLock::take_for(&dir.path().join("state.json"), "test").unwrap();
        assert!(dir.path().join("state.json.lock").is_file());
        assert!(RunLock::take(&dir.path().join("no/such/folder.lock"), "test").is_err());
    }
}
