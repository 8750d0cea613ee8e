//! The disconnected side's memory of what it already accepted, so old media cannot be replayed.
//!
//! The trust state is a small JSON file holding, per signing key id, the highest sequence
//! number a completed import accepted. A manifest whose sequence is not higher is refused
//! (unless the operator explicitly allows a rollback). The file is replaced atomically; a
//! missing file means nothing was accepted yet, while a damaged one is an error, never a
//! silent reset.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::keys::KeyId;
use super::{Blake3Digest, Timestamp};
use crate::atomic_file::{self, Access, Existing};
use crate::capped_read::{CappedError, read_capped};

/// The trust state's format version.
const STATE_VERSION: u32 = 1;
/// One entry per signing key: even a thousand keys fit far below this.
const STATE_FILE_MAX: u64 = 1024 * 1024;

/// Why the trust state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TrustStateError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a wsus-airgap trust state: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

/// What one key's last accepted transfer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    pub sequence: u64,
    /// When the import that accepted it completed.
    pub accepted: Timestamp,
    /// The BLAKE3 of the manifest's bytes, so that the very media imported can be told
    /// from another manifest with its sequence; absent in states written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_blake3: Option<Blake3Digest>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format_version: u32,
    /// Key ids as minisign shows them, in order.
    #[serde(deserialize_with = "unique_keys")]
    keys: BTreeMap<String, Accepted>,
}

/// Reads the `keys` object refusing a key listed twice, which JSON readers otherwise resolve
/// by keeping the last: a way to lower a sequence unnoticed.
fn unique_keys<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, Accepted>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = BTreeMap<String, Accepted>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of key ids")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut keys = BTreeMap::new();
            while let Some((id, accepted)) = map.next_entry::<String, Accepted>()? {
                if keys.insert(id.clone(), accepted).is_some() {
                    return Err(serde::de::Error::custom(format!(
                        "key id `{id}` is listed twice"
                    )));
                }
            }
            Ok(keys)
        }
    }
    deserializer.deserialize_map(Visitor)
}

/// The trust state, as read from its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustState {
    keys: BTreeMap<KeyId, Accepted>,
}

impl TrustState {
    /// Reads the state at `path`; a file that does not exist is an empty state.
    pub fn load(path: &Path) -> Result<Self, TrustStateError> {
        let io_error = |source| TrustStateError::Io {
            path: path.to_owned(),
            source,
        };
        let invalid = |detail: String| TrustStateError::Invalid {
            path: path.to_owned(),
            detail,
        };
        let bytes = match read_capped(path, STATE_FILE_MAX) {
            Ok(bytes) => bytes,
            // Not there yet (on Windows also what a file in place of its folder gives).
            Err(CappedError::Io(error))
                if error.kind() == io::ErrorKind::NotFound
                    && !crate::atomic_file::has_file_in_the_way(path) =>
            {
                return Ok(Self::default());
            }
            Err(CappedError::Io(error)) => {
                return Err(io_error(crate::atomic_file::file_in_the_way(path, error)));
            }
            Err(CappedError::TooLarge { .. }) => {
                return Err(invalid(format!("larger than {STATE_FILE_MAX} bytes")));
            }
        };
        let state: StateFile =
            serde_json::from_slice(&bytes).map_err(|error| invalid(error.to_string()))?;
        if state.format_version != STATE_VERSION {
            return Err(invalid(format!(
                "format version {} (this version reads {STATE_VERSION})",
                state.format_version
            )));
        }
        let mut keys = BTreeMap::new();
        for (id, accepted) in state.keys {
            let key_id = parse_key_id(&id)
                .ok_or_else(|| invalid(format!("`{id}` is not a key id (16 hex digits)")))?;
            keys.insert(key_id, accepted);
        }
        Ok(TrustState { keys })
    }

    /// What was last accepted from `key`, if anything.
    pub fn accepted(&self, key: KeyId) -> Option<Accepted> {
        self.keys.get(&key).copied()
    }

