//! Reading a file once to get both of its digests.
//!
//! SHA-1 is what WSUS names content by, so it proves a file matches its name; BLAKE3 is what
//! the tool's own manifests use. Both are computed over the same buffer in the same pass:
//! reading a file twice would double the cost on slow removable media. Files are read in
//! large chunks through plain `read` calls rather than memory-mapped, so that media removed
//! mid-read gives an I/O error instead of a crash. A file another program holds open is read
//! again from its start once it is let go ([`crate::retry`]); the bytes read before are then
//! reported to the progress twice.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha1::{Digest, Sha1};

use std::cell::RefCell;

use super::layout::Sha1Digest;
use crate::progress::Progress;
use crate::retry;

/// Size of the read buffer each hashing thread owns: large enough to keep per-call overhead
/// negligible, small enough that SHA-1 and BLAKE3 both find the chunk still in cache.
pub const READ_CHUNK: usize = 512 * 1024;

/// Runs `work` with this thread's [`READ_CHUNK`] buffer, made on the thread's first call.
/// Thousands of small files would otherwise each pay for a fresh zeroed buffer.
pub fn with_read_buffer<R>(work: impl FnOnce(&mut [u8]) -> R) -> R {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buffer| {
        if buffer.is_empty() {
            buffer.resize(READ_CHUNK, 0);
        }
        work(buffer)
    })
}

/// What one read of a file proves about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigests {
    pub size: u64,
    pub sha1: Sha1Digest,
    pub blake3: blake3::Hash,
}

/// Hashes the file at `path` with both digests, reporting read bytes to `progress` as they
/// go. `buffer` is scratch space reused across calls (see [`READ_CHUNK`]).
pub fn hash_file(
    path: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> io::Result<FileDigests> {
    retry::io_while_held_open(|| {
        let mut sha1 = Sha1::new();
        let mut blake3 = blake3::Hasher::new();
        let size = read_through(path, buffer, progress, |chunk| {
            sha1.update(chunk);
            blake3.update(chunk);
        })?;
        Ok(FileDigests {
            size,
            sha1: Sha1Digest(sha1.finalize().into()),
            blake3: blake3.finalize(),
        })
    })
}

/// Size and BLAKE3 of the file at `path`: all a manifest needs to prove a file unchanged.
pub fn hash_blake3(
    path: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> io::Result<(u64, blake3::Hash)> {
    retry::io_while_held_open(|| {
        let mut blake3 = blake3::Hasher::new();
        let size = read_through(path, buffer, progress, |chunk| {
            blake3.update(chunk);
        })?;
        Ok((size, blake3.finalize()))
    })
}

/// Reads the file at `path` once, chunk by chunk, and returns its size.
fn read_through(
    path: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
    mut each: impl FnMut(&[u8]),
) -> io::Result<u64> {
    let mut file = File::open(path)?;
    // The caller listed a regular file without following links; if a link or anything else
    // has taken its place since, do not read through it.
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no longer a regular file",
        ));
    }
    read_chunks(
        &mut file,
        buffer,
        progress,
        |error| error,
        |chunk| {
            each(chunk);
            Ok(())
        },
    )
}

/// Reads `file` to its end through `buffer`, handing each chunk to `each` and reporting read
/// bytes to `progress`; returns the size. Read errors become `E` through `read_error`, and an
/// error from `each` stops the reading.
pub fn read_chunks<E>(
    file: &mut File,
    buffer: &mut [u8],
    progress: &dyn Progress,
    read_error: impl Fn(io::Error) -> E,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<u64, E> {
    let mut size = 0u64;
    loop {
        let read = match file.read(buffer) {
            Ok(0) => return Ok(size),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(read_error(error)),
        };
        each(&buffer[..read])?;
        size += read as u64;
        progress.bytes_read(read as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn digests_match_known_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let mut buffer = vec![0; 2];
        let digests = hash_file(&path, &mut buffer, &NoProgress).unwrap();
        assert_eq!(digests.size, 3);
        assert_eq!(
            digests.sha1.to_string(),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        assert_eq!(digests.blake3, blake3::hash(b"abc"));
        let (size, blake3) = hash_blake3(&path, &mut buffer, &NoProgress).unwrap();
        assert_eq!((size, blake3), (3, blake3::hash(b"abc")));
    }

    #[cfg(windows)]
    #[test]
    fn a_file_held_open_is_hashed_once_let_go_and_refused_if_never() {
        use crate::retry::HeldOpen;
        use std::os::windows::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let hold = || {
            File::options()
                .read(true)
                .share_mode(0)
                .open(&path)
                .unwrap()
        };
        let mut buffer = vec![0; 16];

        let holder = hold();
        let error = hash_blake3(&path, &mut buffer, &NoProgress).unwrap_err();
        drop(holder);
        assert_eq!(error.kind(), io::ErrorKind::ResourceBusy);
        let held = error.get_ref().and_then(|inner| inner.downcast_ref());
        assert_eq!(held, Some(&HeldOpen { code: 32 }));

        let holder = hold();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(holder);
        });
        let digests = hash_file(&path, &mut buffer, &NoProgress).unwrap();
        releaser.join().unwrap();
        assert_eq!(digests.blake3, blake3::hash(b"abc"));
    }
}
