//! Deciding what a mirror run will do, before it does anything.
//!
//! The plan compares a source listing (a fresh scan of the source folder, or a verified
//! manifest) with the destination folder. A file is the same when its size and BLAKE3 are
//! the same; sizes decide alone only when they differ, and hashes come from the hash cache
//! when size and modification time are unchanged. Anything that would make the run write
//! through a link, or put a file where a folder is (or the reverse), stops the plan: nothing
//! has been touched yet. The plan is the single source of truth: `--dry-run` prints it, and
//! apply carries out exactly its actions.

use std::collections::BTreeSet;
use std::fmt;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fs;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::MirrorError;
use super::cache::{HashCache, Stamp};
use crate::atomic_file::is_temporary_name;
use crate::content::hash::hash_blake3;
use crate::content::tree::{self, EntryType, TreeEntry};
use crate::manifest::{Blake3Digest, FileEntry, TransferMode};
use crate::progress::Progress;
use crate::relpath::{RelPath, RelPathError, fold_case};

/// Where the source listing comes from.
#[derive(Debug, Clone)]
pub enum Listing {
    /// Scan the source folder now.
    Scan,
    /// The entries of a verified manifest: the source must match them.
    Manifest(Vec<FileEntry>),
}

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub mode: TransferMode,
    /// Hash every file of equal size, ignoring the hash cache.
    pub full: bool,
    /// Move extra files here instead of deleting them (mirror mode).
    pub quarantine: Option<PathBuf>,
    pub jobs: Option<NonZeroUsize>,
}

/// What one action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Remove a temporary file an interrupted run left behind.
    RemoveTemporary,
    CreateFolder,
    /// A file the destination lacks.
    Copy,
    /// A file the destination holds with other content.
    Replace,
    /// An extra file (mirror mode).
    Delete,
    /// An extra file moved to the quarantine folder instead (mirror mode).
    Quarantine,
    /// An extra folder, once empty (mirror mode).
    DeleteFolder,
}

impl ActionKind {
    /// True for the actions on a file's content: copy, replace, delete, quarantine.
    pub fn is_file(self) -> bool {
        matches!(
            self,
            ActionKind::Copy | ActionKind::Replace | ActionKind::Delete | ActionKind::Quarantine
        )
    }

    /// True for the actions that take a file out of the destination: delete, quarantine.
    pub fn removes(self) -> bool {
        matches!(self, ActionKind::Delete | ActionKind::Quarantine)
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub kind: ActionKind,
    pub path: ActionPath,
    pub size: u64,
    /// For copies from a manifest: the BLAKE3 the copied bytes must have.
    #[serde(skip)]
    pub expected: Option<Blake3Digest>,
}

/// `+ copy 00/A.cab (1,234 bytes)` and the like: the same line in a plan and in its run.
impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, size) = (&self.path, indicatif::HumanCount(self.size));
        match self.kind {
            ActionKind::RemoveTemporary => write!(f, "- temporary {path} ({size} bytes)"),
            ActionKind::CreateFolder => write!(f, "+ folder {path}/"),
            ActionKind::Copy => write!(f, "+ copy {path} ({size} bytes)"),
            ActionKind::Replace => write!(f, "* replace {path} ({size} bytes)"),
            ActionKind::Delete => write!(f, "- delete {path} ({size} bytes)"),
            ActionKind::Quarantine => write!(f, "> quarantine {path} ({size} bytes)"),
            ActionKind::DeleteFolder => write!(f, "- folder {path}/"),
        }
    }
}

/// What an action acts on, relative to the destination (`/` separators); written as the
/// bare path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ActionPath {
    /// A file or folder of the source listing, its name safe on every platform: where copies
    /// and new folders go.
    Source(RelPath),
    /// An entry the destination holds, named as listed there: what removals act on. Nothing
    /// is written under such a name, so it was never checked.
    Destination(String),
}

impl ActionPath {
    pub fn as_str(&self) -> &str {
        match self {
            ActionPath::Source(path) => path.as_str(),
            ActionPath::Destination(path) => path,
        }
    }

