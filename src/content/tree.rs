//! Listing a folder tree and hashing many of its files at once.
//!
//! Every command that looks at a folder (audit, manifest create, manifest verify) needs the
//! same two steps: walk the tree without following links, keeping what could not
//! be read as a finding rather than an abort; then hash a set of files in parallel, largest
//! first, with one reusable buffer per thread. Only a root that cannot be read at all is an
//! error.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

use super::hash::with_read_buffer;
use crate::progress::Progress;

/// Why a folder could not be looked at at all.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{}: the folder does not exist", path.display())]
    RootMissing { path: PathBuf },
    #[error("{}: not a folder", path.display())]
    RootNotAFolder { path: PathBuf },
    #[error("{}: cannot read: {source}", path.display())]
    RootUnreadable { path: PathBuf, source: io::Error },
    #[error("cannot start {jobs} hashing threads: {source}")]
    ThreadPool {
        jobs: usize,
        source: rayon::ThreadPoolBuildError,
    },
}

impl FolderError {
    /// The next step, where the fix is known.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            FolderError::RootMissing { .. } | FolderError::RootNotAFolder { .. } => {
                "give the WsusContent folder itself, for example D:\\WSUS\\WsusContent or the \
                 media's WsusContent folder"
            }
            FolderError::RootUnreadable { .. } => {
                "run as a user that can read the whole folder (on Windows, an administrator)"
            }
            FolderError::ThreadPool { .. } => "try a smaller --jobs",
        })
    }
}

/// What kind of non-folder entry the tree holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    /// A regular file.
    File,
    /// A symbolic link or junction: listed, never followed.
    Link,
    /// A device, pipe or socket: listed, never opened.
    Special,
}

impl EntryType {
    /// What an entry that is not a folder is, by its own type (a link is not followed).
    pub fn of(file_type: fs::FileType) -> Self {
        if file_type.is_file() {
            EntryType::File
        } else if file_type.is_symlink() {
            EntryType::Link
        } else {
            EntryType::Special
        }
    }
}

/// One entry of a tree that is not a folder.
#[derive(Debug, Clone)]
pub struct TreeEntry {
    /// Relative to the root, with `/` separators; names that are not valid Unicode are shown
    /// with replacement characters.
    pub relative: String,
    /// The exact relative path, kept only when `relative` had to replace parts of it.
    exact: Option<PathBuf>,
    pub file_type: EntryType,
    /// The size of a regular file, or 0 when it could not be read (hashing will say why).
    pub size: u64,
    /// The modification time of a regular file, when it could be read.
    pub modified: Option<SystemTime>,
    /// A regular file's stamp, where the listing gives it (Unix: with the rest of the
    /// metadata, without another look-up of the path).
    pub stamp: Option<super::stamp::Stamp>,
}

impl TreeEntry {
    /// The entry's path relative to the root, exactly as the file system spells it.
    pub fn relative_path(&self) -> &Path {
        self.exact
            .as_deref()
            .unwrap_or_else(|| Path::new(&self.relative))
    }

    /// False when a name on the way is not valid Unicode, so `relative` shows it with
    /// replacement characters and names some other file.
    pub fn is_unicode(&self) -> bool {
        self.exact.is_none()
    }

    /// The entry's full path below `root`.
    pub fn path_under(&self, root: &Path) -> PathBuf {
        root.join(self.relative_path())
    }
}

/// A folder tree, every list sorted by relative path.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub entries: Vec<TreeEntry>,
    /// Every folder below the root (relative, `/` separators), parents before children.
    pub folders: Vec<String>,
    /// Entries that could not be listed, with the reason.
    pub unreadable: Vec<(String, String)>,
}