    /// Records that an import of `sequence` signed by `key`, of the manifest whose bytes hash
    /// to `manifest_blake3`, completed at `when`. The recorded sequence only ever rises: an
    /// import allowed to roll back does not lower it.
    pub fn accept(
        &mut self,
        key: KeyId,
        sequence: u64,
        when: Timestamp,
        manifest_blake3: Blake3Digest,
    ) {
        let accepted = Accepted {
            sequence,
            accepted: when,
            manifest_blake3: Some(manifest_blake3),
        };
        self.keys
            .entry(key)
            .and_modify(|previous| {
                if sequence > previous.sequence {
                    *previous = accepted;
                }
            })
            .or_insert(accepted);
    }

    /// Writes the state to `path` atomically, creating its folder if needed: the default
    /// place (`%ProgramData%\wsus-airgap`, `~/.local/state/wsus-airgap`) does not exist
    /// before the first import.
    pub fn save(&self, path: &Path) -> Result<(), TrustStateError> {
        let file = StateFile {
            format_version: STATE_VERSION,
            keys: self
                .keys
                .iter()
                .map(|(id, accepted)| (id.to_string(), *accepted))
                .collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("the state serializes");
        bytes.push(b'\n');
        let io_error = |source| TrustStateError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(io_error)?;
        }
        atomic_file::write(path, &bytes, Access::Shared, Existing::Replace).map_err(io_error)
    }

    /// [`load`](Self::load)s the state at `path` and, when there is one, saves it back
    /// unchanged: proof that [`save`](Self::save) can replace it now (no program holds it,
    /// nothing forbids it). An import does this before it changes anything, so that it
    /// never runs wsusutil and then fails to record what it imported.
    pub fn load_and_save_unchanged(path: &Path) -> Result<Self, TrustStateError> {
        let state = Self::load(path)?;
        if path.exists() {
            state.save(path)?;
        }
        Ok(state)
    }
}