    /// The folder it is in, relative to the destination: `""` at the top.
    pub fn parent(&self) -> &str {
        self.as_str()
            .rsplit_once('/')
            .map_or("", |(parent, _)| parent)
    }

    /// The path below `root`, with the platform's separators.
    pub fn under(&self, root: &Path) -> PathBuf {
        match self {
            ActionPath::Source(path) => path.under(root),
            ActionPath::Destination(path) => {
                let mut under = root.to_owned();
                under.extend(path.split('/').filter(|part| !part.is_empty()));
                under
            }
        }
    }
}

impl fmt::Display for ActionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts and bytes by kind of action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanTotals {
    pub copy_files: u64,
    pub copy_bytes: u64,
    pub replace_files: u64,
    pub replace_bytes: u64,
    pub delete_files: u64,
    pub delete_bytes: u64,
    pub create_folders: u64,
    pub delete_folders: u64,
    pub remove_temporary: u64,
    pub unchanged_files: u64,
    pub unchanged_bytes: u64,
}

/// What a run will do, in the order it will do it.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub source: PathBuf,
    pub destination: PathBuf,
    pub mode: TransferMode,
    pub from_manifest: bool,
    pub actions: Vec<Action>,
    pub totals: PlanTotals,
}

impl Plan {
    /// Files and links the run deletes or quarantines.
    pub fn deletions(&self) -> u64 {
        self.totals.delete_files
    }
}

/// The hash caches of both sides; the plan reads and fills them.
#[derive(Debug, Default)]
pub struct Caches {
    pub source: HashCache,
    pub destination: HashCache,
}

/// A source file as the plan sees it.
struct SourceFile {
    path: RelPath,
    size: u64,
    modified: Option<SystemTime>,
    /// From the manifest or the source's hash cache; else known only once hashed.
    blake3: Option<Blake3Digest>,
    /// False when a manifest lists it but the source folder does not hold it as listed.
    available: bool,
}

/// The source as listed: files sorted by path, and the folders they need.
struct SourceSide {
    files: Vec<SourceFile>,
    folders: BTreeSet<RelPath>,
}

/// A destination entry that is not a folder.
struct DestinationEntry {
    relative: String,
    file_type: EntryType,
    size: u64,
    modified: Option<SystemTime>,
    /// From the destination's hash cache, when size and time match it.
    cached: Option<Blake3Digest>,
}

/// The destination as listed: entries sorted by path, with their cached hashes.
#[derive(Default)]
struct DestinationSide {
    entries: Vec<DestinationEntry>,
    /// Temporary files an interrupted run left behind, with their sizes.
    temporaries: Vec<(String, u64)>,
    folders: HashSet<String>,
}

/// A source file, the destination's file of that name, and what the plan learns of both.
struct FilePair<'a> {
    file: &'a SourceFile,
    /// The destination's file of this name, perhaps spelt in another case; none if it lacks one.
    existing: Option<&'a DestinationEntry>,
    /// Copy or replace, when the sizes decide alone; `None` while the hashes must decide.
    by_size: Option<ActionKind>,
    source_hash: Option<Blake3Digest>,
    destination_hash: Option<Blake3Digest>,
}

impl FilePair<'_> {
    /// What the file needs once both hashes are known: nothing when they are equal.
    fn needs(&self) -> Option<ActionKind> {
        match self.by_size {
            Some(kind) => Some(kind),
            None if self.destination_hash == self.source_hash => None,
            None => Some(ActionKind::Replace),
        }
    }
}

/// One side of a pair of equal size, to be hashed because no cache knew its hash.
struct HashJob {
    side: Side,
    /// Its position among the pairs.
    pair: usize,
    path: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
}

/// Which side of a run a file or cache is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Destination,
}

