//! The disconnected side's workflow for a split transfer: volumes taken one at a time (or
//! several at once), in any order. Each passes the gate before anything of it is placed; its
//! whole files are copied into the content folder, hash-checked as they are; its chunks and
//! the package wait in the staging folder beside the content folder; a file whose chunks are
//! all in is joined, checked against its BLAKE3 and SHA-1, and only then renamed into place.
//! With the last volume the import proper runs once, as for single media.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use crate::atomic_file;
use crate::content::hash::{hash_file, with_read_buffer};
use crate::manifest::TransferMode;
use crate::manifest::{FileEntry, Manifest, Timestamp};
use crate::mirror::{self, ApplyOptions, Listing, PlanOptions, Rejected};
use crate::progress::{NoProgress, Phase};

use super::super::Media;
use super::super::events::{Events, Step};
use super::super::gate::{self, Against, MediaCheck};
use super::super::import::{
    ImportOptions, Imported, RECEIPT_FILE, beside_content, copy_content, copy_of,
    package_folder_of, prepare_to_record, run_wsusutil,
};
use super::super::outcome::{Outcome, Refusal, TransferError};
use super::super::private::PrivateFolder;
use super::super::receipt::Receipt;
use super::progress::{Progress, STAGING_FOLDER, transfer_id};
use super::{VolumeStep, chunk_path, copy_range, read_marker};

/// How far a split import came.
#[derive(Debug)]
pub enum VolumesImport {
    /// The volumes given are in; these are still needed.
    Waiting {
        sequence: u64,
        count: u32,
        taken: Vec<u32>,
        needed: Vec<u32>,
    },
    /// The last volume is in, and the import ran.
    Complete(Box<Imported>),
}

/// What one volume's taking did.
struct Taken {
    placed: u64,
    chunks: u64,
}

/// Takes the volumes at `volumes` in, telling `events` each step; with the last one in, runs
/// the import.
pub fn import(
    options: &ImportOptions,
    volumes: &[PathBuf],
    events: &dyn Events,
) -> Result<Outcome<VolumesImport>, TransferError> {
    let first = volumes.first().unwrap_or(&options.media);
    events.step(&Step::ImportStarted {
        media: first,
        content: &options.content,
        dry_run: options.dry_run,
    });
    let receipt_path = beside_content(&options.content, RECEIPT_FILE);
    let (_one_import, mut state) = prepare_to_record(&options.state, &receipt_path)?;
    let _one_copy = crate::mirror::lock_destination(&options.content)?;
    let staging = beside_content(&options.content, STAGING_FOLDER);
    // Each volume's package, if it holds it, is read once into a folder of this import's
    // own while the gate checks it; the staged copy is what is imported in the end.
    let package_folder = PrivateFolder::fresh(&package_folder_of(&options.state))
        .map_err(|error| TransferError::io(&package_folder_of(&options.state), "create", error))?;
    let mut progress = Progress::load(&staging);
    let mut last = None;
    for volume_path in volumes {
        let media = Media::new(volume_path);
        let against = Against {
            trust: &options.trust,
            state: &state,
            now: options.now,
            allow_already_accepted: false,
        };
        let check = proceed!(gate::pass(
            &media,
            &against,
            package_folder.path(),
            options.jobs,
            events,
        )?);
        let manifest = &check.verified.manifest;
        let marker = read_marker(volume_path).expect("a volume that passed the gate says which");
        let mut current = proceed!(follow(
            progress.take(),
            manifest,
            volume_path,
            &staging,
            events
        )?);
        if current.taken.contains(&marker.volume) {
            events.step(&Step::Volume(VolumeStep::AlreadyTaken {
                media: volume_path,
                volume: marker.volume,
            }));
        } else {
            let folder = current.folder(&staging);
            let taken = proceed!(take_volume(
                options,
                &media,
                &check,
                marker.volume,
                &folder,
                events
            )?);
            current.taken.push(marker.volume);
            let joined = join_whole(options, manifest, &current, &folder, events)?;
            current.save(&staging)?;
            events.step(&Step::Volume(VolumeStep::Taken {
                media: volume_path,
                volume: marker.volume,
                count: marker.count,
                placed: taken.placed,
                chunks: taken.chunks,
                joined,
            }));
        }
        progress = Some(current);
        last = Some((media, check));
    }
    let (Some(current), Some((media, check))) = (progress, last) else {
        return Err(TransferError::NoPackage {
            media: options.media.clone(),
        });
    };
    let needed = current.needed();
    if !needed.is_empty() {
        events.step(&Step::Volume(VolumeStep::Needed {
            sequence: current.sequence,
            needed: &needed,
        }));
        return Ok(Outcome::Done(VolumesImport::Waiting {
            sequence: current.sequence,
            count: current.count,
            taken: current.taken,
            needed,
        }));
    }
    let imported = proceed!(finish(
        options,
        &media,
        check,
        &current.folder(&staging),
        &mut state,
        events
    )?);
    remove_folder(&staging)?;
    Ok(Outcome::Done(VolumesImport::Complete(Box::new(imported))))
}

