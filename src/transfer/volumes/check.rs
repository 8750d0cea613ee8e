//! Checking one volume on its own, against the signed manifest every volume carries: which
//! volume it says it is (`volume.json`), and that it holds exactly the whole files, chunks
//! and package the manifest puts on that volume, each intact (the package is judged by the
//! gate as it copies it), and nothing else. The verdict
//! has the shape of a single-media check, so the gate and the reports read it alike; a chunk
//! is named `chunks/<path>.<offset>`, a whole file `WsusContent/<path>`.

use std::collections::HashMap;
use std::fs;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use crate::content::FolderError;
use crate::content::hash::hash_blake3;
use crate::content::tree::{self, EntryType};
use crate::manifest::contents::{Changed, ContentsCheck, Extra, Found};
use crate::manifest::{Blake3Digest, MANIFEST_FILE, Manifest, SIGNATURE_FILE};
use crate::progress::Progress;
use crate::relpath::fold_case;

use super::super::Media;
use super::{MARKER, Marker, chunk_path, whole_path};

/// A listed file of one volume: where it lies, what it must hold.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Relative to the volume, `/` separators.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub blake3: Blake3Digest,
}

/// What one volume holds against the manifest.
#[derive(Debug)]
pub struct VolumeCheck {
    /// Which volume it says it is; `None` when it does not say.
    pub marker: Option<Marker>,
    /// Its files; the package, judged as the gate copies it, is not among them.
    pub contents: ContentsCheck,
    /// True when the manifest puts the package on this volume.
    pub package_here: bool,
}

/// True when `folder` is a volume of a split transfer (it holds `volume.json`).
pub fn is_volume(folder: &Path) -> bool {
    folder.join(MARKER).is_file()
}

/// Reads `volume.json`, if it is there and says something.
pub fn read_marker(folder: &Path) -> Option<Marker> {
    let bytes = fs::read(folder.join(MARKER)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The files the manifest puts on `volume`, package last.
pub fn expected_on(manifest: &Manifest, root: &Path, volume: u32) -> Vec<Expected> {
    let mut expected = Vec::new();
    for entry in manifest.entries.iter().filter(|entry| entry.carried) {
        if entry.volume == Some(volume) {
            expected.push(Expected {
                name: format!("{}/{}", crate::content::FOLDER_NAME, entry.path),
                path: whole_path(root, &entry.path),
                size: entry.size,
                blake3: entry.blake3,
            });
        }
        for chunk in entry.chunks.iter().filter(|chunk| chunk.volume == volume) {
            expected.push(Expected {
                name: format!("{}/{}.{}", super::CHUNKS_FOLDER, entry.path, chunk.offset),
                path: chunk_path(root, &entry.path, chunk.offset),
                size: chunk.size,
                blake3: chunk.blake3,
            });
        }
    }
    expected
}

/// Checks the volume at `media` against `manifest` (which must describe volumes).
pub fn check_volume(
    manifest: &Manifest,
    media: &Media,
    jobs: Option<NonZeroUsize>,
    progress: &dyn Progress,
) -> Result<VolumeCheck, FolderError> {
    let set = manifest.volumes.expect("a manifest of volumes");
    let marker = read_marker(&media.root)
        .filter(|marker| marker.count == set.count && (1..=set.count).contains(&marker.volume));
    let volume = marker.map_or(0, |marker| marker.volume);
    let expected = expected_on(manifest, &media.root, volume);
    let package_here = manifest
        .package
        .as_ref()
        .filter(|_| set.package_volume == volume);
    let mut allowed: Vec<String> = [
        MANIFEST_FILE,
        SIGNATURE_FILE,
        Media::README,
        MARKER,
        Media::RECEIPT,
    ]
    .iter()
    .map(|name| fold_case(name))
    .collect();
    allowed.extend(package_here.map(|package| package.name.folded()));
    let listing = tree::list(&media.root)?;
    let by_name: HashMap<String, usize> = expected
        .iter()
        .enumerate()
        .map(|(index, file)| (fold_case(&file.name), index))
        .collect();
    let mut seen = vec![false; expected.len()];
    let (mut extra, mut changed) = (Vec::new(), Vec::new());
    for entry in &listing.entries {
        let folded = fold_case(&entry.relative);
        match by_name.get(&folded) {
            Some(&index) if entry.file_type == EntryType::File => seen[index] = true,
            Some(&index) => changed.push(changed_file(
                &expected[index],
                Found::NotAFile {
                    file_type: entry.file_type,
                },
            )),
            None if allowed.contains(&folded) => {}
            None => extra.push(Extra {
                path: entry.relative.clone(),
                file_type: entry.file_type,
            }),
        }
    }
    let (intact_files, intact_bytes) =
        hash_expected(&expected, &seen, jobs, progress, &mut changed)?;
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    let mut missing: Vec<String> = (expected.iter().zip(&seen))
        .filter(|(_, seen)| !**seen)
        .map(|(file, _)| file.name.clone())
        .collect();
    if marker.is_none() {
        missing.insert(0, MARKER.to_owned());
    }
    let not_carried = manifest
        .entries
        .iter()
        .filter(|entry| !entry.carried)
        .count() as u64;
    let contents = ContentsCheck {
        missing,
        changed,
        extra,
        unlisted: listing.unreadable,
        intact_files,
        intact_bytes,
        not_carried,
        package: None,
    };
    Ok(VolumeCheck {
        marker,
        contents,
        package_here: package_here.is_some(),
    })
}

/// Hashes the expected files that are there, adding those not as listed to `changed`;
/// returns the count and bytes of those intact.
fn hash_expected(
    expected: &[Expected],
    seen: &[bool],
    jobs: Option<NonZeroUsize>,
    progress: &dyn Progress,
    changed: &mut Vec<Changed>,
) -> Result<(u64, u64), FolderError> {
    let to_hash: Vec<usize> = (0..expected.len()).filter(|&index| seen[index]).collect();
    let hashed = tree::hash_in_parallel(
        to_hash,
        |&index| expected[index].size,
        jobs,
        progress,
        |&index, buffer| hash_blake3(&expected[index].path, buffer, progress),
    )?;
    let (mut intact_files, mut intact_bytes) = (0, 0);
    for (index, result) in hashed {
        let file = &expected[index];
        match result {
            Ok((size, hash)) if size == file.size && hash == file.blake3.0 => {
                intact_files += 1;
                intact_bytes += size;
            }
            Ok((size, hash)) => changed.push(changed_file(
                file,
                Found::Content {
                    size,
                    blake3: Blake3Digest(hash),
                },
            )),
            Err(error) => changed.push(changed_file(
                file,
                Found::Unreadable {
                    error: error.to_string(),
                },
            )),
        }
    }
    Ok((intact_files, intact_bytes))
}

fn changed_file(file: &Expected, found: Found) -> Changed {
    Changed {
        path: file.name.clone(),
        expected_size: file.size,
        expected_blake3: file.blake3,
        found,
    }
}
