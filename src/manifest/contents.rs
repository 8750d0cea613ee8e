//! Proving that a folder holds exactly what a verified manifest lists.
//!
//! Every listed file is re-hashed (BLAKE3 and size; large files mapped into memory and hashed
//! on all cores, see [`hash_blake3_mapped`]), and the folder is walked for files the
//! manifest does not list: a check that looked only at listed files would miss added ones.
//! Names are matched as Windows would match them, ignoring case. Links are never followed; a
//! link where a file should be counts as changed.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Blake3Digest, FileEntry, Manifest};
use crate::content::hash::{hash_blake3_mapped, with_read_buffer};
use crate::content::tree::{self, EntryType, FolderError};
use crate::progress::{NoProgress, Progress};
use crate::relpath::fold_case;

/// What a file on disk holds instead of what the manifest says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "found", rename_all = "kebab-case")]
pub enum Found {
    /// Other bytes.
    Content {
        size: u64,
        blake3: Blake3Digest,
    },
    /// Not a regular file.
    NotAFile {
        file_type: EntryType,
    },
    Unreadable {
        error: String,
    },
}

/// A listed file that is there but not as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub path: String,
    pub expected_size: u64,
    pub expected_blake3: Blake3Digest,
    #[serde(flatten)]
    pub found: Found,
}

/// A file on disk the manifest does not list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extra {
    pub path: String,
    pub file_type: EntryType,
}

/// The package file beside the manifest, against its entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum PackageState {
    Intact {
        path: PathBuf,
    },
    Missing {
        path: PathBuf,
    },
    Changed {
        path: PathBuf,
        #[serde(flatten)]
        found: Found,
    },
}

/// The outcome of comparing a folder with a manifest; every list is sorted by path.
#[derive(Debug, Clone, Serialize)]
pub struct ContentsCheck {
    pub missing: Vec<String>,
    pub changed: Vec<Changed>,
    pub extra: Vec<Extra>,
    /// Parts of the folder that could not be listed, with the reason.
    pub unlisted: Vec<(String, String)>,
    /// Listed files found intact, and their bytes.
    pub intact_files: u64,
    pub intact_bytes: u64,
    /// Listed files not on the media by design, as the manifest says (`carried: false`).
    pub not_carried: u64,
    /// `None` when the manifest carries no package.
    pub package: Option<PackageState>,
}

impl ContentsCheck {
    /// True when the folder holds exactly what the manifest lists, package included.
    pub fn is_intact(&self) -> bool {
        self.missing.is_empty()
            && self.changed.is_empty()
            && self.extra.is_empty()
            && self.unlisted.is_empty()
            && !matches!(
                self.package,
                Some(PackageState::Missing { .. } | PackageState::Changed { .. })
            )
    }
}

/// `path: intact`, `path: missing` or `path: changed: found ...`.
impl std::fmt::Display for PackageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackageState::Intact { path } => write!(f, "{}: intact", path.display()),
            PackageState::Missing { path } => write!(f, "{}: missing", path.display()),
            PackageState::Changed { path, found } => {
                write!(f, "{}: changed: {found}", path.display())
            }
        }
    }
}

/// `path: expected N bytes, BLAKE3 ...; found ...`.
impl std::fmt::Display for Changed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {} bytes, BLAKE3 {}; {}",
            self.path,
            indicatif::HumanCount(self.expected_size),
            self.expected_blake3,
            self.found
        )
    }
}

/// What was found instead, in words.
impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::Content { size, blake3 } => write!(
                f,
                "found {} bytes, BLAKE3 {blake3}",
                indicatif::HumanCount(*size)
            ),
            Found::NotAFile { file_type } => {
                let text = format!("found a {file_type:?}, not a file");
                f.write_str(&text.to_lowercase())
            }
            Found::Unreadable { error } => write!(f, "unreadable: {error}"),
        }
    }
}

