//! Remembering the BLAKE3 of files so that an unchanged tree is not re-hashed on every run.
//!
//! For each file this tool wrote or hashed, the cache keeps its size, modification time and
//! BLAKE3. A file whose size and time still match is taken to hold the cached content; any
//! difference means it is hashed again, and `--full` ignores the cache. Equal times alone
//! never decide anything: the cache is only ever consulted for files of equal size whose
//! hash it recorded itself. The cache is an optimization: a missing or unreadable cache file
//! means everything is hashed, never an error.

use rustc_hash::FxHashMap as HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use crate::atomic_file::{self, Access, Existing};
use crate::manifest::Blake3Digest;

/// The cache file starts with this, then holds one record per file: the path's length (u32)
/// and UTF-8 bytes, the size (u64), the modification time (i128 nanoseconds since 1970) and
/// the 32-byte BLAKE3, integers little-endian. Binary, because it is read on every run and
/// must cost far less than the listing it saves.
const MAGIC: &[u8] = b"wsus-airgap hash cache 1\n";

/// What the cache remembers of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Remembered {
    size: u64,
    /// Modification time, nanoseconds since 1970 (negative before).
    modified: i128,
    blake3: Blake3Digest,
}

/// The hashes of one tree's files, by relative path.
#[derive(Debug, Default)]
pub struct HashCache {
    files: HashMap<String, Remembered>,
    changed: bool,
}

impl HashCache {
    /// Reads the cache at `path`; anything unreadable is an empty cache.
    pub fn load(path: &Path) -> Self {
        let files = fs::read(path)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        HashCache {
            files,
            changed: false,
        }
    }

    /// The remembered hash of `relative`, if its size and modification time are unchanged.
    pub fn lookup(&self, relative: &str, size: u64, modified: SystemTime) -> Option<Blake3Digest> {
        let remembered = self.files.get(relative)?;
        (remembered.size == size && remembered.modified == nanos(modified))
            .then_some(remembered.blake3)
    }

    /// Remembers that `relative`, of `size` bytes and modified at `modified`, hashes to
    /// `blake3`.
    pub fn record(
        &mut self,
        relative: &str,
        size: u64,
        modified: SystemTime,
        blake3: Blake3Digest,
    ) {
        let remembered = Remembered {
            size,
            modified: nanos(modified),
            blake3,
        };
        if self.files.insert(relative.to_owned(), remembered) != Some(remembered) {
            self.changed = true;
        }
    }

    /// Forgets `relative` (deleted, or replaced by something not hashed).
    pub fn forget(&mut self, relative: &str) {
        if self.files.remove(relative).is_some() {
            self.changed = true;
        }
    }

    /// Writes the cache to `path` atomically if anything changed.
    pub fn save(&mut self, path: &Path) -> io::Result<()> {
        if !self.changed {
            return Ok(());
        }
        if let Some(folder) = path.parent() {
            fs::create_dir_all(folder)?;
        }
        let mut bytes = Vec::with_capacity(MAGIC.len() + self.files.len() * 120);
        bytes.extend_from_slice(MAGIC);
        for (relative, remembered) in &self.files {
            bytes.extend_from_slice(&(relative.len() as u32).to_le_bytes());
            bytes.extend_from_slice(relative.as_bytes());
            bytes.extend_from_slice(&remembered.size.to_le_bytes());
            bytes.extend_from_slice(&remembered.modified.to_le_bytes());
            bytes.extend_from_slice(remembered.blake3.0.as_bytes());
        }
        atomic_file::write(path, &bytes, Access::Shared, Existing::Replace)?;
        self.changed = false;
        Ok(())
    }
}

/// The records of a cache file, or `None` if it is not one.
fn decode(bytes: &[u8]) -> Option<HashMap<String, Remembered>> {
    fn take<'a>(rest: &mut &'a [u8], count: usize) -> Option<&'a [u8]> {
        let (taken, remaining) = rest.split_at_checked(count)?;
        *rest = remaining;
        Some(taken)
    }
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let mut files = HashMap::default();
    while !rest.is_empty() {
        let length = u32::from_le_bytes(take(&mut rest, 4)?.try_into().ok()?) as usize;
        let relative = std::str::from_utf8(take(&mut rest, length)?)
            .ok()?
            .to_owned();
        let size = u64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
        let modified = i128::from_le_bytes(take(&mut rest, 16)?.try_into().ok()?);
        let blake3: [u8; 32] = take(&mut rest, 32)?.try_into().ok()?;
        let blake3 = Blake3Digest(blake3::Hash::from_bytes(blake3));
        files.insert(
            relative,
            Remembered {
                size,
                modified,
                blake3,
            },
        );
    }
    Some(files)
}

fn nanos(time: SystemTime) -> i128 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Turns nanoseconds since 1970 back into a time.
    pub fn time_from_nanos(nanos: i128) -> SystemTime {
        let magnitude = Duration::from_nanos(nanos.unsigned_abs() as u64);
        if nanos >= 0 {
            SystemTime::UNIX_EPOCH + magnitude
        } else {
            SystemTime::UNIX_EPOCH - magnitude
        }
    }

    #[test]
    fn a_hash_is_only_returned_while_size_and_time_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache").join("hashes.json");
        let when = time_from_nanos(1_700_000_000_123_456_789);
        let hash = Blake3Digest(blake3::hash(b"x"));
        let mut cache = HashCache::load(&path);
        cache.record("00/A.cab", 1, when, hash);
        cache.save(&path).unwrap();
        let cache = HashCache::load(&path);
        assert_eq!(cache.lookup("00/A.cab", 1, when), Some(hash));
        assert_eq!(cache.lookup("00/A.cab", 2, when), None);
        let later = when + Duration::from_micros(1); // Windows keeps times to 100 ns
        assert_eq!(cache.lookup("00/A.cab", 1, later), None);
        assert_eq!(cache.lookup("00/B.cab", 1, when), None);
        let mut truncated = fs::read(&path).unwrap();
        truncated.pop();
        fs::write(&path, &truncated).unwrap();
        assert_eq!(HashCache::load(&path).lookup("00/A.cab", 1, when), None);
        fs::write(&path, "garbage").unwrap();
        assert_eq!(HashCache::load(&path).lookup("00/A.cab", 1, when), None);
    }
}