/// Plans a run from `source` to `destination`. `load_cache` gives each side's hash cache; it
/// runs while that side is listed. The caches are consulted for files of equal size, filled
/// with what the plan hashes, and returned for the run and the next one.
pub fn plan(
    source: &Path,
    destination: &Path,
    listing: &Listing,
    options: &PlanOptions,
    load_cache: impl Fn(Side) -> HashCache + Sync,
    progress: &dyn Progress,
) -> Result<(Plan, Caches), MirrorError> {
    super::check_roots(source, destination, options.quarantine.as_deref())?;
    let from_manifest = matches!(listing, Listing::Manifest(_));
    let (source_side, destination_side, mut caches) =
        list_sides(source, destination, listing, options.full, load_cache)?;
    let SourceSide { files, folders } = source_side;
    let DestinationSide {
        entries: destination_entries,
        temporaries,
        folders: destination_folders,
    } = destination_side;
    let mut actions: Vec<Action> = temporaries
        .into_iter()
        .map(|(path, size)| {
            let path = ActionPath::Destination(path);
            action(ActionKind::RemoveTemporary, path, size)
        })
        .collect();

    check_folders_free(destination, &folders, &destination_entries)?;
    let (mut pairs, mut unmatched) = pair_by_name(
        destination,
        &files,
        &destination_entries,
        &destination_folders,
    )?;
    match_other_spellings(destination, &mut pairs, &mut unmatched);
    let to_hash = decide_by_size(&mut pairs, source, destination);
    hash_equal_sizes(to_hash, &mut pairs, &mut caches, options.jobs, progress)?;
    let mut totals = PlanTotals::default();
    let copies = file_actions(&pairs, source, from_manifest, &mut totals)?;

    actions.extend(new_folders(&folders, destination, &destination_folders));
    actions.extend(copies);
    if options.mode == TransferMode::Mirror {
        actions.extend(extras(
            &files,
            &folders,
            &unmatched,
            &destination_folders,
            options.quarantine.is_some(),
        ));
    }
    add_up(&actions, &mut totals);
    // Freeing a hundred thousand names takes longer than deciding about them; the process has
    // better things to do meanwhile.
    drop((pairs, unmatched));
    std::thread::spawn(move || drop((files, folders, destination_entries, destination_folders)));
    let plan = Plan {
        source: source.to_owned(),
        destination: destination.to_owned(),
        mode: options.mode,
        from_manifest,
        actions,
        totals,
    };
    Ok((plan, caches))
}

/// Lists both sides at once, each looking up its own hash cache: on separate disks (or a
/// cold cache) each waits on its own device, and on one disk each keeps a CPU busy.
fn list_sides(
    source: &Path,
    destination: &Path,
    listing: &Listing,
    full: bool,
    load_cache: impl Fn(Side) -> HashCache + Sync,
) -> Result<(SourceSide, DestinationSide, Caches), MirrorError> {
    let (source_side, destination_side) = std::thread::scope(|scope| {
        let destination_side = scope.spawn(|| {
            let cache = load_cache(Side::Destination);
            list_destination(destination, &cache, full).map(|side| (side, cache))
        });
        let source_side = match listing {
            Listing::Scan => {
                let cache = load_cache(Side::Source);
                scan_source(source, &cache, full).map(|side| (side, cache))
            }
            // The manifest gives every hash; a source cache would add nothing.
            Listing::Manifest(entries) => {
                Ok((manifest_source(source, entries), HashCache::default()))
            }
        };
        let destination_side = destination_side.join().expect("listing does not panic");
        (source_side, destination_side)
    });
    let (source_side, source_cache) = source_side?;
    let (destination_side, destination_cache) = destination_side?;
    let caches = Caches {
        source: source_cache,
        destination: destination_cache,
    };
    Ok((source_side, destination_side, caches))
}

/// Refuses a destination entry other than a folder where the source needs a folder.
fn check_folders_free(
    destination: &Path,
    folders: &BTreeSet<RelPath>,
    entries: &[DestinationEntry],
) -> Result<(), MirrorError> {
    for folder in folders {
        if let Ok(position) =
            entries.binary_search_by(|entry| entry.relative.as_str().cmp(folder.as_str()))
        {
            return Err(in_the_way(destination, &entries[position], "a folder"));
        }
    }
    Ok(())
}

