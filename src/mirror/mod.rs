//! The copier: WsusContent to media and media to WsusContent, decided by content hash.
//!
//! robocopy `/E` never deletes and `/MIR` deletes whatever the source lacks; both decide
//! "changed" by size and time alone. This engine plans first ([`plan`]): copy, replace,
//! delete, keep, by size and BLAKE3; then applies exactly that plan ([`apply`]): every file is
//! copied while hashed into a temporary file in its destination folder, flushed and renamed,
//! so a crash leaves either the old file, the new one, or a temporary file the next run
//! removes. Deletions (mirror mode only) come last, only when every copy succeeded, never
//! beyond `--max-delete`, never outside the destination and never through a link. A file
//! another program holds open is waited for, then reported and left as it was.

pub mod apply;
pub mod cache;
pub mod plan;
pub mod report;
pub mod session;

use std::io;
use std::path::{Component, Path, PathBuf};

pub use apply::{Applied, ApplyOptions, Deletions, Rejected, apply};
pub use cache::{HashCache, Stamp};
pub use plan::{
    Action, ActionKind, ActionPath, Caches, Listing, Plan, PlanOptions, PlanTotals, Side, plan,
};
pub use session::{default_cache_folder, lock_destination, plan_and_apply};

use crate::content::FolderError;
use crate::relpath::RelPathError;
use crate::retry::HeldOpen;

/// Why a mirror run could not be planned or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: cannot list: {detail}", path.display())]
    Unlistable { path: PathBuf, detail: String },
    #[error("{} and {} overlap: one is inside the other", first.display(), second.display())]
    Overlap { first: PathBuf, second: PathBuf },
    #[error("{}: the name cannot be copied safely: {problem}", path.display())]
    UnsafeName {
        path: PathBuf,
        problem: RelPathError,
    },
    #[error("{}: not a regular file (links are never followed)", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: {found} is where the source needs {needed}; nothing was changed", path.display())]
    InTheWay {
        path: PathBuf,
        found: String,
        needed: &'static str,
    },
    #[error(
        "{} lacks {} {} the manifest lists, and the destination does not hold {}: first {}",
        source_root.display(),
        paths.len(),
        if paths.len() == 1 { "file" } else { "files" },
        if paths.len() == 1 { "it" } else { "them" },
        paths[0]
    )]
    NotInSource {
        source_root: PathBuf,
        paths: Vec<String>,
    },
    #[error("{}: the destination is full; the partial copy was removed", path.display())]
    DestinationFull { path: PathBuf },
    #[error("{}: the source file vanished during the run", path.display())]
    SourceVanished { path: PathBuf },
    #[error("{}: {source}; nothing was changed for this file", path.display())]
    HeldOpen { path: PathBuf, source: HeldOpen },
}

/// `N to copy (B), N to replace (B), N to delete (B), N unchanged (B)`.
impl std::fmt::Display for PlanTotals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        write!(
            f,
            "{} to copy ({}), {} to replace ({}), {} to delete ({}), {} unchanged ({})",
            HumanCount(self.copy_files),
            HumanBytes(self.copy_bytes),
            HumanCount(self.replace_files),
            HumanBytes(self.replace_bytes),
            HumanCount(self.delete_files),
            HumanBytes(self.delete_bytes),
            HumanCount(self.unchanged_files),
            HumanBytes(self.unchanged_bytes),
        )
    }
}

/// Refuses a source and destination (or quarantine) inside one another: a mirror run between
/// them would copy or delete its own output.
fn check_roots(
    source: &Path,
    destination: &Path,
    quarantine: Option<&Path>,
) -> Result<(), MirrorError> {
    let source = absolute(source)?;
    let destination = absolute(destination)?;
    let mut pairs = vec![(&source, &destination)];
    let quarantine = quarantine.map(absolute).transpose()?;
    if let Some(quarantine) = &quarantine {
        pairs.push((quarantine, &destination));
        pairs.push((quarantine, &source));
    }
    for (first, second) in pairs {
        if first.starts_with(second) || second.starts_with(first) {
            return Err(MirrorError::Overlap {
                first: first.clone(),
                second: second.clone(),
            });
        }
    }
    Ok(())
}

/// `path` made absolute, `.` and `..` resolved, and links resolved as far as the path exists
/// (a destination may not exist yet), so that `D:\media` and `D:\x\..\media` compare equal.
fn absolute(path: &Path) -> Result<PathBuf, MirrorError> {
    let absolute = std::path::absolute(path).map_err(|source| MirrorError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut lexical = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(mut resolved) = existing.canonicalize() {
            resolved.extend(rest.iter().rev());
            return Ok(resolved);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return Ok(lexical),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_roots_are_refused_and_siblings_are_fine() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("content");
        std::fs::create_dir(&source).unwrap();
        let inside = source.join("media");
        assert!(matches!(
            check_roots(&source, &inside, None),
            Err(MirrorError::Overlap { .. })
        ));
        assert!(matches!(
            check_roots(&inside, &source, None),
            Err(MirrorError::Overlap { .. })
        ));
        let sibling = dir.path().join("media");
        assert!(check_roots(&source, &sibling, None).is_ok());
        let dotted = dir
            .path()
            .join("media")
            .join("..")
            .join("content")
            .join("x");
        assert!(check_roots(&source, &dotted, None).is_err());
        let quarantine = sibling.join("quarantine");
        assert!(check_roots(&source, &sibling, Some(&quarantine)).is_err());
    }
}
