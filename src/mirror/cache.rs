//! Remembering the BLAKE3 of files so that an unchanged tree is not re-hashed on every run.
//!
//! For each file this tool wrote or hashed, the cache keeps its size, modification time,
//! [`Stamp`] and BLAKE3. A file whose size, time and stamp still match is taken to hold the
//! cached content; any difference means it is hashed again, and `--full` ignores the cache.
//! Size and modification time alone would not do: a writer can change the bytes and set the
//! time back (`touch -r`). The stamp is what it cannot set back: the file's identity (a file
//! written anew and renamed into place is another file) and its change time, which the
//! system sets to its clock whenever the bytes or the file's attributes change. Equal times
//! alone never decide anything: the cache is only ever consulted for files of equal size
//! whose hash it recorded itself. The cache is an optimization: a missing, unreadable or
//! older cache file means everything is hashed, never an error.

use rustc_hash::FxHashMap as HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use crate::atomic_file::{self, Access, Existing};
pub use crate::content::stamp::Stamp;
use crate::manifest::Blake3Digest;

/// The cache file starts with this, then holds one 104-byte record per file: the path's key
/// (16 bytes, see [`PathKey`]), the size (u64), the modification time (i128 nanoseconds
/// since 1970), the stamp's file identity (u128) and change time (i128) and the 32-byte
/// BLAKE3, integers little-endian. Fixed-size binary records, because the cache is read on
/// every run and must cost far less than the listing it saves. A cache of an earlier format
/// (another first line) is ignored.
const MAGIC: &[u8] = b"wsus-airgap hash cache 3\n";
const RECORD: usize = 16 + 8 + 16 + 16 + 16 + 32;

/// A file's relative path, reduced to the first 128 bits of its BLAKE3: no path strings to
/// allocate when loading, and two paths share a key with negligible probability (a shared
/// key would still need the same size, time and stamp to be taken for the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PathKey([u8; 16]);

impl PathKey {
    fn of(relative: &str) -> Self {
        let hash = blake3::hash(relative.as_bytes());
        PathKey(hash.as_bytes()[..16].try_into().expect("16 of 32 bytes"))
    }
}

/// What the cache remembers of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Remembered {
    size: u64,
    /// Modification time, nanoseconds since 1970 (negative before).
    modified: i128,
    stamp: Stamp,
    blake3: Blake3Digest,
}

/// The hashes of one tree's files, by relative path.
#[derive(Debug, Default)]
pub struct HashCache {
    files: HashMap<PathKey, Remembered>,
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

    /// The remembered hash of `relative`, if its size, modification time and stamp are
    /// unchanged. `stamp` gives the file's stamp now; it is asked only when size and time
    /// match a record (on Windows it opens the file).
    pub fn lookup(
        &self,
        relative: &str,
        size: u64,
        modified: SystemTime,
        stamp: impl FnOnce() -> Option<Stamp>,
    ) -> Option<Blake3Digest> {
        let remembered = self.files.get(&PathKey::of(relative))?;
        if remembered.size != size || remembered.modified != nanos(modified) {
            return None;
        }
        (stamp() == Some(remembered.stamp)).then_some(remembered.blake3)
    }

    /// Remembers that `relative`, of `size` bytes, modified at `modified` and stamped
    /// `stamp` (taken before it was hashed, or after it was written), hashes to `blake3`.
    pub fn record(
        &mut self,
        relative: &str,
        size: u64,
        modified: SystemTime,
        stamp: Stamp,
        blake3: Blake3Digest,
    ) {
        let remembered = Remembered {
            size,
            modified: nanos(modified),
            stamp,
            blake3,
        };
        if self.files.insert(PathKey::of(relative), remembered) != Some(remembered) {
            self.changed = true;
        }
    }