/// The progress to go on with for the volume at `volume_path`: the same transfer's, or a
/// fresh start when there is none or the one under way is older (its staging dropped). A
/// volume not newer than another transfer under way is refused.
fn follow(
    progress: Option<Progress>,
    manifest: &crate::manifest::Manifest,
    volume_path: &Path,
    staging: &Path,
    events: &dyn Events,
) -> Result<Outcome<Progress>, TransferError> {
    Ok(Outcome::Done(match progress {
        Some(current) if current.transfer == transfer_id(manifest) => current,
        Some(other) if other.sequence >= manifest.sequence => {
            return Ok(Outcome::Refused(Refusal::OtherTransfer {
                media: volume_path.to_owned(),
                sequence: manifest.sequence,
                in_progress: other.sequence,
                needed: other.needed(),
            }));
        }
        Some(older) => {
            remove_folder(&older.folder(staging))?;
            events.step(&Step::Volume(VolumeStep::Superseded {
                sequence: older.sequence,
            }));
            Progress::start(manifest)
        }
        None => Progress::start(manifest),
    }))
}

/// Places the volume's whole files into the content folder and stages its chunks and the
/// package; nothing not as signed is placed.
fn take_volume(
    options: &ImportOptions,
    media: &Media,
    check: &MediaCheck,
    volume: u32,
    folder: &Path,
    events: &dyn Events,
) -> Result<Outcome<Taken>, TransferError> {
    let manifest = &check.verified.manifest;
    let whole: Vec<FileEntry> = (manifest.entries.iter())
        .filter(|entry| entry.carried && entry.volume == Some(volume))
        .cloned()
        .collect();
    let placed = whole.len() as u64;
    if !whole.is_empty() {
        let plan_options = PlanOptions {
            mode: TransferMode::Incremental,
            full: false,
            quarantine: None,
            jobs: options.jobs,
        };
        let (_, applied) = mirror::plan_and_apply(
            &media.content(),
            &options.content,
            &Listing::Manifest(whole),
            &plan_options,
            Some(&ApplyOptions::default()),
            options.cache_folder.as_deref(),
            events,
        )?;
        let mut applied = applied.expect("the copy was carried out");
        if let Some(error) = applied.stopped.take() {
            return Err(error.into());
        }
        if !applied.rejected.is_empty() {
            return Ok(Outcome::Refused(Refusal::Rejected {
                rejected: applied.rejected,
            }));
        }
    }
    let mut staged = Vec::new();
    for entry in &manifest.entries {
        for chunk in entry.chunks.iter().filter(|chunk| chunk.volume == volume) {
            staged.push((
                chunk_path(&media.root, &entry.path, chunk.offset),
                chunk_path(folder, &entry.path, chunk.offset),
                format!("{}/{}.{}", super::CHUNKS_FOLDER, entry.path, chunk.offset),
                chunk.size,
                chunk.blake3,
            ));
        }
    }
    let package = manifest.package.as_ref();
    if let Some(package) = package.filter(|_| {
        manifest
            .volumes
            .is_some_and(|set| set.package_volume == volume)
    }) {
        let name = package.name.as_str();
        staged.push((
            media.root.join(name),
            folder.join(name),
            name.to_owned(),
            package.size,
            package.blake3,
        ));
    }
    let chunks = staged.len() as u64;
    let progress = events.progress(Phase::Copying);
    progress.start(chunks, staged.iter().map(|staged| staged.3).sum());
    for (source, target, name, size, expected) in staged {
        let copied = copy_range(
            &source,
            0,
            size,
            &target,
            Some(expected.0),
            None,
            &*progress,
        )
        .map_err(|error| TransferError::io(&source, "stage", error))?;
        if copied != expected.0 {
            return Ok(Outcome::Refused(Refusal::Rejected {
                rejected: vec![Rejected {
                    path: format!("{}: {name}", media.root.display()),
                    expected,
                    found: crate::manifest::Blake3Digest(copied),
                    size,
                }],
            }));
        }
        progress.file_done();
    }
    Ok(Outcome::Done(Taken { placed, chunks }))
}

