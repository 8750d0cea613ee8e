//! Carrying out a plan, so that an interruption at any moment leaves a state the next run
//! repairs.
//!
//! Files are copied in batches. Each file of a batch is copied while hashed into a temporary
//! file (`.wsus-airgap-XXXXXX.tmp`) in its destination folder and given the source's
//! modification time; the batch is flushed to disk (one `syncfs` on Linux, each file as it is
//! written elsewhere); only then is each file renamed over its destination. The touched folders
//! are flushed at the end, before the hash cache is written. A crash leaves old files, new
//! files and temporary files, never a partial file under a real name. A copy whose bytes
//! differ from the manifest is discarded and reported, never put in place. A full disk or a
//! vanished source stops the run with the partial copy removed. A file that another program
//! holds open (a source being read, a destination being replaced or deleted) is tried again
//! for a few seconds ([`crate::retry`]), then stops the run with that file left as it was.
//! Deletions come last and only when everything before succeeded; `max_delete` refuses them
//! all when there are too many. A read-only file the plan replaces, deletes or quarantines
//! has the attribute cleared first, as Windows refuses to touch it otherwise; copies are
//! never read-only on Windows, whatever the source's attributes. Folders on the way are
//! checked to be real folders, so a link placed in the destination during the run is never
//! written through.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

use super::MirrorError;
use super::cache::{HashCache, Stamp};
use super::plan::{Action, ActionKind, Caches, Plan};
use crate::atomic_file::{make_replaceable, sync_file_system, sync_folder, temporary_file_builder};
use crate::content::hash::{read_chunks, with_read_buffer};
use crate::manifest::Blake3Digest;
use crate::progress::Progress;
use crate::retry::{self, HeldOpen};

/// Copies at once: each waits mostly on its flush to disk, so more run than there are CPUs.
const COPY_THREADS: usize = 8;

/// Brakes on a run.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Refuse every deletion if the plan deletes more than this many files.
    pub max_delete: Option<u64>,
    /// Where [`ActionKind::Quarantine`] moves extra files.
    pub quarantine: Option<PathBuf>,
}

/// A copied file whose bytes were not what the manifest promised; it was discarded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub path: String,
    pub expected: Blake3Digest,
    pub found: Blake3Digest,
    pub size: u64,
}

/// What happened to the plan's deletions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Deletions {
    /// Carried out (or there were none).
    Done,
    /// Not started: a copy failed or was rejected.
    SkippedAfterErrors,
    /// Not started: the plan deletes more than `--max-delete` allows.
    TooMany { planned: u64, max: u64 },
}

/// What a run did.
#[derive(Debug)]
pub struct Applied {
    /// The actions carried out, in order.
    pub done: Vec<Action>,
    pub rejected: Vec<Rejected>,
    pub deletions: Deletions,
    /// The error that stopped the run early, if any.
    pub stopped: Option<MirrorError>,
}

impl Applied {
    /// True when the destination now is what the plan said.
    pub fn is_complete(&self) -> bool {
        self.rejected.is_empty() && self.stopped.is_none() && self.deletions == Deletions::Done
    }
}