/// Pairs each source file with the destination file of the same name, walking both sorted
/// lists side by side; also gives the destination entries no source file has. Refuses
/// anything but a regular file, or a folder, where the source needs a file.
fn pair_by_name<'a>(
    destination: &Path,
    files: &'a [SourceFile],
    entries: &'a [DestinationEntry],
    destination_folders: &HashSet<String>,
) -> Result<(Vec<FilePair<'a>>, Vec<&'a DestinationEntry>), MirrorError> {
    let mut pairs = Vec::with_capacity(files.len());
    let mut unmatched: Vec<&DestinationEntry> = Vec::new();
    let mut rest = entries.iter().peekable();
    for file in files {
        let path = file.path.as_str();
        while let Some(entry) = rest.next_if(|entry| entry.relative.as_str() < path) {
            unmatched.push(entry);
        }
        let existing = rest.next_if(|entry| entry.relative == path);
        if let Some(entry) = existing
            && entry.file_type != EntryType::File
        {
            return Err(in_the_way(destination, entry, "a file"));
        }
        if destination_folders.contains(path) {
            return Err(MirrorError::InTheWay {
                path: file.path.under(destination),
                found: "a folder".into(),
                needed: "a file",
            });
        }
        pairs.push(FilePair {
            file,
            existing,
            by_size: None,
            source_hash: file.blake3,
            destination_hash: None,
        });
    }
    unmatched.extend(rest);
    Ok((pairs, unmatched))
}

/// Decides copy or replace where the sizes tell, takes the destination's cached hash where
/// they are equal, and gives the sides of equal size whose hash is still unknown.
fn decide_by_size(pairs: &mut [FilePair], source: &Path, destination: &Path) -> Vec<HashJob> {
    let mut to_hash = Vec::new();
    for (index, pair) in pairs.iter_mut().enumerate() {
        let file = pair.file;
        let Some(existing) = pair.existing else {
            pair.by_size = Some(ActionKind::Copy);
            continue;
        };
        if existing.size != file.size {
            pair.by_size = Some(ActionKind::Replace);
            continue;
        }
        pair.destination_hash = existing.cached;
        let job = |side, root: &Path, modified| HashJob {
            side,
            pair: index,
            path: file.path.under(root),
            size: file.size,
            modified,
        };
        if pair.destination_hash.is_none() {
            to_hash.push(job(Side::Destination, destination, existing.modified));
        }
        if pair.source_hash.is_none() {
            to_hash.push(job(Side::Source, source, file.modified));
        }
    }
    to_hash
}

/// Hashes the files of `to_hash` in parallel, filling in the pairs' hashes and recording
/// each in its side's cache.
fn hash_equal_sizes(
    to_hash: Vec<HashJob>,
    pairs: &mut [FilePair],
    caches: &mut Caches,
    jobs: Option<NonZeroUsize>,
    progress: &dyn Progress,
) -> Result<(), MirrorError> {
    let hashed = tree::hash_in_parallel(
        to_hash,
        |job| job.size,
        jobs,
        progress,
        |job, buffer| {
            // Taken before the bytes are read: a change while they are read changes it, and
            // the hash is then never taken for the file's.
            let stamp = Stamp::of_path(&job.path).ok();
            hash_blake3(&job.path, buffer, progress).map(|hashed| (stamp, hashed))
        },
    )?;
    for (job, result) in hashed {
        let (stamp, (size, hash)) = result.map_err(|source| MirrorError::Io {
            path: job.path.clone(),
            source,
        })?;
        let hash = Blake3Digest(hash);
        let pair = &mut pairs[job.pair];
        let source_path = pair.file.path.as_str();
        let (cache, slot, relative) = match job.side {
            Side::Source => (&mut caches.source, &mut pair.source_hash, source_path),
            Side::Destination => (
                &mut caches.destination,
                &mut pair.destination_hash,
                // The destination may spell the name in another case.
                pair.existing.map_or(source_path, |entry| &entry.relative),
            ),
        };
        if let (Some(modified), Some(stamp)) = (job.modified, stamp) {
            cache.record(relative, size, modified, stamp, hash);
        }
        *slot = Some(hash);
    }
    Ok(())
}