/// Joins every cut file whose chunks are all staged, checks it against its BLAKE3 and SHA-1,
/// renames it into place and drops its chunks. Returns how many were joined.
fn join_whole(
    options: &ImportOptions,
    manifest: &Manifest,
    current: &Progress,
    folder: &Path,
    events: &dyn Events,
) -> Result<u64, TransferError> {
    let ready = manifest.entries.iter().filter(|entry| {
        !entry.chunks.is_empty()
            && entry
                .chunks
                .iter()
                .all(|chunk| current.taken.contains(&chunk.volume))
    });
    let progress = events.progress(Phase::Copying);
    let mut joined = 0;
    for entry in ready {
        let target = entry.path.under(&options.content);
        let in_place = with_read_buffer(|buffer| hash_file(&target, buffer, &NoProgress))
            .is_ok_and(|digests| digests.blake3 == entry.blake3.0);
        if !in_place {
            join(entry, folder, &target, &*progress)?;
            joined += 1;
        }
        for chunk in &entry.chunks {
            let _ = fs::remove_file(chunk_path(folder, &entry.path, chunk.offset));
        }
    }
    Ok(joined)
}

/// Joins the staged chunks of `entry` into a temporary file beside `target`, and renames it
/// into place only when its BLAKE3 and SHA-1 are the signed ones.
fn join(
    entry: &FileEntry,
    folder: &Path,
    target: &Path,
    progress: &dyn crate::progress::Progress,
) -> Result<(), TransferError> {
    let parent = target.parent().unwrap_or(Path::new("."));
    let io_error = |error: io::Error| TransferError::io(target, "join", error);
    fs::create_dir_all(parent).map_err(io_error)?;
    let mut temporary = atomic_file::temporary_file_builder()
        .tempfile_in(parent)
        .map_err(io_error)?;
    let (mut blake3, mut sha1) = (blake3::Hasher::new(), Sha1::new());
    for chunk in &entry.chunks {
        let source = chunk_path(folder, &entry.path, chunk.offset);
        let mut input =
            File::open(&source).map_err(|error| TransferError::io(&source, "read", error))?;
        let mut buffer = vec![0u8; crate::content::hash::READ_CHUNK];
        loop {
            let read = io::Read::read(&mut input, &mut buffer)
                .map_err(|error| TransferError::io(&source, "read", error))?;
            if read == 0 {
                break;
            }
            blake3.update(&buffer[..read]);
            sha1.update(&buffer[..read]);
            temporary.write_all(&buffer[..read]).map_err(io_error)?;
            progress.bytes_read(read as u64);
        }
    }
    let sha1: [u8; 20] = sha1.finalize().into();
    let sha1_good = entry.sha1.is_none_or(|expected| expected.0 == sha1);
    if blake3.finalize() != entry.blake3.0 || !sha1_good {
        return Err(super::VolumesError::Joined {
            path: target.to_owned(),
        }
        .into());
    }
    temporary.as_file().sync_all().map_err(io_error)?;
    atomic_file::make_replaceable(target).map_err(io_error)?;
    temporary
        .persist(target)
        .map_err(|error| io_error(error.error))?;
    atomic_file::sync_folder(parent);
    Ok(())
}