/// Carries out `plan`, recording what it wrote in the destination's hash cache.
pub fn apply(
    plan: &Plan,
    options: &ApplyOptions,
    caches: &mut Caches,
    progress: &dyn Progress,
) -> Applied {
    let copy_bytes = plan.totals.copy_bytes + plan.totals.replace_bytes;
    progress.start(
        plan.totals.copy_files + plan.totals.replace_files,
        copy_bytes,
    );
    let mut run = Run {
        plan,
        caches,
        progress,
        touched: BTreeSet::new(),
        applied: Applied {
            done: Vec::new(),
            rejected: Vec::new(),
            deletions: Deletions::Done,
            stopped: None,
        },
    };
    let is_deletion = |action: &&Action| {
        matches!(
            action.kind,
            ActionKind::Delete | ActionKind::Quarantine | ActionKind::DeleteFolder
        )
    };
    let is_copy = |action: &&Action| matches!(action.kind, ActionKind::Copy | ActionKind::Replace);
    let (deletions, before): (Vec<&Action>, Vec<&Action>) =
        plan.actions.iter().partition(is_deletion);
    let (copies, setup): (Vec<&Action>, Vec<&Action>) = before.into_iter().partition(is_copy);
    // The destination itself may be new, parents and all (a first import).
    let destination_ready = if plan.actions.is_empty() {
        Ok(())
    } else {
        fs::create_dir_all(&plan.destination).map_err(|source| MirrorError::Io {
            path: plan.destination.clone(),
            source,
        })
    };
    if let Err(error) =
        destination_ready.and_then(|()| setup.into_iter().try_for_each(|action| run.step(action)))
    {
        run.applied.stopped = Some(error);
    }
    if run.applied.stopped.is_none() {
        run.copy_all(&copies);
    }
    let planned = plan.deletions();
    run.applied.deletions = if run.applied.stopped.is_some() || !run.applied.rejected.is_empty() {
        if deletions.is_empty() {
            Deletions::Done
        } else {
            Deletions::SkippedAfterErrors
        }
    } else if let Some(max) = options.max_delete.filter(|&max| planned > max) {
        Deletions::TooMany { planned, max }
    } else {
        for action in deletions {
            if let Err(error) = run.delete(action, options.quarantine.as_deref()) {
                run.applied.stopped = Some(error);
                break;
            }
        }
        Deletions::Done
    };
    for folder in &run.touched {
        sync_folder(folder);
    }
    run.applied
}

/// The state of one run.
struct Run<'a> {
    plan: &'a Plan,
    caches: &'a mut Caches,
    progress: &'a dyn Progress,
    /// Folders whose entries changed, flushed at the end.
    touched: BTreeSet<PathBuf>,
    applied: Applied,
}