/// The verdict in words: `intact: N files, B`, or `3 problems (1 missing, 2 extra)`.
impl std::fmt::Display for ContentsCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        if self.is_intact() {
            let files = if self.intact_files == 1 {
                "file"
            } else {
                "files"
            };
            return write!(
                f,
                "intact: {} {files}, {}",
                HumanCount(self.intact_files),
                HumanBytes(self.intact_bytes)
            );
        }
        let package_problem = usize::from(matches!(
            self.package,
            Some(PackageState::Missing { .. } | PackageState::Changed { .. })
        ));
        let counts = [
            (self.missing.len(), "missing"),
            (self.changed.len(), "changed"),
            (self.extra.len(), "extra"),
            (self.unlisted.len(), "unreadable"),
            (package_problem, "package"),
        ];
        let total: usize = counts.iter().map(|(count, _)| count).sum();
        let parts: Vec<String> = counts
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, kind)| format!("{count} {kind}"))
            .collect();
        let problems = if total == 1 { "problem" } else { "problems" };
        write!(f, "{total} {problems} ({})", parts.join(", "))
    }
}

/// Compares the folder `content` with `manifest`'s entries, and the file at `package` with the
/// manifest's package entry (`package` is not looked at when the manifest carries none).
pub fn check(
    manifest: &Manifest,
    content: &Path,
    package: &Path,
    jobs: Option<NonZeroUsize>,
    progress: &dyn Progress,
) -> Result<ContentsCheck, FolderError> {
    // A content folder that is not there holds none of the listed files.
    let listing = match tree::list(content) {
        Err(FolderError::RootMissing { .. }) => tree::Tree::default(),
        listing => listing?,
    };
    // Most names on disk are spelled as listed: the folded index, for those that are not, is
    // made only when the first such name comes up. A manifest lists no two names that fold
    // alike, so an exact match is the entry the folded one would be.
    let exact: HashMap<&str, usize> = manifest
        .entries
        .iter()
        .enumerate()
        .map(|(position, entry)| (entry.path.as_str(), position))
        .collect();
    let mut folded: Option<HashMap<String, usize>> = None;
    let mut seen = vec![false; manifest.entries.len()];
    let mut changed = Vec::new();
    let mut extra = Vec::new();
    let mut to_hash = Vec::new();
    for entry in listing.entries {
        let listed = exact
            .get(entry.relative.as_str())
            .copied()
            .or_else(|| {
                let folded = folded.get_or_insert_with(|| {
                    let entries = manifest.entries.iter().enumerate();
                    entries
                        .map(|(at, entry)| (entry.path.folded(), at))
                        .collect()
                });
                folded.get(&fold_case(&entry.relative)).copied()
            })
            .filter(|&position| !seen[position]);
        let Some(position) = listed else {
            extra.push(Extra {
                path: entry.relative,
                file_type: entry.file_type,
            });
            continue;
        };
        seen[position] = true;
        if entry.file_type == EntryType::File {
            to_hash.push((position, entry.path_under(content), entry.size));
        } else {
            changed.push(changed_entry(
                &manifest.entries[position],
                Found::NotAFile {
                    file_type: entry.file_type,
                },
            ));
        }
    }
    let hashed = tree::hash_in_parallel(
        to_hash,
        |(_, _, size)| *size,
        jobs,
        progress,
        |(_, path, _), buffer| hash_blake3_mapped(path, buffer, progress),
    )?;
    let (mut intact_files, mut intact_bytes) = (0, 0);
    for ((position, _, _), result) in hashed {
        let entry = &manifest.entries[position];
        match judge(entry.size, entry.blake3, result) {
            None => {
                intact_files += 1;
                intact_bytes += entry.size;
            }
            Some(found) => changed.push(changed_entry(entry, found)),
        }
    }
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    // A file left off the media on purpose is not missing from it.
    let mut missing = Vec::new();
    let mut not_carried = 0;
    for (entry, seen) in manifest.entries.iter().zip(&seen) {
        match (seen, entry.carried) {
            (true, _) => {}
            (false, true) => missing.push(entry.path.to_string()),
            (false, false) => not_carried += 1,
        }
    }
    let package = manifest
        .package
        .as_ref()
        .map(|entry| check_package(entry.size, entry.blake3, package));
    Ok(ContentsCheck {
        missing,
        changed,
        extra,
        unlisted: listing.unreadable,
        intact_files,
        intact_bytes,
        not_carried,
        package,
    })
}