/// The copies and replacements the pairs need, counting the unchanged files in `totals`.
/// Refuses them all when the source lacks a listed file that needs copying.
fn file_actions(
    pairs: &[FilePair],
    source: &Path,
    from_manifest: bool,
    totals: &mut PlanTotals,
) -> Result<Vec<Action>, MirrorError> {
    let mut missing = Vec::new();
    let mut copies = Vec::new();
    for pair in pairs {
        let file = pair.file;
        let Some(kind) = pair.needs() else {
            totals.unchanged_files += 1;
            totals.unchanged_bytes += file.size;
            continue;
        };
        if !file.available {
            missing.push(file.path.to_string());
            continue;
        }
        let path = ActionPath::Source(file.path.clone());
        let mut step = action(kind, path, file.size);
        step.expected = file.blake3.filter(|_| from_manifest);
        copies.push(step);
    }
    if !missing.is_empty() {
        return Err(MirrorError::NotInSource {
            source_root: source.to_owned(),
            paths: missing,
        });
    }
    Ok(copies)
}

/// The source's folders the destination lacks, parents first.
fn new_folders<'a>(
    folders: &'a BTreeSet<RelPath>,
    destination: &'a Path,
    destination_folders: &'a HashSet<String>,
) -> impl Iterator<Item = Action> + 'a {
    folders
        .iter()
        .filter(|folder| {
            // A folder the listing spells in another case is there already on NTFS and FAT.
            let there =
                || fs::symlink_metadata(folder.under(destination)).is_ok_and(|m| m.is_dir());
            !destination_folders.contains(folder.as_str()) && !there()
        })
        .map(|folder| {
            let path = ActionPath::Source(folder.clone());
            action(ActionKind::CreateFolder, path, 0)
        })
}

/// Adds each action's file and bytes to `totals`.
fn add_up(actions: &[Action], totals: &mut PlanTotals) {
    for step in actions {
        let (files, bytes) = match step.kind {
            ActionKind::Copy => (&mut totals.copy_files, &mut totals.copy_bytes),
            ActionKind::Replace => (&mut totals.replace_files, &mut totals.replace_bytes),
            ActionKind::Delete | ActionKind::Quarantine => {
                (&mut totals.delete_files, &mut totals.delete_bytes)
            }
            ActionKind::CreateFolder => {
                totals.create_folders += 1;
                continue;
            }
            ActionKind::DeleteFolder => {
                totals.delete_folders += 1;
                continue;
            }
            ActionKind::RemoveTemporary => {
                totals.remove_temporary += 1;
                continue;
            }
        };
        *files += 1;
        *bytes += step.size;
    }
}

/// Pairs source files the destination lacks with destination files spelt the same but for
/// case, where the destination's file system takes them for one file (NTFS, FAT; checked by
/// opening the source spelling there, so a case-sensitive destination keeps them apart).
/// Such a file is kept or replaced in place instead of copied beside itself, which on
/// Windows would leave the old spelling and plan the same copy again on every run.
fn match_other_spellings<'a>(
    destination: &Path,
    pairs: &mut [FilePair<'a>],
    unmatched: &mut Vec<&'a DestinationEntry>,
) {
    if unmatched.is_empty() || pairs.iter().all(|pair| pair.existing.is_some()) {
        return;
    }
    let mut by_folded: HashMap<String, usize> = unmatched
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.file_type == EntryType::File)
        .map(|(position, entry)| (fold_case(&entry.relative), position))
        .collect();
    let mut taken = vec![false; unmatched.len()];
    for pair in pairs.iter_mut() {
        if pair.existing.is_some() {
            continue;
        }
        let Some(position) = by_folded.remove(&pair.file.path.folded()) else {
            continue;
        };
        if regular_file(&pair.file.path.under(destination)).is_some() {
            pair.existing = Some(unmatched[position]);
            taken[position] = true;
        }
    }
    let mut taken = taken.into_iter();
    unmatched.retain(|_| !taken.next().unwrap_or(false));
}