/// Lists every entry below `root` that is not a folder, never following links.
///
/// A plain depth-first walk over `read_dir`: each entry's type comes from the folder listing
/// and its size and time from a `stat` relative to the open folder, which costs the kernel
/// far less than resolving every full path again (half the time of a path-based walk on a
/// tree of 50,000 files). The root's folders are walked in parallel, one per core at a time
/// (a WsusContent folder holds 256 of them).
pub fn list(root: &Path) -> Result<Tree, FolderError> {
    check_root(root)?;
    let mut tree = Tree::default();
    let mut below = Vec::new();
    read_folder(root, root, "", true, &mut tree, &mut below).map_err(|source| {
        FolderError::RootUnreadable {
            path: root.to_owned(),
            source,
        }
    })?;
    let subtrees: Vec<Tree> = below
        .into_par_iter()
        .with_max_len(1)
        .map(|folder| walk(root, folder))
        .collect();
    for subtree in subtrees {
        tree.entries.extend(subtree.entries);
        tree.folders.extend(subtree.folders);
        tree.unreadable.extend(subtree.unreadable);
    }
    tree.entries
        .sort_unstable_by(|a, b| a.relative.cmp(&b.relative));
    tree.folders.sort_unstable();
    tree.unreadable.sort();
    Ok(tree)
}

/// A folder still to list: its path, its path relative to the root, and whether that relative
/// path is exact (every name on the way valid Unicode).
type Pending = (PathBuf, String, bool);

/// Lists `start` and everything below it.
fn walk(root: &Path, start: Pending) -> Tree {
    let mut tree = Tree::default();
    let mut pending = vec![start];
    while let Some((folder, relative, exact)) = pending.pop() {
        if let Err(error) = read_folder(root, &folder, &relative, exact, &mut tree, &mut pending) {
            tree.unreadable.push((relative, error.to_string()));
        }
    }
    tree
}

/// Adds the entries of `folder` (at `relative` below `root`) to `tree`, and its folders to
/// `tree` and `pending`. Only a folder that cannot be opened is an error; entries that cannot
/// be read become `tree.unreadable`.
fn read_folder(
    root: &Path,
    folder: &Path,
    relative: &str,
    folder_exact: bool,
    tree: &mut Tree,
    pending: &mut Vec<Pending>,
) -> io::Result<()> {
    for entry in fs::read_dir(folder)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                tree.unreadable
                    .push((relative.to_owned(), error.to_string()));
                continue;
            }
        };
        let file_name = entry.file_name();
        let name = file_name.to_string_lossy();
        let exact = folder_exact && matches!(name, Cow::Borrowed(_));
        let mut child = String::with_capacity(relative.len() + 1 + name.len());
        if !relative.is_empty() {
            child.push_str(relative);
            child.push('/');
        }
        child.push_str(&name);
        let file_type = match entry.file_type() {
            Ok(file_type) => file_type,
            Err(error) => {
                tree.unreadable.push((child, error.to_string()));
                continue;
            }
        };
        if file_type.is_dir() {
            tree.folders.push(child.clone());
            pending.push((entry.path(), child, exact));
            continue;
        }
        let file_type = EntryType::of(file_type);
        let metadata = (file_type == EntryType::File)
            .then(|| entry.metadata().ok())
            .flatten();
        let size = metadata.as_ref().map_or(0, |m| m.len());
        #[cfg(unix)]
        let stamp = metadata.as_ref().map(super::stamp::Stamp::of_metadata);
        #[cfg(not(unix))]
        let stamp = None;
        let modified = metadata.and_then(|m| m.modified().ok());
        let exact = (!exact).then(|| {
            let path = entry.path();
            match path.strip_prefix(root) {
                Ok(relative) => relative.to_owned(),
                Err(_) => path,
            }
        });
        tree.entries.push(TreeEntry {
            relative: child,
            exact,
            file_type,
            size,
            modified,
            stamp,
        });
    }
    Ok(())
}

