//! Reading a small file whole, never more than a limit.
//!
//! Keys, signatures, manifests and the trust state come from places the tool does not
//! control. Each is size-checked before it is read and read through a limit, so that a huge
//! or growing file costs no more memory than the limit.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// Why a capped read gave no bytes.
#[derive(Debug)]
pub enum CappedError {
    Io(io::Error),
    /// The file holds more than the limit; `size` is what was seen of it.
    TooLarge {
        size: u64,
    },
}

/// The bytes of the file at `path`, if it holds at most `limit` of them.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, CappedError> {
    read_file_capped(fs::File::open(path).map_err(CappedError::Io)?, limit)
}

/// The bytes of the open `file`, if it holds at most `limit` of them.
pub fn read_file_capped(file: fs::File, limit: u64) -> Result<Vec<u8>, CappedError> {
    let size = file.metadata().map_err(CappedError::Io)?.len();
    if size > limit {
        return Err(CappedError::TooLarge { size });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(CappedError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(CappedError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}