/// Deletions of a mirror run: destination entries the source lacks (`unmatched`, sorted),
/// then folders left empty (deepest first). Kept: loose files at the top, and files that NTFS
/// would take for a source file (same name ignoring case), so a case-insensitive destination
/// never loses one.
fn extras(
    files: &[SourceFile],
    folders: &BTreeSet<RelPath>,
    unmatched: &[&DestinationEntry],
    destination_folders: &HashSet<String>,
    quarantine: bool,
) -> Vec<Action> {
    let source_folded: HashSet<String> = if unmatched.is_empty() {
        HashSet::default()
    } else {
        files.iter().map(|f| f.path.folded()).collect()
    };
    let mut deleted = Vec::new();
    for entry in unmatched {
        let path = &entry.relative;
        let loose = !path.contains('/');
        if loose || source_folded.contains(&fold_case(path)) {
            continue;
        }
        let kind = if quarantine {
            ActionKind::Quarantine
        } else {
            ActionKind::Delete
        };
        let size = if entry.file_type == EntryType::File {
            entry.size
        } else {
            0
        };
        deleted.push(action(kind, ActionPath::Destination(path.clone()), size));
    }
    // A folder spelt in another case is the source's own folder on NTFS and FAT. A folder
    // holding a kept file is kept too: the file is loose (held by no folder) or one of the
    // source's spelt in another case, whose folders are the source's.
    let source_folders: HashSet<String> = folders.iter().map(RelPath::folded).collect();
    let mut empty_folders: Vec<&String> = destination_folders
        .iter()
        .filter(|folder| !source_folders.contains(&fold_case(folder)))
        .collect();
    empty_folders.sort_by(|a, b| b.cmp(a));
    deleted.extend(empty_folders.into_iter().map(|folder| {
        let path = ActionPath::Destination(folder.clone());
        action(ActionKind::DeleteFolder, path, 0)
    }));
    deleted
}

fn action(kind: ActionKind, path: ActionPath, size: u64) -> Action {
    Action {
        kind,
        path,
        size,
        expected: None,
    }
}

fn in_the_way(root: &Path, entry: &DestinationEntry, needed: &'static str) -> MirrorError {
    let found = match entry.file_type {
        EntryType::File => "a file",
        EntryType::Link => "a link (never followed)",
        EntryType::Special => "a device, pipe or socket",
    };
    MirrorError::InTheWay {
        path: root.join(&entry.relative),
        found: found.into(),
        needed,
    }
}

/// The destination's entries with their cached hashes (none with `full`), and its folders.
fn list_destination(
    destination: &Path,
    cache: &HashCache,
    full: bool,
) -> Result<DestinationSide, MirrorError> {
    let tree = match tree::list(destination) {
        Ok(tree) => tree,
        Err(crate::content::FolderError::RootMissing { .. }) => {
            return Ok(DestinationSide::default());
        }
        Err(error) => return Err(error.into()),
    };
    if let Some((path, error)) = tree.unreadable.first() {
        return Err(MirrorError::Unlistable {
            path: destination.join(path),
            detail: error.clone(),
        });
    }
    let mut side = DestinationSide {
        entries: Vec::with_capacity(tree.entries.len()),
        temporaries: Vec::new(),
        folders: tree.folders.into_iter().collect(),
    };
    for entry in tree.entries {
        let name = entry.relative.rsplit('/').next().unwrap_or_default();
        if entry.file_type == EntryType::File && is_temporary_name(name) {
            side.temporaries.push((entry.relative, entry.size));
            continue;
        }
        let path = entry.path_under(destination);
        let cached = cached(cache, &entry, &path, full);
        side.entries.push(DestinationEntry {
            relative: entry.relative,
            file_type: entry.file_type,
            size: entry.size,
            modified: entry.modified,
            cached,
        });
    }
    Ok(side)
}

