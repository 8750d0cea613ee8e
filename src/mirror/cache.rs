//! Remembering the BLAKE3 of files so that an unchanged tree is not re-hashed on every run.
//!
//! For each file this tool wrote or hashed, the cache keeps its size, modification time and
//! BLAKE3. A file whose size and time still match is taken to hold the cached content; any
//! difference means it is hashed again, and `--full` ignores the cache. Equal times alone
//! never decide anything: the cache is only ever consulted for files of equal size whose
//! hash it recorded itself. The cache is an optimization: a missing or unreadable cache file
//! means everything is hashed, never an error.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, Access, Existing};
use crate::manifest::Blake3Digest;

/// The cache file's format version.
const CACHE_VERSION: u32 = 1;

/// What the cache remembers of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    size: u64,
    /// Modification time, nanoseconds since 1970 (negative before).
    modified: i128,
    blake3: Blake3Digest,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheFile {
    format_version: u32,
    files: HashMap<String, Remembered>,
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
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|file| file.format_version == CACHE_VERSION)
            .map(|file| file.files)
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
        let file = CacheFile {
            format_version: CACHE_VERSION,
            files: std::mem::take(&mut self.files),
        };
        let bytes = serde_json::to_vec(&file).expect("the cache serializes");
        self.files = file.files;
        atomic_file::write(path, &bytes, Access::Shared, Existing::Replace)?;
        self.changed = false;
        Ok(())
    }
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
        let later = when + Duration::from_nanos(1);
        assert_eq!(cache.lookup("00/A.cab", 1, later), None);
        assert_eq!(cache.lookup("00/B.cab", 1, when), None);
        fs::write(&path, "garbage").unwrap();
        assert_eq!(HashCache::load(&path).lookup("00/A.cab", 1, when), None);
    }
}