/// The import proper, once every volume is in: deletions and the completeness proof through
/// the copy engine (from an empty folder: everything must already be in place), wsusutil on
/// the staged package, then the trust state and the receipt.
fn finish(
    options: &ImportOptions,
    last: &Media,
    mut check: MediaCheck,
    folder: &Path,
    state: &mut crate::manifest::trust::TrustState,
    events: &dyn Events,
) -> Result<Outcome<Imported>, TransferError> {
    let staged = Media::new(folder);
    fs::create_dir_all(staged.content())
        .map_err(|error| TransferError::io(&staged.content(), "create", error))?;
    let manifest = check.verified.manifest.clone();
    if let Some(package) = &manifest.package {
        // The staged package, hash-checked as it was taken off its volume: the one parsed,
        // and the one wsusutil is given.
        let staged_package = package.name.under(folder);
        let package = crate::package::open(&staged_package)?;
        check.package_copy = Some(staged_package);
        let gaps: Vec<String> = manifest.gaps.iter().map(ToString::to_string).collect();
        check.gap_updates = crate::check::updates_needing(&package, &gaps);
        check.acknowledged_gaps = gaps;
        check.package = Some(package);
    }
    let (copied, files) = proceed!(copy_content(options, &staged, &check, events)?);
    let recheck = proceed!(gate::plan_copy(
        &staged,
        &check,
        &copy_of(options, false),
        events
    )?)
    .0
    .totals;
    let changed = recheck.copy_files + recheck.replace_files;
    if changed > 0 {
        return Err(TransferError::ChangedDuringImport {
            content: options.content.clone(),
            changed,
        });
    }
    run_wsusutil(options, &staged, &check, events)?;
    let now = Timestamp::new(options.now);
    let key_id = check.verified.key_id;
    state.accept(
        key_id,
        manifest.sequence,
        now,
        check.verified.manifest_blake3,
    );
    state.save(&options.state)?;
    let receipt_path = beside_content(&options.content, RECEIPT_FILE);
    let receipt = Receipt::new(
        key_id.to_string(),
        manifest.sequence,
        now,
        &manifest.entries,
    );
    receipt.write(&receipt_path)?;
    if let Err(error) = receipt.write(&last.file(Media::RECEIPT)) {
        events.step(&Step::ReceiptNotOnMedia {
            error: &error,
            kept_at: &receipt_path,
        });
    }
    events.step(&Step::Imported {
        sequence: manifest.sequence,
        receipt: &receipt_path,
    });
    Ok(Outcome::Done(Imported {
        media: last.root.clone(),
        check,
        copied,
        files,
        quarantine: options.quarantine.clone(),
        receipt: Some(receipt_path),
        reset: options.reset,
        already_imported: None,
    }))
}

fn remove_folder(folder: &Path) -> Result<(), TransferError> {
    match fs::remove_dir_all(folder) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(TransferError::io(folder, "remove", error))
        }
        _ => Ok(()),
    }
}

/// Imports `media`: volumes of a split transfer through [`import`], single media as ever.
pub fn import_any(
    options: &ImportOptions,
    media: &[PathBuf],
    events: &dyn Events,
) -> Result<Outcome<VolumesImport>, TransferError> {
    let first = media.first().unwrap_or(&options.media);
    if !super::is_volume(first) {
        let options = ImportOptions {
            media: first.clone(),
            ..options.clone()
        };
        let outcome = super::super::import(&options, events)?;
        return Ok(match outcome {
            Outcome::Done(imported) => Outcome::Done(VolumesImport::Complete(Box::new(imported))),
            Outcome::Refused(refusal) => Outcome::Refused(refusal),
        });
    }
    if options.dry_run {
        return Err(super::VolumesError::DryRun.into());
    }
    import(options, media, events)
}

/// A split import still waiting for volumes, as `--json` reports it (`result`: `waiting`).
#[derive(Debug, serde::Serialize)]
pub struct WaitingReport<'a> {
    pub result: &'static str,
    pub sequence: u64,
    pub volumes: u32,
    pub taken: &'a [u32],
    pub needed: &'a [u32],
}

impl VolumesImport {
    /// The report of a split import still waiting; `None` once complete.
    pub fn waiting_report(&self) -> Option<WaitingReport<'_>> {
        match self {
            VolumesImport::Waiting {
                sequence,
                count,
                taken,
                needed,
            } => Some(WaitingReport {
                result: "waiting",
                sequence: *sequence,
                volumes: *count,
                taken,
                needed,
            }),
            VolumesImport::Complete(_) => None,
        }
    }
}

/// `volumes taken: 1, 3 of 4; still needed: 2, 4` and the result line.
impl std::fmt::Display for VolumesImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use super::Numbers;
        match self {
            VolumesImport::Waiting {
                sequence,
                count,
                taken,
                needed,
            } => write!(
                f,
                "volumes taken: {} of {count}\nstill needed: {}\nresult: waiting for {} more \
                 volume(s) of sequence {sequence}; nothing is imported until the last is in",
                Numbers(taken),
                Numbers(needed),
                needed.len()
            ),
            VolumesImport::Complete(imported) => {
                write!(f, "result: imported sequence {}", imported.sequence())
            }
        }
    }
}