/// The hash `cache` remembers for the listed file `entry` (at `path`), while its size, time
/// and stamp are unchanged, unless `full` says to hash.
fn cached(cache: &HashCache, entry: &TreeEntry, path: &Path, full: bool) -> Option<Blake3Digest> {
    let modified = entry.modified.filter(|_| !full)?;
    cache.lookup(&entry.relative, entry.size, modified, || {
        entry.stamp.or_else(|| Stamp::of_path(path).ok())
    })
}

/// The source folder's files and folders, all with safe names, none a link.
fn scan_source(source: &Path, cache: &HashCache, full: bool) -> Result<SourceSide, MirrorError> {
    let tree = tree::list(source)?;
    if let Some((path, error)) = tree.unreadable.first() {
        return Err(MirrorError::Unlistable {
            path: source.join(path),
            detail: error.clone(),
        });
    }
    let safe = |relative: &str| {
        RelPath::new(relative).map_err(|problem| MirrorError::UnsafeName {
            path: source.join(relative),
            problem,
        })
    };
    let mut files = Vec::with_capacity(tree.entries.len());
    for entry in tree.entries {
        if entry.file_type != EntryType::File {
            return Err(MirrorError::NotAFile {
                path: entry.path_under(source),
            });
        }
        let unsafe_name = |problem| MirrorError::UnsafeName {
            path: entry.path_under(source),
            problem,
        };
        if !entry.is_unicode() {
            return Err(unsafe_name(RelPathError::NotUnicode));
        }
        let path = RelPath::new(&entry.relative).map_err(unsafe_name)?;
        let blake3 = cached(cache, &entry, &entry.path_under(source), full);
        files.push(SourceFile {
            path,
            size: entry.size,
            modified: entry.modified,
            blake3,
            available: true,
        });
    }
    let folders = tree
        .folders
        .iter()
        .map(|folder| safe(folder))
        .collect::<Result<_, _>>()?;
    Ok(SourceSide { files, folders })
}

/// The manifest's files, each marked available when the source folder holds a regular file
/// of the listed size at its path, and the folders their paths need.
fn manifest_source(source: &Path, entries: &[FileEntry]) -> SourceSide {
    let mut folders = BTreeSet::new();
    let files = entries
        .iter()
        .map(|entry| {
            let path = entry.path.as_str();
            for (end, _) in path.match_indices('/') {
                folders.insert(RelPath::new(&path[..end]).expect("a prefix of a safe path"));
            }
            let metadata = regular_file(&entry.path.under(source));
            SourceFile {
                path: entry.path.clone(),
                size: entry.size,
                modified: metadata.as_ref().and_then(|m| m.modified().ok()),
                blake3: Some(entry.blake3),
                available: metadata.is_some_and(|m| m.len() == entry.size),
            }
        })
        .collect();
    SourceSide { files, folders }
}

fn regular_file(path: &Path) -> Option<fs::Metadata> {
    fs::symlink_metadata(path)
        .ok()
        .filter(fs::Metadata::is_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_is_written_with_its_path_as_text_whichever_side_named_it() {
        let copy = Action {
            expected: Some(Blake3Digest(blake3::hash(b"x"))),
            ..action(
                ActionKind::Copy,
                ActionPath::Source(RelPath::new("00/A.cab").unwrap()),
                1,
            )
        };
        let delete = action(
            ActionKind::Delete,
            ActionPath::Destination("00/b.cab".into()),
            2,
        );
        assert_eq!(
            serde_json::to_string(&[copy, delete]).unwrap(),
            r#"[{"kind":"copy","path":"00/A.cab","size":1},{"kind":"delete","path":"00/b.cab","size":2}]"#
        );
    }

    #[test]
    fn action_paths_join_below_a_root_and_know_their_folder() {
        let root = Path::new("root");
        let copy = ActionPath::Source(RelPath::new("00/A.cab").unwrap());
        assert_eq!(copy.under(root), root.join("00").join("A.cab"));
        assert_eq!(copy.parent(), "00");
        let listed = ActionPath::Destination("loose.txt".into());
        assert_eq!(listed.under(root), root.join("loose.txt"));
        assert_eq!(listed.parent(), "");
        assert_eq!(listed.to_string(), "loose.txt");
    }
}
