//! The connected side's workflow for a transfer split over volumes: the same steps as a
//! single-media export up to the manifest, then the carried files packed into volumes, each
//! volume written and hash-checked, and every volume signed last, after all were written.

use std::fs;
use std::path::Path;

use crate::atomic_file::{self, Access, Existing};
use crate::manifest::create::{self, Written};
use crate::manifest::keys::{KeyId, SecretKey};
use crate::manifest::volumes::{Chunk, VolumeSet};
use crate::manifest::{Blake3Digest, Manifest, SIGNATURE_FILE};
use crate::mirror::PlanTotals;
use crate::progress::Phase;
use crate::volumes::{Placed, VolumePlan, plan};

use super::super::events::{Events, Step};
use super::super::export::{
    ExportOptions, Exported, PackageSource, build_manifest, obtain_package, place_package,
    references_covered, remove_if_present,
};
use super::super::outcome::{Outcome, TransferError};
use super::super::private::PrivateFolder;
use super::super::receipt::Receipt;
use super::super::{Media, sequence};
use super::{
    MARKER, Marker, VolumeStep, VolumesError, chunk_path, copy_range, readme_text, volume_folder,
    whole_path,
};

/// How large the volumes may be.
#[derive(Debug, Clone, Copy)]
pub struct VolumeOptions {
    /// No volume holds more bytes of files than this.
    pub volume_size: u64,
    /// No file on a volume is larger than this (4 GiB − 1 for FAT32).
    pub max_file_size: Option<u64>,
}

/// Runs the export onto volumes, telling `events` each step.
pub fn export(
    options: &ExportOptions,
    volumes: &VolumeOptions,
    events: &dyn Events,
) -> Result<Outcome<Exported>, TransferError> {
    if options.dry_run && matches!(options.package, PackageSource::Wsusutil(_)) {
        return Err(TransferError::DryRunNeedsPackage);
    }
    let secret = SecretKey::read(&options.key)?;
    let key_id = secret.public().id;
    let work = (!options.dry_run).then_some("export signing with this key");
    let claim = sequence::Claim::take(&options.key, options.sequence, work)?;
    let media = Media::new(&options.media);
    events.step(&Step::ExportStarted {
        content: &options.content,
        media: &options.media,
        sequence: claim.sequence,
        key_id,
        mode: options.mode,
        dry_run: options.dry_run,
    });
    if claim.is_not_newer() {
        events.step(&Step::SequenceNotNewer {
            sequence: claim.sequence,
            last: claim.last,
        });
    }
    let receipt = options.since.as_deref().map(Receipt::read).transpose()?;
    if !options.dry_run {
        unsign_old_media(&media)?;
    }
    // The package is read once, into a folder of this export's own; that copy is described,
    // and that copy goes onto its volume.
    let private = match (&options.package, options.dry_run) {
        (PackageSource::Given(_), true) => None,
        _ => Some(PrivateFolder::temporary().map_err(|error| {
            TransferError::io(&std::env::temp_dir(), "create a folder in", error)
        })?),
    };
    let package_path = obtain_package(options, &media, private.as_ref(), events)?;
    let mut created = proceed!(build_manifest(
        options,
        &package_path,
        claim.sequence,
        events
    )?);
    let package = created.package.take().expect("a package was given");
    events.step(&Step::PackageRead {
        path: &package_path,
        updates: package.updates.len(),
    });
    let mut manifest = created.manifest;
    manifest.gaps = proceed!(references_covered(options, &package, &manifest, events)?);
    let held = receipt
        .as_ref()
        .map_or(0, |receipt| receipt.mark_held(&mut manifest.entries));
    let planned = pack(&mut manifest, volumes)?;
    let chunks = manifest
        .entries
        .iter()
        .map(|entry| entry.chunks.len())
        .sum();
    events.step(&Step::Volume(VolumeStep::Planned {
        count: planned.count,
        volume_size: volumes.volume_size,
        chunks,
    }));
    let mut exported = Exported {
        media: options.media.clone(),
        package: package_path,
        held,
        staged: planned_totals(&planned, &manifest),
        written: None,
        manifest,
        key_id,
    };
    if options.dry_run {
        return Ok(Outcome::Done(exported));
    }
    exported.package = write_volumes(options, &media, &mut exported, &planned, events)?;
    exported.written = Some(sign_volumes(&exported.manifest, &secret, &media)?);
    claim.record()?;
    events.step(&Step::Signed {
        sequence: claim.sequence,
        files_listed: exported.manifest.totals.files,
        files_carried: exported.files_carried(),
    });
    Ok(Outcome::Done(exported))
}