impl Run<'_> {
    fn step(&mut self, action: &Action) -> Result<(), MirrorError> {
        let destination = &self.plan.destination;
        let target = action.path.under(destination);
        match action.kind {
            ActionKind::RemoveTemporary => {
                remove_entry(&target).map_err(|source| MirrorError::Io {
                    path: target.clone(),
                    source,
                })?;
                self.touch(&target);
            }
            ActionKind::CreateFolder => {
                real_folders(destination, action.path.as_str(), true)?;
                self.touch(&target);
            }
            ActionKind::Copy | ActionKind::Replace => unreachable!("copies run in copy_all"),
            ActionKind::Delete | ActionKind::Quarantine | ActionKind::DeleteFolder => {
                unreachable!("deletions are carried out after the copies")
            }
        }
        self.applied.done.push(action.clone());
        Ok(())
    }

    /// Copies files in batches: each batch is staged several files at a time into temporary
    /// files, flushed to disk, renamed into place, then recorded in plan order. After an error
    /// no further copy starts; the files staged before it are still put in place.
    fn copy_all(&mut self, copies: &[&Action]) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(COPY_THREADS)
            .thread_name(|i| format!("copy-{i}"))
            .build()
            // No threads to be had: copy one at a time.
            .ok();
        let (plan, progress) = (self.plan, self.progress);
        for batch in batches(copies) {
            let stop = AtomicBool::new(false);
            let staged = in_pool(pool.as_ref(), batch.to_vec(), |action| {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                let result =
                    with_read_buffer(|buffer| stage_action(plan, action, buffer, progress));
                progress.file_done();
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                Some(result)
            });
            if let Err(error) = flush_staged(&plan.destination, &staged) {
                self.applied.stopped = Some(error);
                return;
            }
            let placed = in_pool(
                pool.as_ref(),
                batch.iter().zip(staged).collect(),
                |(action, staged)| {
                    Some(staged?.and_then(|staged| put_in_place(plan, action, staged)))
                },
            );
            for (action, result) in batch.iter().zip(placed) {
                match result {
                    None => {}
                    Some(Err(error)) => {
                        self.applied.stopped.get_or_insert(error);
                    }
                    Some(Ok(placed)) => self.record(action, placed),
                }
            }
            if self.applied.stopped.is_some() {
                return;
            }
        }
    }

    /// Records a copy's outcome in the hash caches and the run's results.
    fn record(&mut self, action: &Action, placed: Placed) {
        match placed {
            Placed::Rejected(rejected) => self.applied.rejected.push(rejected),
            Placed::Written {
                size,
                blake3,
                source,
                written,
            } => {
                record(
                    &mut self.caches.destination,
                    action.path.as_str(),
                    size,
                    written,
                    blake3,
                );
                if !self.plan.from_manifest {
                    record(
                        &mut self.caches.source,
                        action.path.as_str(),
                        size,
                        source,
                        blake3,
                    );
                }
                self.touch(&action.path.under(&self.plan.destination));
                self.applied.done.push(action.clone());
            }
        }
    }

    fn delete(&mut self, action: &Action, quarantine: Option<&Path>) -> Result<(), MirrorError> {
        let destination = &self.plan.destination;
        let target = action.path.under(destination);
        // The folders on the way must still be real folders: never delete through a link.
        real_folders(destination, action.path.parent(), false)?;
        let io_error = |source| MirrorError::Io {
            path: target.clone(),
            source,
        };
        match action.kind {
            ActionKind::Delete => {
                make_replaceable(&target).map_err(io_error)?;
                while_held_open(|| {
                    remove_entry(&target).map_err(|source| target_error(&target, source))
                })?;
            }
            ActionKind::Quarantine => {
                let quarantine = quarantine.expect("a quarantine plan has a quarantine folder");
                let moved = action.path.under(quarantine);
                if let Some(folder) = moved.parent() {
                    fs::create_dir_all(folder).map_err(|source| MirrorError::Io {
                        path: folder.to_owned(),
                        source,
                    })?;
                }
                make_replaceable(&target).map_err(io_error)?;
                while_held_open(|| {
                    move_entry(&target, &moved).map_err(|source| target_error(&target, source))
                })?;
            }
            ActionKind::DeleteFolder => fs::remove_dir(&target).map_err(io_error)?,
            _ => unreachable!("only deletions are carried out last"),
        }
        self.caches.destination.forget(action.path.as_str());
        self.touch(&target);
        self.applied.done.push(action.clone());
        Ok(())
    }

    fn touch(&mut self, path: &Path) {
        if let Some(folder) = path.parent() {
            self.touched.insert(folder.to_owned());
        }
    }
}

/// Records a file's hash under its time and stamp, or forgets it when they are not known.
fn record(
    cache: &mut HashCache,
    path: &str,
    size: u64,
    stamped: Option<(SystemTime, Stamp)>,
    blake3: Blake3Digest,
) {
    match stamped {
        Some((modified, stamp)) => cache.record(path, size, modified, stamp, blake3),
        None => cache.forget(path),
    }
}

/// `work` applied to every item, on `pool` when there is one, results in item order.
fn in_pool<T: Send, R: Send>(
    pool: Option<&rayon::ThreadPool>,
    items: Vec<T>,
    work: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    match pool {
        // One item per job: a slow file must not hold up a run of others behind it.
        Some(pool) => pool.install(|| items.into_par_iter().with_max_len(1).map(work).collect()),
        None => items.into_iter().map(work).collect(),
    }
}

/// What became of a staged file.
enum Placed {
    Written {
        size: u64,
        blake3: Blake3Digest,
        /// The source's modification time and stamp, as they were before it was read.
        source: Option<(SystemTime, Stamp)>,
        /// The written file's, as they are once it is in place.
        written: Option<(SystemTime, Stamp)>,
    },
    /// Its bytes were not what the manifest promised: discarded, never put in place.
    Rejected(Rejected),
}

