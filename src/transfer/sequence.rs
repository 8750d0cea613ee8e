//! The signer's sequence counter: each export signs the next number, so that the disconnected
//! side can refuse replayed or older media.
//!
//! The counter lives in a small text file beside the secret key (`<key>.sequence`), holding the
//! last sequence signed. A missing file means nothing was signed yet; anything else unreadable
//! is an error, never a reset to zero.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Access, Existing};
use crate::run_lock::{RunLock, RunLockError};

/// Why the counter could not be read or advanced.
#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a sequence number: {text:?}", path.display())]
    Invalid { path: PathBuf, text: String },
    #[error(transparent)]
    Lock(#[from] RunLockError),
}

/// The sequence a run is about to sign with a key: the one asked for, or the last one
/// recorded for the key plus one. Held (unless only planning) under the key's lock, so that
/// two runs never sign the same number; recorded by [`Claim::record`] once signed.
#[derive(Debug)]
pub struct Claim {
    pub sequence: u64,
    /// The last sequence recorded for the key (0: none).
    pub last: u64,
    file: PathBuf,
    _lock: Option<RunLock>,
}

impl Claim {
    /// Claims the sequence to sign with the secret key at `key` for `work` (named in the
    /// message another run gets while this one holds the lock); without `work`, only plans.
    pub fn take(
        key: &Path,
        requested: Option<u64>,
        work: Option<&'static str>,
    ) -> Result<Self, SequenceError> {
        let file = file_for(key);
        let lock = work
            .map(|work| RunLock::take_for(&file, work))
            .transpose()?;
        let last = last(&file)?;
        Ok(Claim {
            sequence: requested.unwrap_or(last + 1),
            last,
            file,
            _lock: lock,
        })
    }

    /// True when the sequence is not above the last one signed with the key: only an
    /// explicit request gets here, and the other side refuses such media if it accepted the
    /// later one.
    pub fn is_not_newer(&self) -> bool {
        self.sequence <= self.last
    }

    /// Records the sequence as the last signed with the key, if it is above the last one.
    pub fn record(&self) -> Result<(), SequenceError> {
        if self.sequence > self.last {
            record(&self.file, self.sequence)?;
        }
        Ok(())
    }
}

/// The counter file of the secret key at `key`.
pub fn file_for(key: &Path) -> PathBuf {
    let mut name = key.file_name().unwrap_or_default().to_os_string();
    name.push(".sequence");
    key.with_file_name(name)
}

/// The last sequence signed (0 when none was).
pub fn last(path: &Path) -> Result<u64, SequenceError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(source) => {
            return Err(SequenceError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    text.trim_end_matches(['\r', '\n'])
        .parse()
        .map_err(|_| SequenceError::Invalid {
            path: path.to_owned(),
            text: text.chars().take(40).collect(),
        })
}

/// Records `sequence` as the last signed, atomically.
pub fn record(path: &Path, sequence: u64) -> Result<(), SequenceError> {
    atomic_file::write(
        path,
        format!("{sequence}\n").as_bytes(),
        Access::Shared,
        Existing::Replace,
    )
    .map_err(|source| SequenceError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_nothing_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_for(&dir.path().join("site.key"));
        assert_eq!(path, dir.path().join("site.key.sequence"));
        assert_eq!(last(&path).unwrap(), 0);
        record(&path, 7).unwrap();
        assert_eq!(last(&path).unwrap(), 7);
        fs::write(&path, "seven\n").unwrap();
        assert!(matches!(last(&path), Err(SequenceError::Invalid { .. })));
    }
}