/// Removes every signature an earlier export left in the media folder, and the volumes it
/// wrote: a half-written volume must never carry one.
fn unsign_old_media(media: &Media) -> Result<(), TransferError> {
    fs::create_dir_all(&media.root)
        .map_err(|error| TransferError::io(&media.root, "create the media folder", error))?;
    remove_if_present(&media.file(SIGNATURE_FILE))?;
    let listing =
        fs::read_dir(&media.root).map_err(|error| TransferError::io(&media.root, "list", error))?;
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let numbered = name
            .strip_prefix("volume-")
            .is_some_and(|number| number.len() >= 2 && number.bytes().all(|b| b.is_ascii_digit()));
        if numbered && entry.path().is_dir() {
            remove_if_present(&entry.path().join(SIGNATURE_FILE))?;
            fs::remove_dir_all(entry.path())
                .map_err(|error| TransferError::io(&entry.path(), "remove", error))?;
        }
    }
    Ok(())
}

/// Room on each volume for what is not content: the README, the marker and the signature.
const OVERHEAD: u64 = 4096;

/// Packs the carried entries into volumes and writes the plan into the manifest. The room
/// for the manifest itself depends on the plan, so the plan is made again until it fits.
fn pack(manifest: &mut Manifest, volumes: &VolumeOptions) -> Result<VolumePlan, VolumesError> {
    let carried: Vec<usize> = (0..manifest.entries.len())
        .filter(|&index| manifest.entries[index].carried)
        .collect();
    let sizes: Vec<u64> = carried
        .iter()
        .map(|&index| manifest.entries[index].size)
        .collect();
    let package = manifest.package.as_ref().map_or(0, |package| package.size);
    let mut reserve = create::to_bytes(manifest).len() as u64 + OVERHEAD;
    loop {
        let room = volumes
            .volume_size
            .checked_sub(reserve)
            .ok_or(crate::volumes::PlanError::NoRoom)?;
        let planned = plan(&sizes, package, room, volumes.max_file_size)?;
        record_plan(manifest, &carried, &planned, volumes);
        let needed = create::to_bytes(manifest).len() as u64 + OVERHEAD;
        if needed <= reserve {
            return Ok(planned);
        }
        reserve = needed + needed / 32;
    }
}

/// Writes `planned` into the manifest; chunk hashes are filled in as the chunks are written.
fn record_plan(
    manifest: &mut Manifest,
    carried: &[usize],
    planned: &VolumePlan,
    volumes: &VolumeOptions,
) {
    manifest.volumes = Some(VolumeSet {
        count: planned.count,
        volume_size: volumes.volume_size,
        max_file_size: volumes.max_file_size,
        package_volume: planned.package_volume,
    });
    let unknown = Blake3Digest(blake3::Hash::from_bytes([0; 32]));
    for (&index, placed) in carried.iter().zip(&planned.files) {
        let entry = &mut manifest.entries[index];
        (entry.volume, entry.chunks) = match placed {
            Placed::Whole(volume) => (Some(*volume), Vec::new()),
            Placed::Chunks(pieces) => (
                None,
                pieces
                    .iter()
                    .map(|piece| Chunk {
                        volume: piece.volume,
                        offset: piece.offset,
                        size: piece.size,
                        blake3: unknown,
                    })
                    .collect(),
            ),
        };
    }
}

/// What the volumes hold, as staging totals: every carried file (or chunk) to copy.
fn planned_totals(planned: &VolumePlan, manifest: &Manifest) -> PlanTotals {
    let package = manifest.package.as_ref().map_or(0, |package| package.size);
    let carried = manifest.entries.iter().filter(|entry| entry.carried);
    PlanTotals {
        copy_files: carried.count() as u64,
        copy_bytes: planned.bytes.iter().sum::<u64>() - package,
        ..PlanTotals::default()
    }
}