/// Parses a key id exactly as [`KeyId`]'s `Display` writes it: 16 upper-case hex digits.
fn parse_key_id(text: &str) -> Option<KeyId> {
    let upper_hex = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    if text.len() != 16 || !text.bytes().all(upper_hex) {
        return None;
    }
    u64::from_str_radix(text, 16)
        .ok()
        .map(|value| KeyId(value.to_le_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::SystemTime;

    /// Only a file that is not there is an empty state: a folder where the file should be,
    /// or a file where its folder should be, is an error, never a state that forgot every
    /// sequence (which would let old media in again).
    #[test]
    fn only_a_missing_file_is_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("trust.json");
        fs::create_dir(&folder).unwrap();
        assert!(matches!(
            TrustState::load(&folder),
            Err(TrustStateError::Io { .. })
        ));
        let in_the_way = dir.path().join("a-file");
        fs::write(&in_the_way, "x").unwrap();
        assert!(matches!(
            TrustState::load(&in_the_way.join("trust.json")),
            Err(TrustStateError::Io { .. })
        ));
    }

    /// A newer sequence replaces the record (time and manifest too); the same sequence again,
    /// even of other bytes, or an older one changes nothing.
    #[test]
    fn the_record_moves_only_to_a_higher_sequence() {
        let key = KeyId([9; 8]);
        let (first, later) = (
            Timestamp::new(SystemTime::UNIX_EPOCH),
            Timestamp::new(SystemTime::now()),
        );
        let (seven, eight, other) = (
            Blake3Digest(blake3::hash(b"7")),
            Blake3Digest(blake3::hash(b"8")),
            Blake3Digest(blake3::hash(b"other")),
        );
        let mut state = TrustState::default();
        state.accept(key, 7, first, seven);
        state.accept(key, 8, later, eight);
        let recorded = Accepted {
            sequence: 8,
            accepted: later,
            manifest_blake3: Some(eight),
        };
        assert_eq!(state.accepted(key), Some(recorded));
        state.accept(key, 8, first, other);
        state.accept(key, 7, later, seven);
        assert_eq!(state.accepted(key), Some(recorded));
    }

    /// A thousand signing keys fit: the size limit is a megabyte, not a few kilobytes.
    #[test]
    fn a_state_of_a_thousand_keys_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        let mut state = TrustState::default();
        let when = Timestamp::new(SystemTime::now());
        for index in 0..1000u64 {
            let key = KeyId(index.to_le_bytes());
            state.accept(key, index + 1, when, Blake3Digest(blake3::hash(b"m")));
        }
        state.save(&path).unwrap();
        assert!(fs::metadata(&path).unwrap().len() > 100_000);
        assert_eq!(TrustState::load(&path).unwrap(), state);
    }

    #[test]
    fn keys_that_are_not_an_object_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        fs::write(&path, r#"{"format_version": 1, "keys": []}"#).unwrap();
        let error = TrustState::load(&path).unwrap_err().to_string();
        assert!(error.contains("expected an object of key ids"), "{error}");
    }

    #[test]
    fn saves_and_loads_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        assert_eq!(TrustState::load(&path).unwrap(), TrustState::default());
        let mut state = TrustState::default();
        let key = KeyId([1, 2, 3, 4, 5, 6, 7, 8]);
        let when = Timestamp::new(SystemTime::now());
        let manifest = Blake3Digest(blake3::hash(b"manifest"));
        state.accept(key, 7, when, manifest);
        state.save(&path).unwrap();
        let loaded = TrustState::load(&path).unwrap();
        assert_eq!(loaded, state);
        assert_eq!(loaded.accepted(key).unwrap().sequence, 7);
        let mut lowered = loaded.clone();
        lowered.accept(key, 3, when, manifest);
        assert_eq!(lowered, loaded, "the sequence only rises");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"0807060504030201\""), "{text}");
    }

    #[test]
    fn a_state_written_before_manifest_hashes_were_recorded_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        fs::write(
            &path,
            "{\"format_version\":1,\"keys\":{\"0123456789ABCDEF\":{\"sequence\":4,\"accepted\":\"2026-01-01T00:00:00Z\"}}}",
        )
        .unwrap();
        let state = TrustState::load(&path).unwrap();
        let key = parse_key_id("0123456789ABCDEF").unwrap();
        let accepted = state.accepted(key).unwrap();
        assert_eq!((accepted.sequence, accepted.manifest_blake3), (4, None));
    }

    #[test]
    fn the_first_save_creates_the_folders_of_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("ProgramData")
            .join("wsus-airgap")
            .join("trust.json");
        let mut state = TrustState::default();
        let key = KeyId([1, 2, 3, 4, 5, 6, 7, 8]);
        let manifest = Blake3Digest(blake3::hash(b"manifest"));
        state.accept(key, 1, Timestamp::new(SystemTime::now()), manifest);
        state.save(&path).unwrap();
        assert_eq!(TrustState::load(&path).unwrap(), state);
    }

    #[test]
    fn a_damaged_state_is_an_error_not_a_reset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        for text in [
            "",
            "{\"format_version\":2,\"keys\":{}}",
            "{\"format_version\":1,\"keys\":{\"XYZ\":{\"sequence\":1,\"accepted\":\"2026-01-01T00:00:00Z\"}}}",
            "{\"format_version\":1,\"keys\":{\"0123456789abcdef\":{\"sequence\":1,\"accepted\":\"2026-01-01T00:00:00Z\"}}}",
            "{\"format_version\":1,\"keys\":{\"0123456789ABCDEF\":{\"sequence\":9,\"accepted\":\"2026-01-01T00:00:00Z\"},\"0123456789ABCDEF\":{\"sequence\":1,\"accepted\":\"2026-01-01T00:00:00Z\"}}}",
        ] {
            fs::write(&path, text).unwrap();
            let error = TrustState::load(&path).unwrap_err().to_string();
            assert!(error.contains("trust.json"), "{error}");
        }
    }
}
