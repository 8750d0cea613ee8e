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

/// Why the counter could not be read or advanced.
#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a sequence number: {text:?}", path.display())]
    Invalid { path: PathBuf, text: String },
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
