//! The receipt: what the disconnected side holds after an import, carried back to the
//! connected side so that the next export puts only what is lacking on the media.
//!
//! A receipt is unsigned JSON. Trusting it costs nothing in safety: a receipt that claims
//! files the disconnected side does not hold only leaves them off the next media, and that
//! import then refuses, naming them, because its content would be incomplete.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, Access, Existing};
use crate::capped_read::{CappedError, read_capped};
use crate::manifest::{Blake3Digest, FileEntry, Timestamp};
use crate::relpath::{RelPath, fold_case};

/// The only receipt format this version reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The largest receipt read: about a million files.
const RECEIPT_MAX: u64 = 256 * 1024 * 1024;

/// What an import left in the content folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format_version: u32,
    pub tool: String,
    /// The key that signed the imported media, as minisign shows ids.
    pub key_id: String,
    /// The sequence of the imported media.
    pub sequence: u64,
    pub imported: Timestamp,
    /// The content folder's files as the manifest listed them, sorted by path.
    pub content: Vec<ReceiptEntry>,
}

/// One file the disconnected side holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptEntry {
    pub path: RelPath,
    pub size: u64,
    pub blake3: Blake3Digest,
}

/// Why a receipt could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: larger than any receipt ({size} bytes)", path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{}: not a wsus-airgap receipt: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

impl Receipt {
    /// A receipt for content that now holds every file of `entries`.
    pub fn new(key_id: String, sequence: u64, imported: Timestamp, entries: &[FileEntry]) -> Self {
        Receipt {
            format_version: FORMAT_VERSION,
            tool: concat!("wsus-airgap ", env!("CARGO_PKG_VERSION")).to_owned(),
            key_id,
            sequence,
            imported,
            content: entries
                .iter()
                .map(|entry| ReceiptEntry {
                    path: entry.path.clone(),
                    size: entry.size,
                    blake3: entry.blake3,
                })
                .collect(),
        }
    }

    pub fn read(path: &Path) -> Result<Self, ReceiptError> {
        let bytes = read_capped(path, RECEIPT_MAX).map_err(|error| match error {
            CappedError::Io(source) => ReceiptError::Io {
                path: path.to_owned(),
                source,
            },
            CappedError::TooLarge { size } => ReceiptError::TooLarge {
                path: path.to_owned(),
                size,
            },
        })?;
        let invalid = |detail: String| ReceiptError::Invalid {
            path: path.to_owned(),
            detail,
        };
        let receipt: Receipt =
            serde_json::from_slice(&bytes).map_err(|error| invalid(error.to_string()))?;
        if receipt.format_version != FORMAT_VERSION {
            return Err(invalid(format!(
                "format version {} (this version reads {FORMAT_VERSION})",
                receipt.format_version
            )));
        }
        Ok(receipt)
    }

    /// Writes the receipt atomically.
    pub fn write(&self, path: &Path) -> Result<(), ReceiptError> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a receipt serializes");
        bytes.push(b'\n');
        atomic_file::write(path, &bytes, Access::Shared, Existing::Replace).map_err(|source| {
            ReceiptError::Io {
                path: path.to_owned(),
                source,
            }
        })
    }

    /// Marks every content file the receipt shows the other side holding (same path ignoring
    /// case, same size and BLAKE3) as not carried; returns how many were marked. Other files
    /// (`anonymousCheckFile.txt`) are always carried: tiny, and the media's mirror keeps such
    /// top-level files anyway, so that marking them would make the counts disagree.
    pub fn mark_held(&self, entries: &mut [FileEntry]) -> u64 {
        let held: std::collections::HashSet<(String, u64, Blake3Digest)> = self
            .content
            .iter()
            .map(|entry| (entry.path.folded(), entry.size, entry.blake3))
            .collect();
        let mut marked = 0;
        for entry in entries {
            let key = (fold_case(entry.path.as_str()), entry.size, entry.blake3);
            if entry.sha1.is_some() && held.contains(&key) {
                entry.carried = false;
                marked += 1;
            }
        }
        marked
    }
}
