//! What a split import has taken so far, kept in the staging folder beside the content folder
//! so that it survives a kill or a reboot: which transfer (the BLAKE3 of its manifest), its
//! sequence, and the volumes taken. Written atomically after each volume is fully in.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, Access, Existing};
use crate::manifest::{Manifest, create};

use super::super::outcome::TransferError;

/// The staging folder's name, beside the content folder.
pub const STAGING_FOLDER: &str = "wsus-airgap-volumes";
/// The progress file's name, in the staging folder.
pub const PROGRESS_FILE: &str = "progress.json";

/// The transfer a split import is taking in, and how far it has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// The BLAKE3 of the manifest, in hex: the same on every volume of one transfer.
    pub transfer: String,
    pub sequence: u64,
    pub count: u32,
    /// The volumes fully taken, in the order they were.
    pub taken: Vec<u32>,
}

impl Progress {
    /// A fresh start on the transfer `manifest` describes.
    pub fn start(manifest: &Manifest) -> Self {
        Progress {
            transfer: transfer_id(manifest),
            sequence: manifest.sequence,
            count: manifest.volumes.map_or(1, |set| set.count),
            taken: Vec::new(),
        }
    }

    /// The volumes not yet taken.
    pub fn needed(&self) -> Vec<u32> {
        (1..=self.count)
            .filter(|volume| !self.taken.contains(volume))
            .collect()
    }

    /// Reads the progress in `staging`; none when there is none (or it is unreadable, which
    /// only costs taking the volumes again).
    pub fn load(staging: &Path) -> Option<Self> {
        let bytes = std::fs::read(staging.join(PROGRESS_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn save(&self, staging: &Path) -> Result<(), TransferError> {
        let path = staging.join(PROGRESS_FILE);
        std::fs::create_dir_all(staging)
            .map_err(|error| TransferError::io(staging, "create", error))?;
        let bytes = serde_json::to_vec_pretty(self).expect("progress serializes");
        atomic_file::write(&path, &bytes, Access::Shared, Existing::Replace)
            .map_err(|error| TransferError::io(&path, "write", error))
    }

    /// The folder where this transfer's chunks and package wait.
    pub fn folder(&self, staging: &Path) -> PathBuf {
        staging.join(&self.transfer)
    }
}

/// The transfer's identity: the BLAKE3 of its manifest's bytes, as every volume carries them.
pub fn transfer_id(manifest: &Manifest) -> String {
    blake3::hash(&create::to_bytes(manifest))
        .to_hex()
        .to_string()
}