/// Hashes every item with `hash`, `jobs` at a time (one per CPU by default), largest first so
/// that a big file started last does not leave the other threads idle. Each call gets a
/// [`READ_CHUNK`](super::hash::READ_CHUNK) buffer of its thread's. Results come back in no
/// particular order.
pub fn hash_in_parallel<T, D>(
    mut items: Vec<T>,
    size_of: impl Fn(&T) -> u64,
    jobs: Option<NonZeroUsize>,
    progress: &dyn Progress,
    hash: impl Fn(&T, &mut [u8]) -> D + Sync,
) -> Result<Vec<(T, D)>, FolderError>
where
    T: Send,
    D: Send,
{
    let mut builder = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("hash-{i}"));
    if let Some(jobs) = jobs {
        builder = builder.num_threads(jobs.get());
    }
    let pool = builder.build().map_err(|source| FolderError::ThreadPool {
        jobs: jobs.map_or(0, NonZeroUsize::get),
        source,
    })?;
    items.sort_by_key(|item| Reverse(size_of(item)));
    progress.start(items.len() as u64, items.iter().map(&size_of).sum());
    Ok(pool.install(|| {
        items
            .into_par_iter()
            // One file per job: otherwise rayon hands each thread a run of files to hash in
            // sequence, and the thread with the large files ends up working alone.
            .with_max_len(1)
            .map(|item| {
                let digest = with_read_buffer(|buffer| hash(&item, buffer));
                progress.file_done();
                (item, digest)
            })
            .collect()
    }))
}

fn check_root(root: &Path) -> Result<(), FolderError> {
    match std::fs::metadata(root) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(FolderError::RootNotAFolder {
            path: root.to_owned(),
        }),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Err(FolderError::RootMissing {
            path: root.to_owned(),
        }),
        Err(source) => Err(FolderError::RootUnreadable {
            path: root.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_sorted_with_slashes_and_skips_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::create_dir_all(dir.path().join("empty")).unwrap();
        std::fs::write(dir.path().join("b/c/d.txt"), "1234").unwrap();
        std::fs::write(dir.path().join("a.txt"), "").unwrap();
        let tree = list(dir.path()).unwrap();
        let listed: Vec<(&str, u64)> = tree
            .entries
            .iter()
            .map(|e| (e.relative.as_str(), e.size))
            .collect();
        assert_eq!(listed, [("a.txt", 0), ("b/c/d.txt", 4)]);
        assert_eq!(tree.folders, ["b", "b/c", "empty"]);
        assert!(tree.unreadable.is_empty());
        assert!(matches!(
            list(&dir.path().join("a.txt")),
            Err(FolderError::RootNotAFolder { .. })
        ));
    }

    #[test]
    fn folders_listed_in_parallel_give_what_a_plain_walk_gives() {
        let dir = tempfile::tempdir().unwrap();
        for top in 0..40 {
            for depth in 0..(top % 4) {
                let folder = (0..=depth)
                    .fold(dir.path().join(format!("{top:02X}")), |path, level| {
                        path.join(format!("level{level}"))
                    });
                std::fs::create_dir_all(&folder).unwrap();
                std::fs::write(folder.join(format!("{top}-{depth}.cab")), [top as u8; 3]).unwrap();
            }
            std::fs::create_dir_all(dir.path().join(format!("{top:02X}"))).unwrap();
        }
        std::fs::write(dir.path().join("top.txt"), "x").unwrap();
        let tree = list(dir.path()).unwrap();
        let mut files = Vec::new();
        let mut folders = Vec::new();
        for entry in walkdir::WalkDir::new(dir.path()).min_depth(1) {
            let entry = entry.unwrap();
            let relative = entry.path().strip_prefix(dir.path()).unwrap();
            let relative = relative.to_str().unwrap().replace('\\', "/");
            if entry.file_type().is_dir() {
                folders.push(relative);
            } else {
                files.push((relative, entry.metadata().unwrap().len()));
            }
        }
        files.sort();
        folders.sort();
        let listed: Vec<(String, u64)> = tree
            .entries
            .iter()
            .map(|e| (e.relative.clone(), e.size))
            .collect();
        assert_eq!(listed, files);
        assert_eq!(tree.folders, folders);
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_root_is_followed_but_links_below_it_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("a.txt"), "1").unwrap();
        std::os::unix::fs::symlink("/etc", real.join("etc")).unwrap();
        let root = dir.path().join("junction");
        std::os::unix::fs::symlink(&real, &root).unwrap();
        let tree = list(&root).unwrap();
        let listed: Vec<(&str, EntryType)> = tree
            .entries
            .iter()
            .map(|e| (e.relative.as_str(), e.file_type))
            .collect();
        assert_eq!(
            listed,
            [("a.txt", EntryType::File), ("etc", EntryType::Link)]
        );
    }
}