/// Renames a flushed file into place, or discards it if its bytes are not the expected ones.
fn put_in_place(plan: &Plan, action: &Action, staged: Staged) -> Result<Placed, MirrorError> {
    if let Some(expected) = action
        .expected
        .filter(|&expected| expected != staged.blake3)
    {
        // Dropping the temporary file deletes it.
        return Ok(Placed::Rejected(Rejected {
            path: action.path.to_string(),
            expected,
            found: staged.blake3,
            size: staged.size,
        }));
    }
    let target = action.path.under(&plan.destination);
    if action.kind == ActionKind::Replace {
        make_replaceable(&target).map_err(|source| MirrorError::Io {
            path: target.clone(),
            source,
        })?;
    }
    // Each failed attempt hands the temporary file back; after the last it is dropped, and so
    // deleted.
    let mut temporary = Some(staged.temporary);
    while_held_open(|| {
        let pending = temporary
            .take()
            .expect("handed back by every failed attempt");
        pending.persist(&target).map_err(|error| {
            temporary = Some(error.path);
            target_error(&target, error.error)
        })
    })?;
    // Read once the file is in place: the rename itself changes the change time.
    let written_modified = fs::symlink_metadata(&target)
        .ok()
        .and_then(|m| m.modified().ok());
    let written = written_modified.zip(Stamp::of_path(&target).ok());
    Ok(Placed::Written {
        size: staged.size,
        blake3: staged.blake3,
        source: staged
            .source_stamp
            .map(|stamp| (staged.source_modified, stamp)),
        written,
    })
}

/// Files copied and flushed together: the flush (one `syncfs` on Linux) and the renames
/// happen once per batch. A crash loses at most one batch's work.
const BATCH_FILES: usize = 4096;
const BATCH_BYTES: u64 = 1 << 30;

/// `copies` cut into batches of at most [`BATCH_FILES`] files and, unless a single file is
/// larger, [`BATCH_BYTES`] bytes.
fn batches<'a, 'b>(copies: &'a [&'b Action]) -> impl Iterator<Item = &'a [&'b Action]> {
    let mut rest = copies;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0u64;
        let mut end = 0;
        while end < rest.len() && end < BATCH_FILES {
            bytes = bytes.saturating_add(rest[end].size);
            if end > 0 && bytes > BATCH_BYTES {
                break;
            }
            end += 1;
        }
        let (batch, remaining) = rest.split_at(end);
        rest = remaining;
        Some(batch)
    })
}

/// Whether each file is flushed as it is written. Linux flushes a whole batch at once with
/// `syncfs` instead: one journal commit rather than one per file.
const FLUSH_EACH_FILE: bool = !cfg!(target_os = "linux");

/// A file copied into a temporary file beside its target, not yet renamed into place.
struct Staged {
    /// Deleted when dropped, unless renamed into place.
    temporary: tempfile::TempPath,
    size: u64,
    blake3: Blake3Digest,
    source_modified: SystemTime,
    /// The source's stamp before it was read.
    source_stamp: Option<Stamp>,
}

/// Makes the staged files of a batch durable before any of them is renamed into place.
fn flush_staged(
    destination: &Path,
    staged: &[Option<Result<Staged, MirrorError>>],
) -> Result<(), MirrorError> {
    if FLUSH_EACH_FILE {
        return Ok(());
    }
    let files: Vec<&Path> = staged
        .iter()
        .filter_map(|result| result.as_ref()?.as_ref().ok())
        .map(|staged| &*staged.temporary)
        .collect();
    if files.is_empty() || sync_file_system(destination).is_ok() {
        return Ok(());
    }
    // The file system could not be flushed as a whole: flush each file.
    files.into_iter().try_for_each(|path| {
        File::open(path)
            .and_then(|file| file.sync_all())
            .map_err(|source| MirrorError::Io {
                path: path.to_owned(),
                source,
            })
    })
}