/// The package file at `path` against its entry; a link is never followed.
fn check_package(size: u64, blake3: Blake3Digest, path: &Path) -> PackageState {
    let path = path.to_owned();
    let file_type = match fs::symlink_metadata(&path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return PackageState::Missing { path };
        }
        Err(error) => {
            let error = error.to_string();
            let found = Found::Unreadable { error };
            return PackageState::Changed { path, found };
        }
        Ok(metadata) => metadata.file_type(),
    };
    let file_type = EntryType::of(file_type);
    if file_type != EntryType::File {
        let found = Found::NotAFile { file_type };
        return PackageState::Changed { path, found };
    }
    let hashed = with_read_buffer(|buffer| hash_blake3_mapped(&path, buffer, &NoProgress));
    match judge(size, blake3, hashed) {
        None => PackageState::Intact { path },
        Some(found) => PackageState::Changed { path, found },
    }
}

/// `None` when a hashed file matches its entry, else what was found instead.
fn judge(
    size: u64,
    blake3: Blake3Digest,
    hashed: io::Result<(u64, blake3::Hash)>,
) -> Option<Found> {
    match hashed {
        Ok((actual_size, actual)) if actual_size == size && actual == blake3.0 => None,
        Ok((size, blake3)) => Some(Found::Content {
            size,
            blake3: Blake3Digest(blake3),
        }),
        Err(error) => Some(Found::Unreadable {
            error: error.to_string(),
        }),
    }
}

fn changed_entry(entry: &FileEntry, found: Found) -> Changed {
    Changed {
        path: entry.path.to_string(),
        expected_size: entry.size,
        expected_blake3: entry.blake3,
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::create;
    use crate::relpath::RelPath;

    fn entry(path: &str, bytes: &[u8], carried: bool) -> FileEntry {
        FileEntry {
            path: RelPath::new(path).unwrap(),
            size: bytes.len() as u64,
            blake3: Blake3Digest(blake3::hash(bytes)),
            sha1: None,
            carried,
            volume: None,
            chunks: Vec::new(),
        }
    }

    /// Files left off the media on purpose are counted apart, neither missing nor intact.
    #[test]
    fn files_not_carried_are_counted_not_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("here.cab"), b"here").unwrap();
        let listed = create::for_tests(vec![
            entry("elsewhere.cab", b"a", false),
            entry("gone.cab", b"b", true),
            entry("here.cab", b"here", true),
            entry("held.cab", b"c", false),
        ]);
        let check = check(&listed, dir.path(), Path::new(""), None, &NoProgress).unwrap();
        assert_eq!(check.not_carried, 2);
        assert_eq!(check.missing, ["gone.cab"]);
        assert_eq!((check.intact_files, check.intact_bytes), (1, 4));
    }

    /// Only a package that is not there is missing; one that cannot be looked at is changed,
    /// with why.
    #[test]
    fn a_package_is_missing_only_when_it_is_not_there() {
        let dir = tempfile::tempdir().unwrap();
        let blake3 = Blake3Digest(blake3::hash(b"package"));
        let absent = dir.path().join("export.cab");
        assert_eq!(
            check_package(7, blake3, &absent),
            PackageState::Missing { path: absent }
        );
        // A name no system takes (a NUL in it): the look-up itself fails.
        let unnamable = dir.path().join("export\0.cab");
        assert!(matches!(
            check_package(7, blake3, &unnamable),
            PackageState::Changed {
                found: Found::Unreadable { .. },
                ..
            }
        ));
        let intact = dir.path().join("intact.cab");
        std::fs::write(&intact, b"package").unwrap();
        assert_eq!(
            check_package(7, blake3, &intact),
            PackageState::Intact { path: intact }
        );
    }
}
