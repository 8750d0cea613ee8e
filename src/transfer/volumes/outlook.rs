//! What one volume of a split transfer means for a receiving content folder: what an import
//! of it would copy there, and which volumes are still needed for the rest (files neither
//! in the content folder as signed, nor taken in already from other volumes).

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::Path;

use serde::Serialize;

use crate::manifest::{FileEntry, Manifest, TransferMode};
use crate::mirror::{self, Listing, MirrorError, PlanOptions, PlanTotals};
use crate::progress::Phases;

use super::super::import::beside_content;
use super::super::outcome::TransferError;
use super::progress::{Progress, STAGING_FOLDER, transfer_id};

/// A volume still needed, and how many of the files still missing it holds (whole or in
/// part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VolumeNeeded {
    pub volume: u32,
    pub files: u64,
}

/// What an import of `volume` would copy into `content`, and the other volumes still needed.
pub fn outlook(
    manifest: &Manifest,
    volume: u32,
    volume_root: &Path,
    content: &Path,
    cache_folder: Option<&Path>,
    jobs: Option<NonZeroUsize>,
    phases: &dyn Phases,
) -> Result<(PlanTotals, Vec<VolumeNeeded>), TransferError> {
    let whole_here = |entry: &FileEntry| entry.volume == Some(volume) && entry.chunks.is_empty();
    let (here, elsewhere): (Vec<FileEntry>, Vec<FileEntry>) = (manifest.entries.iter())
        .filter(|entry| entry.carried)
        .cloned()
        .partition(whole_here);
    let options = PlanOptions {
        mode: TransferMode::Incremental,
        full: false,
        quarantine: None,
        jobs,
    };
    let source = volume_root.join(crate::content::FOLDER_NAME);
    let planned = mirror::plan_and_apply(
        &source,
        content,
        &Listing::Manifest(here),
        &options,
        None,
        cache_folder,
        phases,
    )?;
    // The rest, looked for in the content folder itself: what is not there as signed is
    // still to come.
    let nowhere = tempfile::tempdir()
        .map_err(|error| TransferError::io(&std::env::temp_dir(), "create a folder in", error))?;
    let missing = match mirror::plan_and_apply(
        content,
        nowhere.path(),
        &Listing::Manifest(elsewhere.clone()),
        &options,
        None,
        cache_folder,
        phases,
    ) {
        Ok(_) => Vec::new(),
        Err(MirrorError::NotInSource { paths, .. }) => paths,
        Err(error) => return Err(error.into()),
    };
    let taken = Progress::load(&beside_content(content, STAGING_FOLDER))
        .filter(|progress| progress.transfer == transfer_id(manifest))
        .map(|progress| progress.taken)
        .unwrap_or_default();
    let mut needed: BTreeMap<u32, u64> = BTreeMap::new();
    for entry in elsewhere
        .iter()
        .filter(|entry| missing.contains(&entry.path.to_string()))
    {
        let mut volumes: Vec<u32> = entry.chunks.iter().map(|chunk| chunk.volume).collect();
        volumes.extend(entry.volume);
        volumes.sort_unstable();
        volumes.dedup();
        for other in volumes {
            if other != volume && !taken.contains(&other) {
                *needed.entry(other).or_default() += 1;
            }
        }
    }
    let needed = needed
        .into_iter()
        .map(|(volume, files)| VolumeNeeded { volume, files })
        .collect();
    Ok((planned.0.totals, needed))
}

/// `volume 2 (3 files), volume 3 (1 file)`, or that no other volume is needed.
pub struct StillNeeded<'a>(pub &'a [VolumeNeeded]);

impl std::fmt::Display for StillNeeded<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no other volume: this one completes the transfer");
        }
        for (index, needed) in self.0.iter().enumerate() {
            let files = if needed.files == 1 { "file" } else { "files" };
            let separator = if index == 0 { "" } else { ", " };
            write!(
                f,
                "{separator}volume {} ({} {files})",
                needed.volume, needed.files
            )?;
        }
        Ok(())
    }
}