    /// Forgets `relative` (deleted, or replaced by something not hashed).
    pub fn forget(&mut self, relative: &str) {
        if self.files.remove(&PathKey::of(relative)).is_some() {
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
        let mut bytes = Vec::with_capacity(MAGIC.len() + self.files.len() * RECORD);
        bytes.extend_from_slice(MAGIC);
        for (key, remembered) in &self.files {
            bytes.extend_from_slice(&key.0);
            bytes.extend_from_slice(&remembered.size.to_le_bytes());
            bytes.extend_from_slice(&remembered.modified.to_le_bytes());
            bytes.extend_from_slice(&remembered.stamp.id.to_le_bytes());
            bytes.extend_from_slice(&remembered.stamp.changed.to_le_bytes());
            bytes.extend_from_slice(remembered.blake3.0.as_bytes());
        }
        atomic_file::write(path, &bytes, Access::Shared, Existing::Replace)?;
        self.changed = false;
        Ok(())
    }
}

/// The records of a cache file, or `None` if it is not one.
fn decode(bytes: &[u8]) -> Option<HashMap<PathKey, Remembered>> {
    let records = bytes.strip_prefix(MAGIC)?;
    if records.len() % RECORD != 0 {
        return None;
    }
    let mut files = HashMap::with_capacity_and_hasher(records.len() / RECORD, Default::default());
    for record in records.chunks_exact(RECORD) {
        let (key, rest) = record.split_at(16);
        let (size, rest) = rest.split_at(8);
        let (modified, rest) = rest.split_at(16);
        let (id, rest) = rest.split_at(16);
        let (changed, blake3) = rest.split_at(16);
        files.insert(
            PathKey(key.try_into().ok()?),
            Remembered {
                size: u64::from_le_bytes(size.try_into().ok()?),
                modified: i128::from_le_bytes(modified.try_into().ok()?),
                stamp: Stamp {
                    id: u128::from_le_bytes(id.try_into().ok()?),
                    changed: i128::from_le_bytes(changed.try_into().ok()?),
                },
                blake3: Blake3Digest(blake3::Hash::from_bytes(blake3.try_into().ok()?)),
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
    fn a_hash_is_only_returned_while_size_time_and_stamp_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache").join("hashes.json");
        let when = time_from_nanos(1_700_000_000_123_456_789);
        let stamp = Stamp {
            id: 7 << 64 | 42,
            changed: 1_700_000_001_000_000_000,
        };
        let hash = Blake3Digest(blake3::hash(b"x"));
        let mut cache = HashCache::load(&path);
        cache.record("00/A.cab", 1, when, stamp, hash);
        cache.save(&path).unwrap();
        let cache = HashCache::load(&path);
        let now = || Some(stamp);
        assert_eq!(cache.lookup("00/A.cab", 1, when, now), Some(hash));
        assert_eq!(cache.lookup("00/A.cab", 2, when, now), None);
        let later = when + Duration::from_micros(1); // Windows keeps times to 100 ns
        assert_eq!(cache.lookup("00/A.cab", 1, later, now), None);
        assert_eq!(cache.lookup("00/B.cab", 1, when, now), None);
        // Same size and time, but changed since (or another file renamed into place).
        let changed = Stamp {
            changed: stamp.changed + 1,
            ..stamp
        };
        assert_eq!(cache.lookup("00/A.cab", 1, when, || Some(changed)), None);
        let other = Stamp { id: 43, ..stamp };
        assert_eq!(cache.lookup("00/A.cab", 1, when, || Some(other)), None);
        assert_eq!(cache.lookup("00/A.cab", 1, when, || None), None);
        let mut truncated = fs::read(&path).unwrap();
        truncated.pop();
        fs::write(&path, &truncated).unwrap();
        assert_eq!(
            HashCache::load(&path).lookup("00/A.cab", 1, when, now),
            None
        );
        fs::write(&path, "garbage").unwrap();
        assert_eq!(
            HashCache::load(&path).lookup("00/A.cab", 1, when, now),
            None
        );
        // A cache of the earlier format, without stamps, is ignored.
        let mut older = b"wsus-airgap hash cache 2\n".to_vec();
        older.extend_from_slice(&[0; 72]);
        fs::write(&path, &older).unwrap();
        assert!(HashCache::load(&path).files.is_empty());
    }

    /// A forgotten file is forgotten in the file too; times before 1970 are not taken for
    /// the same distance after it.
    #[test]
    fn a_forgotten_file_stays_forgotten_and_times_before_1970_keep_their_sign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hashes.bin");
        let stamp = Stamp { id: 1, changed: 2 };
        let now = || Some(stamp);
        let hash = Blake3Digest(blake3::hash(b"x"));
        let (before_1970, after_1970) = (time_from_nanos(-5_000), time_from_nanos(5_000));
        let mut cache = HashCache::default();
        cache.record("00/A.cab", 1, before_1970, stamp, hash);
        cache.record("00/B.cab", 1, after_1970, stamp, hash);
        cache.save(&path).unwrap();
        let mut cache = HashCache::load(&path);
        assert_eq!(cache.lookup("00/A.cab", 1, before_1970, now), Some(hash));
        assert_eq!(cache.lookup("00/A.cab", 1, after_1970, now), None);

        cache.forget("00/B.cab");
        assert_eq!(cache.lookup("00/B.cab", 1, after_1970, now), None);
        cache.save(&path).unwrap();
        let cache = HashCache::load(&path);
        assert_eq!(cache.lookup("00/B.cab", 1, after_1970, now), None);
        assert_eq!(cache.lookup("00/A.cab", 1, before_1970, now), Some(hash));
    }

    #[test]
    fn writing_a_file_in_place_changes_its_stamp_even_with_its_time_set_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        fs::write(&path, b"one").unwrap();
        let before = Stamp::of_path(&path).unwrap();
        assert_eq!(
            Stamp::of_file(&fs::File::open(&path).unwrap()).unwrap(),
            before
        );
        let modified = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&path, b"two").unwrap();
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(modified).unwrap();
        drop(file);
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), modified);
        let after = Stamp::of_path(&path).unwrap();
        assert_eq!(after.id, before.id, "the same file");
        assert_ne!(after.changed, before.changed);
    }
}