/// Writes every volume's files: whole files checked against their hash, chunks hashed into
/// the manifest as they are cut (and their file checked whole), and the package moved onto
/// its volume. Returns where the package now is.
fn write_volumes(
    options: &ExportOptions,
    media: &Media,
    exported: &mut Exported,
    planned: &VolumePlan,
    events: &dyn Events,
) -> Result<std::path::PathBuf, TransferError> {
    let manifest = &mut exported.manifest;
    let progress = events.progress(Phase::Copying);
    progress.start(exported.staged.copy_files, exported.staged.copy_bytes);
    for entry in manifest.entries.iter_mut().filter(|entry| entry.carried) {
        let source = entry.path.under(&options.content);
        let changed = || VolumesError::SourceChanged {
            path: source.clone(),
        };
        let io_error = |error| VolumesError::io(&source, "copy onto the volume", error);
        if let Some(volume) = entry.volume {
            let target = whole_path(&volume_folder(&media.root, volume), &entry.path);
            let expected = Some(entry.blake3.0);
            let hash = copy_range(&source, 0, entry.size, &target, expected, None, &*progress)
                .map_err(io_error)?;
            if hash != entry.blake3.0 {
                return Err(changed().into());
            }
        } else {
            let mut whole = blake3::Hasher::new();
            for chunk in &mut entry.chunks {
                let folder = volume_folder(&media.root, chunk.volume);
                let target = chunk_path(&folder, &entry.path, chunk.offset);
                let hash = copy_range(
                    &source,
                    chunk.offset,
                    chunk.size,
                    &target,
                    None,
                    Some(&mut whole),
                    &*progress,
                )
                .map_err(io_error)?;
                chunk.blake3 = Blake3Digest(hash);
            }
            if whole.finalize() != entry.blake3.0 {
                return Err(changed().into());
            }
        }
        progress.file_done();
    }
    drop(progress);
    let package_folder = volume_folder(&media.root, planned.package_volume);
    fs::create_dir_all(&package_folder)
        .map_err(|error| TransferError::io(&package_folder, "create", error))?;
    let name = exported.package.file_name().unwrap_or_default();
    let package = package_folder.join(name);
    place_package(&exported.package, &package, &exported.manifest)?;
    for (index, bytes) in planned.bytes.iter().enumerate() {
        let volume = u32::try_from(index + 1).expect("a volume count fits");
        let folder = volume_folder(&media.root, volume);
        fs::create_dir_all(&folder).map_err(|error| TransferError::io(&folder, "create", error))?;
        events.step(&Step::Volume(VolumeStep::Written {
            volume,
            count: planned.count,
            bytes: *bytes,
        }));
    }
    Ok(package)
}

/// Writes each volume's README, marker and manifest, and only then each one's signature.
fn sign_volumes(
    manifest: &Manifest,
    secret: &SecretKey,
    media: &Media,
) -> Result<Written, TransferError> {
    let count = manifest.volumes.map_or(1, |set| set.count);
    let key_id: KeyId = secret.public().id;
    for volume in 1..=count {
        let folder = volume_folder(&media.root, volume);
        let marker = Marker { volume, count };
        let readme = readme_text(
            marker,
            manifest.sequence,
            &key_id.to_string(),
            &manifest.source.host,
        );
        let marker_bytes = serde_json::to_vec_pretty(&marker).expect("a marker serializes");
        for (name, bytes) in [(Media::README, readme.into_bytes()), (MARKER, marker_bytes)] {
            write_file(&folder.join(name), &bytes)?;
        }
    }
    let mut first = None;
    for volume in 1..=count {
        let written =
            create::sign_and_write(manifest, secret, &volume_folder(&media.root, volume))?;
        first.get_or_insert(written);
    }
    Ok(first.expect("there is at least one volume"))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TransferError> {
    atomic_file::write(path, bytes, Access::Shared, Existing::Replace)
        .map_err(|error| TransferError::io(path, "write", error))
}

/// Exports onto volumes when `volumes` are given, else onto single media as ever.
pub fn export_any(
    options: &ExportOptions,
    volumes: Option<&VolumeOptions>,
    events: &dyn Events,
) -> Result<Outcome<Exported>, TransferError> {
    match volumes {
        Some(volumes) => export(options, volumes, events),
        None => super::super::export(options, events),
    }
}