/// Stages a file of the plan, making its folder if needed.
fn stage_action(
    plan: &Plan,
    action: &Action,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> Result<Staged, MirrorError> {
    real_folders(&plan.destination, action.path.parent(), true)?;
    let source = action.path.under(&plan.source);
    let target = action.path.under(&plan.destination);
    while_held_open(|| stage_file(&source, &target, buffer, progress))
}

/// Runs `attempt` again while it fails with [`MirrorError::HeldOpen`] (see [`crate::retry`]).
fn while_held_open<T>(attempt: impl FnMut() -> Result<T, MirrorError>) -> Result<T, MirrorError> {
    retry::while_held_open(
        |error| matches!(error, MirrorError::HeldOpen { .. }),
        attempt,
    )
}

/// An error renaming over, deleting or moving the destination file `target`.
fn target_error(target: &Path, source: io::Error) -> MirrorError {
    match HeldOpen::of_target(&source, target) {
        Some(held) => MirrorError::HeldOpen {
            path: target.to_owned(),
            source: held,
        },
        None => MirrorError::Io {
            path: target.to_owned(),
            source,
        },
    }
}

/// Copies `source` into a temporary file beside `target`, hashing on the way, and gives it
/// the source's modification time. The temporary file is deleted on every error.
fn stage_file(
    source: &Path,
    target: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> Result<Staged, MirrorError> {
    let source_error = |error: io::Error| {
        if let Some(held) = HeldOpen::of(&error) {
            MirrorError::HeldOpen {
                path: source.to_owned(),
                source: held,
            }
        } else if error.kind() == io::ErrorKind::NotFound {
            MirrorError::SourceVanished {
                path: source.to_owned(),
            }
        } else {
            MirrorError::Io {
                path: source.to_owned(),
                source: error,
            }
        }
    };
    let target_error = |error: io::Error| staging_error(target, error);
    let mut input = File::open(source).map_err(source_error)?;
    let metadata = input.metadata().map_err(source_error)?;
    if !metadata.is_file() {
        return Err(MirrorError::NotAFile {
            path: source.to_owned(),
        });
    }
    let source_modified = metadata.modified().map_err(source_error)?;
    let source_stamp = Stamp::of_file(&input).ok();
    let folder = target.parent().unwrap_or(Path::new("."));
    // Dropped (and so deleted) on every path that does not rename it into place.
    let mut temporary = temporary_file_builder()
        .tempfile_in(folder)
        .map_err(target_error)?;
    let mut hasher = blake3::Hasher::new();
    let size = read_chunks(&mut input, buffer, progress, source_error, |chunk| {
        hasher.update(chunk);
        temporary.write_all(chunk).map_err(target_error)
    })?;
    let file = temporary.as_file();
    if FLUSH_EACH_FILE {
        file.sync_all().map_err(target_error)?;
    }
    file.set_modified(source_modified).map_err(target_error)?;
    #[cfg(unix)]
    file.set_permissions(metadata.permissions())
        .map_err(target_error)?;
    Ok(Staged {
        // Closed now: a batch holds thousands of files.
        temporary: temporary.into_temp_path(),
        size,
        blake3: Blake3Digest(hasher.finalize()),
        source_modified,
        source_stamp,
    })
}

/// An error writing the temporary file beside `target`: a full disk is named as such.
fn staging_error(target: &Path, error: io::Error) -> MirrorError {
    if error.kind() == io::ErrorKind::StorageFull {
        MirrorError::DestinationFull {
            path: target.to_owned(),
        }
    } else {
        MirrorError::Io {
            path: target.to_owned(),
            source: error,
        }
    }
}

/// Makes sure `relative` below `root` is a chain of real folders, refusing a link or a file
/// anywhere on the way; with `create`, folders that are missing are made, else they are
/// refused too.
fn real_folders(root: &Path, relative: &str, create: bool) -> Result<(), MirrorError> {
    let mut path = root.to_owned();
    if create {
        real_folder(&path, create)?;
    }
    for part in relative.split('/').filter(|part| !part.is_empty()) {
        path.push(part);
        real_folder(&path, create)?;
    }
    Ok(())
}

fn real_folder(path: &Path, create: bool) -> Result<(), MirrorError> {
    let in_the_way = |found: &str| MirrorError::InTheWay {
        path: path.to_owned(),
        found: found.into(),
        needed: "a folder",
    };
    let io_error = |source| MirrorError::Io {
        path: path.to_owned(),
        source,
    };
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(in_the_way("a link or file")),
        Err(error) if error.kind() == io::ErrorKind::NotFound && !create => {
            Err(in_the_way("nothing"))
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => match fs::create_dir(path) {
            Ok(()) => Ok(()),
            // Another copy made it meanwhile: look again.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => real_folder(path, create),
            Err(source) => Err(io_error(source)),
        },
        Err(source) => Err(io_error(source)),
    }
}

/// Removes a file or a link itself (never what a link points to).
fn remove_entry(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        // A link to a folder on Windows is removed as a folder; it is not followed.
        Err(error) if cfg!(windows) && fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
            fs::remove_dir(path).map_err(|_| error)
        }
        other => other,
    }
}

