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
use crate::mirror::{self, ApplyOptions, Listing, PlanOptions, PlanTotals, Rejected};
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
    /// A dry run: what taking the volumes given would do; nothing was changed.
    Preview {
        sequence: u64,
        count: u32,
        volumes: Vec<VolumePreview>,
        /// The volumes taken before this run, by earlier imports.
        taken: Vec<u32>,
        /// The volumes still needed once these are taken.
        needed: Vec<u32>,
    },
}

/// What taking one volume would do.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VolumePreview {
    pub media: PathBuf,
    pub volume: u32,
    /// Taken by an earlier import (or earlier in this run): nothing to do.
    pub taken_before: bool,
    /// The whole files it would place in the content folder (`copy`, `replace`) and those
    /// already there as signed (`unchanged`).
    pub place: PlanTotals,
    /// The chunks it would stage until their file is whole.
    pub chunks: u64,
    /// True when it holds the package, which would be staged until the last volume is in.
    pub package: bool,
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
        let (check, marker) = proceed!(pass_volume(
            options,
            &state,
            &media,
            package_folder.path(),
            events
        )?);
        let manifest = &check.verified.manifest;
        let mut current = proceed!(follow_and_drop(
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

/// Passes one volume through the gate against the trust `state`; with it, which volume it
/// says it is.
fn pass_volume(
    options: &ImportOptions,
    state: &crate::manifest::trust::TrustState,
    media: &Media,
    package_folder: &Path,
    events: &dyn Events,
) -> Result<Outcome<(MediaCheck, super::Marker)>, TransferError> {
    let against = Against {
        trust: &options.trust,
        state,
        now: options.now,
        allow_already_accepted: false,
    };
    let check = proceed!(gate::pass(
        media,
        &against,
        package_folder,
        options.jobs,
        events
    )?);
    let marker = read_marker(&media.root).expect("a volume that passed the gate says which");
    Ok(Outcome::Done((check, marker)))
}

/// Where a volume stands against the progress under way.
enum Follow {
    /// Go on with this progress: the same transfer's, or a fresh start.
    With(Progress),
    /// A newer transfer: the older one's staging (`dropped`) is to be dropped.
    Supersede { dropped: Progress, fresh: Progress },
}

/// The progress to go on with for the volume at `volume_path`: the same transfer's, or a
/// fresh start when there is none or the one under way is older. A volume not newer than
/// another transfer under way is refused.
fn follow(progress: Option<Progress>, manifest: &Manifest, volume_path: &Path) -> Outcome<Follow> {
    Outcome::Done(match progress {
        Some(current) if current.transfer == transfer_id(manifest) => Follow::With(current),
        Some(other) if other.sequence >= manifest.sequence => {
            return Outcome::Refused(Refusal::OtherTransfer {
                media: volume_path.to_owned(),
                sequence: manifest.sequence,
                in_progress: other.sequence,
                needed: other.needed(),
            });
        }
        Some(older) => Follow::Supersede {
            dropped: older,
            fresh: Progress::start(manifest),
        },
        None => Follow::With(Progress::start(manifest)),
    })
}

/// [`follow`], dropping the staging of a transfer a newer one supersedes.
fn follow_and_drop(
    progress: Option<Progress>,
    manifest: &Manifest,
    volume_path: &Path,
    staging: &Path,
    events: &dyn Events,
) -> Result<Outcome<Progress>, TransferError> {
    Ok(match follow(progress, manifest, volume_path) {
        Outcome::Done(Follow::With(current)) => Outcome::Done(current),
        Outcome::Done(Follow::Supersede { dropped, fresh }) => {
            remove_folder(&dropped.folder(staging))?;
            events.step(&Step::Volume(VolumeStep::Superseded {
                sequence: dropped.sequence,
            }));
            Outcome::Done(fresh)
        }
        Outcome::Refused(refusal) => Outcome::Refused(refusal),
    })
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
    let whole = whole_files(manifest, volume);
    let placed = whole.len() as u64;
    if !whole.is_empty() {
        let (_, applied) = place_whole(
            options,
            media,
            whole,
            Some(&ApplyOptions::default()),
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
    let staged = to_stage(manifest, &media.root, volume, folder);
    let chunks = staged.len() as u64;
    let progress = events.progress(Phase::Copying);
    progress.start(chunks, staged.iter().map(|staged| staged.size).sum());
    for Staged {
        source,
        target,
        name,
        size,
        expected,
    } in staged
    {
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

/// The files volume `volume` holds whole.
fn whole_files(manifest: &Manifest, volume: u32) -> Vec<FileEntry> {
    (manifest.entries.iter())
        .filter(|entry| entry.carried && entry.volume == Some(volume))
        .cloned()
        .collect()
}

/// Plans (and with `apply`, carries out) placing `whole`, files of the volume at `media`, in
/// the content folder.
fn place_whole(
    options: &ImportOptions,
    media: &Media,
    whole: Vec<FileEntry>,
    apply: Option<&ApplyOptions>,
    events: &dyn Events,
) -> Result<(mirror::Plan, Option<mirror::Applied>), TransferError> {
    let plan_options = PlanOptions {
        mode: TransferMode::Incremental,
        full: false,
        quarantine: None,
        jobs: options.jobs,
    };
    Ok(mirror::plan_and_apply(
        &media.content(),
        &options.content,
        &Listing::Manifest(whole),
        &plan_options,
        apply,
        options.cache_folder.as_deref(),
        events,
    )?)
}

/// A file a volume stages until its file is whole: a chunk, or the package.
struct Staged {
    source: PathBuf,
    target: PathBuf,
    /// As named in a refusal: `chunks/<path>.<offset>`, or the package's name.
    name: String,
    size: u64,
    expected: crate::manifest::Blake3Digest,
}

/// What volume `volume` (at `root`) stages into `folder`: its chunks, and the package if it
/// holds it.
fn to_stage(manifest: &Manifest, root: &Path, volume: u32, folder: &Path) -> Vec<Staged> {
    let mut staged = Vec::new();
    for entry in &manifest.entries {
        for chunk in entry.chunks.iter().filter(|chunk| chunk.volume == volume) {
            staged.push(Staged {
                source: chunk_path(root, &entry.path, chunk.offset),
                target: chunk_path(folder, &entry.path, chunk.offset),
                name: format!("{}/{}.{}", super::CHUNKS_FOLDER, entry.path, chunk.offset),
                size: chunk.size,
                expected: chunk.blake3,
            });
        }
    }
    if let Some(package) = (manifest.package.as_ref()).filter(|_| holds_package(manifest, volume)) {
        let name = package.name.as_str();
        staged.push(Staged {
            source: root.join(name),
            target: folder.join(name),
            name: name.to_owned(),
            size: package.size,
            expected: package.blake3,
        });
    }
    staged
}

/// True when volume `volume` is the one that carries the package.
fn holds_package(manifest: &Manifest, volume: u32) -> bool {
    (manifest.volumes).is_some_and(|set| set.package_volume == volume)
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

/// A dry run of [`import`]: each volume passes the gate, and what taking it would place and
/// stage is worked out against the content folder and the progress under way; nothing is
/// changed, not even the progress.
pub fn preview(
    options: &ImportOptions,
    volumes: &[PathBuf],
    events: &dyn Events,
) -> Result<Outcome<VolumesImport>, TransferError> {
    let first = volumes.first().unwrap_or(&options.media);
    events.step(&Step::ImportStarted {
        media: first,
        content: &options.content,
        dry_run: true,
    });
    let state = crate::manifest::trust::TrustState::load(&options.state)?;
    let package_folder = PrivateFolder::temporary()
        .map_err(|error| TransferError::io(&std::env::temp_dir(), "create a folder in", error))?;
    let earlier = Progress::load(&beside_content(&options.content, STAGING_FOLDER));
    let mut progress = earlier.clone();
    let mut previews = Vec::new();
    for volume_path in volumes {
        let media = Media::new(volume_path);
        let (check, marker) = proceed!(pass_volume(
            options,
            &state,
            &media,
            package_folder.path(),
            events
        )?);
        let manifest = &check.verified.manifest;
        let mut current = match proceed!(follow(progress.take(), manifest, volume_path)) {
            Follow::With(current) | Follow::Supersede { fresh: current, .. } => current,
        };
        let taken_before = current.taken.contains(&marker.volume);
        let (mut place, mut chunks, mut package) = (PlanTotals::default(), 0, false);
        if !taken_before {
            let whole = whole_files(manifest, marker.volume);
            place = place_whole(options, &media, whole, None, events)?.0.totals;
            package = holds_package(manifest, marker.volume) && manifest.package.is_some();
            chunks = (manifest.entries.iter().flat_map(|entry| &entry.chunks))
                .filter(|chunk| chunk.volume == marker.volume)
                .count() as u64;
            current.taken.push(marker.volume);
        }
        previews.push(VolumePreview {
            media: volume_path.clone(),
            volume: marker.volume,
            taken_before,
            place,
            chunks,
            package,
        });
        progress = Some(current);
    }
    let Some(current) = progress else {
        return Err(TransferError::NoPackage {
            media: options.media.clone(),
        });
    };
    let taken = earlier
        .filter(|earlier| earlier.transfer == current.transfer)
        .map(|earlier| earlier.taken)
        .unwrap_or_default();
    Ok(Outcome::Done(VolumesImport::Preview {
        sequence: current.sequence,
        count: current.count,
        volumes: previews,
        taken,
        needed: current.needed(),
    }))
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
        return preview(options, media, events);
    }
    import(options, media, events)
}

/// A split import still waiting for volumes (`result`: `waiting`), or its dry run
/// (`volumes-dry-run`), as `--json` reports it.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum VolumesReport<'a> {
    Waiting {
        result: &'static str,
        sequence: u64,
        volumes: u32,
        taken: &'a [u32],
        needed: &'a [u32],
    },
    Preview {
        result: &'static str,
        sequence: u64,
        volumes: u32,
        taken: &'a [u32],
        needed: &'a [u32],
        would_take: &'a [VolumePreview],
    },
}

impl VolumesImport {
    /// The report of a split import still waiting, or of its dry run; `None` once complete.
    pub fn report(&self) -> Option<VolumesReport<'_>> {
        match self {
            VolumesImport::Waiting {
                sequence,
                count,
                taken,
                needed,
            } => Some(VolumesReport::Waiting {
                result: "waiting",
                sequence: *sequence,
                volumes: *count,
                taken,
                needed,
            }),
            VolumesImport::Preview {
                sequence,
                count,
                volumes,
                taken,
                needed,
            } => Some(VolumesReport::Preview {
                result: "volumes-dry-run",
                sequence: *sequence,
                volumes: *count,
                taken,
                needed,
                would_take: volumes,
            }),
            VolumesImport::Complete(_) => None,
        }
    }
}

/// `volume 2 of 4 (media/volume-02): would place 3 files (12.5 KiB), stage 2 chunks`.
impl std::fmt::Display for VolumePreview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        let media = self.media.display().to_string();
        let media = crate::printable::printable(&media);
        if self.taken_before {
            return write!(
                f,
                "volume {} ({media}): taken before; nothing to do",
                self.volume
            );
        }
        let place = &self.place;
        write!(
            f,
            "volume {} ({media}): would place {} files ({}), {} already in place; stage {} \
             chunks{}",
            self.volume,
            HumanCount(place.copy_files + place.replace_files),
            HumanBytes(place.copy_bytes + place.replace_bytes),
            HumanCount(place.unchanged_files),
            HumanCount(self.chunks),
            if self.package { " and the package" } else { "" },
        )
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
                "volumes taken: {} (of {count})\nstill needed: {}\nresult: waiting for {} more \
                 volume(s) of sequence {sequence}; nothing is imported until the last is in",
                Numbers(taken),
                Numbers(needed),
                needed.len()
            ),
            VolumesImport::Preview {
                sequence,
                count,
                volumes,
                taken,
                needed,
            } => {
                for volume in volumes {
                    writeln!(f, "{volume}")?;
                }
                let taken = if taken.is_empty() {
                    "none".to_owned()
                } else {
                    Numbers(taken).to_string()
                };
                writeln!(f, "volumes taken before: {taken} (of {count})")?;
                if needed.is_empty() {
                    writeln!(
                        f,
                        "still needed: none; with these the import of sequence {sequence} \
                         would finish (completeness proof, wsusutil import)"
                    )?;
                } else {
                    writeln!(f, "still needed after these: {}", Numbers(needed))?;
                }
                write!(f, "result: dry run; nothing was changed")
            }
            VolumesImport::Complete(imported) => {
                write!(f, "result: imported sequence {}", imported.sequence())
            }
        }
    }
}
