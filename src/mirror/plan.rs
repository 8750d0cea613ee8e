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

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::fs;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use super::MirrorError;
use super::cache::HashCache;
use crate::atomic_file::is_temporary_name;
use crate::content::hash::hash_blake3;
use crate::content::tree::{self, EntryType};
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

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub kind: ActionKind,
    /// Relative to the destination, `/` separators.
    pub path: String,
    pub size: u64,
    /// For copies from a manifest: the BLAKE3 the copied bytes must have.
    #[serde(skip)]
    pub expected: Option<Blake3Digest>,
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
    // Both sides are listed at once, each looking up its own cache: on separate disks (or a
    // cold cache) each waits on its own device, and on one disk each keeps a CPU busy.
    let (source_side, destination_side) = std::thread::scope(|scope| {
        let destination_side = scope.spawn(|| {
            let cache = load_cache(Side::Destination);
            list_destination(destination, &cache, options.full).map(|side| (side, cache))
        });
        let source_side = match listing {
            Listing::Scan => {
                let cache = load_cache(Side::Source);
                scan_source(source, &cache, options.full).map(|side| (side, cache))
            }
            // The manifest gives every hash; a source cache would add nothing.
            Listing::Manifest(entries) => {
                Ok((manifest_source(source, entries), HashCache::default()))
            }
        };
        let destination_side = destination_side.join().expect("listing does not panic");
        (source_side, destination_side)
    });
    let ((files, folders), source_cache) = source_side?;
    let (destination_side, destination_cache) = destination_side?;
    let mut caches = Caches {
        source: source_cache,
        destination: destination_cache,
    };
    let DestinationSide {
        entries: destination_entries,
        temporaries,
        folders: destination_folders,
    } = destination_side;
    let mut actions: Vec<Action> = temporaries
        .into_iter()
        .map(|(path, size)| action(ActionKind::RemoveTemporary, path, size))
        .collect();
    let find = |path: &str| {
        destination_entries
            .binary_search_by(|entry| entry.relative.as_str().cmp(path))
            .ok()
            .map(|position| &destination_entries[position])
    };

    // Nothing may stand where the source needs a folder, and no folder where it needs a file.
    for folder in &folders {
        if let Some(entry) = find(folder.as_str()) {
            return Err(in_the_way(destination, entry, "a folder"));
        }
    }
    // Both lists are sorted by path: walk them side by side.
    let mut matched: Vec<Option<&DestinationEntry>> = Vec::with_capacity(files.len());
    let mut unmatched: Vec<&DestinationEntry> = Vec::new();
    let mut rest = destination_entries.iter().peekable();
    for file in &files {
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
        matched.push(existing);
    }
    unmatched.extend(rest);
    match_other_spellings(destination, &files, &mut matched, &mut unmatched);

    // Decide copy, replace or keep; files of equal size are hashed unless a cache knew them.
    let mut to_hash: Vec<(Side, usize, PathBuf, u64, Option<SystemTime>)> = Vec::new();
    let mut decisions: Vec<Option<ActionKind>> = Vec::with_capacity(files.len());
    let mut destination_hashes: Vec<Option<Blake3Digest>> = vec![None; files.len()];
    let mut source_hashes: Vec<Option<Blake3Digest>> = files.iter().map(|f| f.blake3).collect();
    for (index, (file, existing)) in files.iter().zip(&matched).enumerate() {
        let Some(existing) = existing else {
            decisions.push(Some(ActionKind::Copy));
            continue;
        };
        if existing.size != file.size {
            decisions.push(Some(ActionKind::Replace));
            continue;
        }
        decisions.push(None);
        destination_hashes[index] = existing.cached;
        if existing.cached.is_none() {
            let path = file.path.under(destination);
            to_hash.push((Side::Destination, index, path, file.size, existing.modified));
        }
        if source_hashes[index].is_none() {
            let path = file.path.under(source);
            to_hash.push((Side::Source, index, path, file.size, file.modified));
        }
    }
    let hashed = tree::hash_in_parallel(
        to_hash,
        |(_, _, _, size, _)| *size,
        options.jobs,
        progress,
        |(_, _, path, _, _), buffer| hash_blake3(path, buffer, progress),
    )?;
    for ((side, index, path, _, modified), result) in hashed {
        let (size, hash) = result.map_err(|source| MirrorError::Io {
            path: path.clone(),
            source,
        })?;
        let hash = Blake3Digest(hash);
        let (cache, slot, relative) = match side {
            Side::Source => (
                &mut caches.source,
                &mut source_hashes[index],
                files[index].path.as_str(),
            ),
            Side::Destination => (
                &mut caches.destination,
                &mut destination_hashes[index],
                // The destination may spell the name in another case.
                matched[index].map_or(files[index].path.as_str(), |entry| &entry.relative),
            ),
        };
        if let Some(modified) = modified {
            cache.record(relative, size, modified, hash);
        }
        *slot = Some(hash);
    }

    let mut totals = PlanTotals::default();
    let mut missing = Vec::new();
    let mut copies = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let kind = match decisions[index] {
            Some(kind) => kind,
            None if destination_hashes[index] == source_hashes[index] => {
                totals.unchanged_files += 1;
                totals.unchanged_bytes += file.size;
                continue;
            }
            None => ActionKind::Replace,
        };
        if !file.available {
            missing.push(file.path.to_string());
            continue;
        }
        let mut step = action(kind, file.path.to_string(), file.size);
        step.expected = file.blake3.filter(|_| from_manifest);
        copies.push(step);
    }
    if !missing.is_empty() {
        return Err(MirrorError::NotInSource {
            source_root: source.to_owned(),
            paths: missing,
        });
    }

    for folder in &folders {
        // A folder the listing spells in another case is there already on NTFS and FAT.
        let there = || fs::symlink_metadata(folder.under(destination)).is_ok_and(|m| m.is_dir());
        if !destination_folders.contains(folder.as_str()) && !there() {
            actions.push(action(ActionKind::CreateFolder, folder.to_string(), 0));
        }
    }
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
    for step in &actions {
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
    // Freeing a hundred thousand names takes longer than deciding about them; the process has
    // better things to do meanwhile.
    drop((matched, unmatched));
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

/// Pairs source files the destination lacks with destination files spelt the same but for
/// case, where the destination's file system takes them for one file (NTFS, FAT; checked by
/// opening the source spelling there, so a case-sensitive destination keeps them apart).
/// Such a file is kept or replaced in place instead of copied beside itself, which on
/// Windows would leave the old spelling and plan the same copy again on every run.
fn match_other_spellings<'a>(
    destination: &Path,
    files: &[SourceFile],
    matched: &mut [Option<&'a DestinationEntry>],
    unmatched: &mut Vec<&'a DestinationEntry>,
) {
    if unmatched.is_empty() || matched.iter().all(Option::is_some) {
        return;
    }
    let mut by_folded: HashMap<String, usize> = unmatched
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.file_type == EntryType::File)
        .map(|(position, entry)| (fold_case(&entry.relative), position))
        .collect();
    let mut taken = vec![false; unmatched.len()];
    for (file, slot) in files.iter().zip(matched.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        let Some(position) = by_folded.remove(&file.path.folded()) else {
            continue;
        };
        if regular_file(&file.path.under(destination)).is_some() {
            *slot = Some(unmatched[position]);
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
    let mut kept_below: HashSet<String> = HashSet::default();
    for entry in unmatched {
        let path = &entry.relative;
        let loose = !path.contains('/');
        if loose || source_folded.contains(&fold_case(path)) {
            mark_ancestors(path, &mut kept_below);
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
        deleted.push(action(kind, path.clone(), size));
    }
    // A folder spelt in another case is the source's own folder on NTFS and FAT.
    let source_folders: HashSet<String> = folders.iter().map(RelPath::folded).collect();
    let mut empty_folders: Vec<&String> = destination_folders
        .iter()
        .filter(|folder| {
            !source_folders.contains(&fold_case(folder)) && !kept_below.contains(*folder)
        })
        .collect();
    empty_folders.sort_by(|a, b| b.cmp(a));
    deleted.extend(
        empty_folders
            .into_iter()
            .map(|folder| action(ActionKind::DeleteFolder, folder.clone(), 0)),
    );
    deleted
}

fn mark_ancestors(path: &str, kept_below: &mut HashSet<String>) {
    for (end, _) in path.match_indices('/') {
        kept_below.insert(path[..end].to_owned());
    }
}

fn action(kind: ActionKind, path: String, size: u64) -> Action {
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
        let cached = cached(cache, &entry.relative, entry.size, entry.modified, full);
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

/// The hash `cache` remembers for a file of this size and time, unless `full` says to hash.
fn cached(
    cache: &HashCache,
    relative: &str,
    size: u64,
    modified: Option<SystemTime>,
    full: bool,
) -> Option<Blake3Digest> {
    modified
        .filter(|_| !full)
        .and_then(|modified| cache.lookup(relative, size, modified))
}

/// The source folder's files and folders, all with safe names, none a link.
fn scan_source(
    source: &Path,
    cache: &HashCache,
    full: bool,
) -> Result<(Vec<SourceFile>, BTreeSet<RelPath>), MirrorError> {
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
        let blake3 = cached(cache, path.as_str(), entry.size, entry.modified, full);
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
    Ok((files, folders))
}

/// The manifest's files, each marked available when the source folder holds a regular file
/// of the listed size at its path, and the folders their paths need.
fn manifest_source(source: &Path, entries: &[FileEntry]) -> (Vec<SourceFile>, BTreeSet<RelPath>) {
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
    (files, folders)
}

fn regular_file(path: &Path) -> Option<fs::Metadata> {
    fs::symlink_metadata(path)
        .ok()
        .filter(fs::Metadata::is_file)
}