/// Moves a file into quarantine: a rename, or a copy and removal across file systems.
fn move_entry(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(error)
            if error.kind() == io::ErrorKind::CrossesDevices
                && fs::symlink_metadata(from).is_ok_and(|m| m.is_file()) =>
        {
            fs::copy(from, to)?;
            File::open(to)?.sync_all()?;
            fs::remove_file(from)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::TransferMode;
    use crate::mirror::ActionPath;
    use crate::mirror::plan::{Listing, PlanOptions, plan};
    use crate::progress::NoProgress;
    use crate::relpath::RelPath;
    use std::sync::Mutex;

    /// Two sides in a temporary folder: `files` written under `source/` and `destination/`.
    struct Sides {
        folder: tempfile::TempDir,
    }

    impl Sides {
        fn new(source: &[(&str, &[u8])], destination: &[(&str, &[u8])]) -> Self {
            let sides = Sides {
                folder: tempfile::tempdir().unwrap(),
            };
            for (root, files) in [("source", source), ("destination", destination)] {
                fs::create_dir(sides.folder.path().join(root)).unwrap();
                for (relative, bytes) in files {
                    let path = sides.folder.path().join(root).join(relative);
                    fs::create_dir_all(path.parent().unwrap()).unwrap();
                    fs::write(path, bytes).unwrap();
                }
            }
            sides
        }

        fn source(&self) -> PathBuf {
            self.folder.path().join("source")
        }

        fn destination(&self) -> PathBuf {
            self.folder.path().join("destination")
        }

        fn plan(&self, mode: TransferMode, quarantine: Option<PathBuf>) -> (Plan, Caches) {
            let options = PlanOptions {
                mode,
                full: false,
                quarantine,
                jobs: None,
            };
            plan(
                &self.source(),
                &self.destination(),
                &Listing::Scan,
                &options,
                |_| HashCache::default(),
                &NoProgress,
            )
            .unwrap()
        }
    }

    fn run(plan: &Plan, caches: &mut Caches, quarantine: Option<PathBuf>) -> Applied {
        let options = ApplyOptions {
            max_delete: None,
            quarantine,
        };
        apply(plan, &options, caches, &NoProgress)
    }

    fn stamped(path: &Path) -> (SystemTime, Option<Stamp>) {
        let modified = fs::metadata(path).unwrap().modified().unwrap();
        (modified, Stamp::of_path(path).ok())
    }

    /// `applied` stopped because `found` was at `path` where a folder was needed.
    fn assert_stopped_by_what_is_in_the_way(applied: &Applied, path: &Path, found: &str) {
        assert!(
            matches!(&applied.stopped, Some(MirrorError::InTheWay { path: at, found: what, .. })
                if at == path && what == found),
            "{:?}",
            applied.stopped
        );
    }

    /// Remembers what the run announced at its start.
    #[derive(Default)]
    struct Announced(Mutex<Vec<(u64, u64)>>);

    impl Progress for Announced {
        fn start(&self, files: u64, bytes: u64) {
            self.0.lock().unwrap().push((files, bytes));
        }
    }

    #[test]
    fn the_run_announces_every_copy_and_replacement_and_both_caches_remember_them() {
        let sides = Sides::new(
            &[("00/new.cab", b"new"), ("01/changed.cab", b"fresh")],
            &[("01/changed.cab", b"old!")],
        );
        let (plan, mut caches) = sides.plan(TransferMode::Incremental, None);
        let announced = Announced::default();
        let applied = apply(&plan, &ApplyOptions::default(), &mut caches, &announced);
        assert!(applied.is_complete(), "{applied:?}");
        // One new file of 3 bytes and one replacement of 5.
        assert_eq!(*announced.0.lock().unwrap(), [(2, 8)]);
        for (relative, bytes) in [("00/new.cab", &b"new"[..]), ("01/changed.cab", b"fresh")] {
            let expected = Blake3Digest(blake3::hash(bytes));
            let size = bytes.len() as u64;
            for (cache, root) in [
                (&caches.destination, sides.destination()),
                (&caches.source, sides.source()),
            ] {
                let (modified, stamp) = stamped(&root.join(relative));
                assert_eq!(
                    cache.lookup(relative, size, modified, || stamp),
                    Some(expected),
                    "{relative} under {}",
                    root.display()
                );
            }
        }
    }

    #[test]
    fn a_source_file_that_vanishes_after_the_plan_stops_the_run_by_name() {
        let sides = Sides::new(&[("00/gone.cab", b"gone")], &[]);
        let (plan, mut caches) = sides.plan(TransferMode::Incremental, None);
        let source = sides.source().join("00/gone.cab");
        fs::remove_file(&source).unwrap();
        let applied = run(&plan, &mut caches, None);
        assert!(
            matches!(&applied.stopped, Some(MirrorError::SourceVanished { path }) if *path == source),
            "{:?}",
            applied.stopped
        );
        assert_eq!(
            fs::read_dir(sides.destination().join("00"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn a_full_disk_is_named_and_other_write_errors_are_passed_on() {
        let target = Path::new("media/00/a.cab");
        let full = staging_error(target, io::ErrorKind::StorageFull.into());
        assert!(matches!(full, MirrorError::DestinationFull { path } if path == target));
        let other = staging_error(target, io::ErrorKind::PermissionDenied.into());
        assert!(
            matches!(other, MirrorError::Io { path, source } if path == target
                && source.kind() == io::ErrorKind::PermissionDenied)
        );
    }

    /// A folder of the destination swapped for a link after the plan is refused: nothing is
    /// written through it.
    #[cfg_attr(
        windows,
        ignore = "Wine, where the Windows tests run, makes no usable link (it reports success and leaves nothing)"
    )]
    #[test]
    fn a_folder_replaced_by_a_link_during_the_run_is_never_written_through() {
        let sides = Sides::new(&[("00/new.cab", b"new")], &[("00/old.cab", b"old")]);
        let (plan, mut caches) = sides.plan(TransferMode::Incremental, None);
        let outside = sides.folder.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let folder = sides.destination().join("00");
        fs::remove_dir_all(&folder).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, &folder).unwrap();
        #[cfg(windows)]
        std::os::windows::fs::symlink_dir(&outside, &folder).unwrap();
        let applied = run(&plan, &mut caches, None);
        assert_stopped_by_what_is_in_the_way(&applied, &folder, "a link or file");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    /// A deletion whose folder vanished after the plan is refused, and the folder is not made
    /// again.
    #[test]
    fn a_deletion_whose_folder_vanished_is_refused_and_the_folder_not_made() {
        let sides = Sides::new(&[("00/kept.cab", b"kept")], &[("03/extra.cab", b"extra")]);
        let (plan, mut caches) = sides.plan(TransferMode::Mirror, None);
        let folder = sides.destination().join("03");
        fs::remove_dir_all(&folder).unwrap();
        let applied = run(&plan, &mut caches, None);
        assert_stopped_by_what_is_in_the_way(&applied, &folder, "nothing");
        assert!(fs::symlink_metadata(&folder).is_err());
    }

    /// A file the plan deletes that became a folder meanwhile is not deleted: the plan did not
    /// list a folder.
    #[test]
    fn a_file_to_delete_that_became_a_folder_is_left_alone() {
        let sides = Sides::new(&[("00/kept.cab", b"kept")], &[("03/extra.cab", b"extra")]);
        let (plan, mut caches) = sides.plan(TransferMode::Mirror, None);
        let extra = sides.destination().join("03/extra.cab");
        fs::remove_file(&extra).unwrap();
        fs::create_dir(&extra).unwrap();
        let applied = run(&plan, &mut caches, None);
        assert!(
            matches!(&applied.stopped, Some(MirrorError::Io { path, .. }) if *path == extra),
            "{:?}",
            applied.stopped
        );
        assert!(extra.is_dir());
    }

    /// A quarantine on another file system copies the file: a file swapped for a link after
    /// the plan is refused, never copied through (which would read outside the tree).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_to_quarantine_elsewhere_that_became_a_link_is_not_copied_through() {
        let sides = Sides::new(&[("00/kept.cab", b"kept")], &[("03/extra.cab", b"extra")]);
        let elsewhere = tempfile::tempdir_in("/dev/shm").unwrap();
        let quarantine = elsewhere.path().join("quarantine");
        let (plan, mut caches) = sides.plan(TransferMode::Mirror, Some(quarantine.clone()));
        let secret = sides.folder.path().join("secret.txt");
        fs::write(&secret, b"not for the quarantine").unwrap();
        let extra = sides.destination().join("03/extra.cab");
        fs::remove_file(&extra).unwrap();
        std::os::unix::fs::symlink(&secret, &extra).unwrap();
        let applied = run(&plan, &mut caches, Some(quarantine.clone()));
        assert!(
            matches!(&applied.stopped, Some(MirrorError::Io { path, source }) if *path == extra
                && source.kind() == io::ErrorKind::CrossesDevices),
            "{:?}",
            applied.stopped
        );
        assert!(fs::symlink_metadata(&extra).unwrap().is_symlink());
        assert!(!quarantine.join("03/extra.cab").exists());
    }

    #[test]
    fn a_folder_cannot_be_made_where_its_parent_is_missing() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("missing/child");
        let error = real_folder(&path, true).unwrap_err();
        assert!(
            matches!(&error, MirrorError::Io { path: named, source } if *named == path
                && source.kind() == io::ErrorKind::NotFound),
            "{error:?}"
        );
    }

    /// Copies on several threads make the same new folder at once: whichever loses the race
    /// finds it made, and goes on.
    #[test]
    fn copies_making_the_same_folder_at_once_all_go_on() {
        let folder = tempfile::tempdir().unwrap();
        for round in 0..200 {
            let path = folder.path().join(round.to_string());
            let start = std::sync::Barrier::new(4);
            std::thread::scope(|scope| {
                let racers: Vec<_> = (0..4)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            real_folder(&path, true)
                        })
                    })
                    .collect();
                for racer in racers {
                    assert!(racer.join().unwrap().is_ok(), "round {round}");
                }
            });
        }
    }

    fn copy(size: u64) -> Action {
        Action {
            kind: ActionKind::Copy,
            path: ActionPath::Source(RelPath::new("a").unwrap()),
            size,
            expected: None,
        }
    }

    fn batch_lengths(actions: &[Action]) -> Vec<usize> {
        let references: Vec<&Action> = actions.iter().collect();
        batches(&references).map(<[_]>::len).collect()
    }

    #[test]
    fn batches_stop_at_the_file_or_byte_limit_and_never_leave_a_file_out() {
        assert!(batch_lengths(&[]).is_empty());
        let small: Vec<Action> = (0..BATCH_FILES * 2 + 1).map(|_| copy(1)).collect();
        assert_eq!(batch_lengths(&small), [BATCH_FILES, BATCH_FILES, 1]);
        let half = BATCH_BYTES / 2;
        let large = [
            copy(half),
            copy(half),
            copy(1),
            copy(BATCH_BYTES * 3),
            copy(1),
        ];
        // A file larger than the limit makes a batch of its own.
        assert_eq!(batch_lengths(&large), [2, 1, 1, 1]);
    }
}
