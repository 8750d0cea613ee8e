//! Making a manifest from a content folder and an export package, and signing it.
//!
//! Every regular file of the content folder is hashed once (size, BLAKE3, and SHA-1 for
//! content files). The tool refuses to vouch for what it cannot vouch for: a content file
//! whose SHA-1 differs from its name, an empty content file, an unreadable file, a link, a
//! name that is not a safe relative path, or two names that collide on Windows all stop the
//! creation and are listed. The package is read whole first, so a broken export is never
//! signed. The manifest is written before its signature, both atomically: a folder whose
//! signature is missing or stale is visibly unfinished.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::keys::SecretKey;
use super::signature;
use super::verify::check_consistency;
use super::{
    FORMAT_VERSION, FileEntry, MANIFEST_FILE, Manifest, ManifestTotals, PackageEntry,
    SIGNATURE_FILE, Source, Timestamp, TransferMode, trusted_comment,
};
use crate::atomic_file::{self, Access, Existing};
use crate::content::audit::judge;
use crate::content::hash::{FileDigests, hash_blake3, hash_file, with_read_buffer};
use crate::content::layout::{Placement, classify};
use crate::content::tree::{self, EntryType, FolderError, TreeEntry};
use crate::content::{Finding, FindingKind, Severity};
use crate::package::{self, Package, PackageError};
use crate::progress::{NoProgress, Progress};
use crate::relpath::{RelPath, RelPathError};

/// What to put in a new manifest.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub content: PathBuf,
    pub package: Option<PathBuf>,
    pub sequence: u64,
    pub expires_in_days: u16,
    pub mode: TransferMode,
    /// The name of this machine, for the manifest's `source`.
    pub host: String,
    pub now: SystemTime,
    pub jobs: Option<NonZeroUsize>,
}

/// Why no manifest was made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: the package's file name cannot go in a manifest: {problem}", path.display())]
    PackageName {
        path: PathBuf,
        problem: RelPathError,
    },
    #[error("the host name {0:?} holds control characters")]
    Host(String),
    #[error("the sequence number must be at least 1")]
    Sequence,
    #[error("the manifest would not verify: {0}")]
    Inconsistent(String),
    #[error(
        "{} holds {} {} the manifest cannot vouch for",
        content.display(),
        problems.len(),
        if problems.len() == 1 { "file" } else { "files" }
    )]
    Refused {
        content: PathBuf,
        /// Sorted by path: damaged content, links, unsafe names, names colliding on Windows.
        problems: Vec<Refusal>,
    },
}

/// One file the manifest cannot vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Damaged, unreadable, or not a regular file, as an audit would report it.
    Finding(Finding),
    /// A name that is not a safe relative path on every platform.
    UnsafeName { path: String, problem: RelPathError },
    /// A name that collides on Windows with another: the same name ignoring case, or a
    /// file where the other needs a folder.
    CaseCollision { path: String, other: String },
}

/// `kind: path: detail`, as reports list the files a manifest cannot vouch for.
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Finding(finding) => write!(f, "{finding}"),
            Refusal::UnsafeName { path, problem } => write!(f, "unsafe-name: {path}: {problem}"),
            Refusal::CaseCollision { path, other } => {
                write!(
                    f,
                    "case-collision: {path}: collides on Windows with {other}"
                )
            }
        }
    }
}

impl Refusal {
    /// The file concerned.
    pub fn path(&self) -> &str {
        match self {
            Refusal::Finding(finding) => &finding.path,
            Refusal::UnsafeName { path, .. } | Refusal::CaseCollision { path, .. } => path,
        }
    }
}

/// A manifest made, with the warnings its content raised.
#[derive(Debug, Clone)]
pub struct Created {
    pub manifest: Manifest,
    /// `.esd` files whose SHA-1 differs from their name: included, as audit warns only.
    pub warnings: Vec<Finding>,
    /// The package, as read to describe it.
    pub package: Option<Package>,
}

/// A file to hash, with its validated path and whether its name is a content name.
struct Candidate {
    path: PathBuf,
    relative: RelPath,
    size: u64,
    content_name: Option<crate::content::ContentName>,
}

/// Hashes the content folder (and reads the package) and builds the manifest.
pub fn build(options: &CreateOptions, progress: &dyn Progress) -> Result<Created, CreateError> {
    if options.sequence == 0 {
        return Err(CreateError::Sequence);
    }
    if options.host.chars().any(char::is_control) {
        return Err(CreateError::Host(options.host.clone()));
    }
    let (package_entry, read_package) = match &options.package {
        Some(path) => {
            let (entry, read) = describe_package(path)?;
            (Some(entry), Some(read))
        }
        None => (None, None),
    };
    let source = Source {
        server_id: read_package
            .as_ref()
            .map(|package| package.export.server_id.clone()),
        host: options.host.clone(),
    };

    let listing = tree::list(&options.content)?;
    let mut refusals: Vec<Refusal> = listing
        .unreadable
        .into_iter()
        .map(|(path, error)| {
            Refusal::Finding(Finding {
                path,
                kind: FindingKind::Unreadable { error },
            })
        })
        .collect();
    let candidates: Vec<Candidate> = listing
        .entries
        .into_iter()
        .filter_map(|entry| candidate(&options.content, entry, &mut refusals))
        .collect();
    refusals.extend(case_collisions(&candidates));

    let hashed = tree::hash_in_parallel(
        candidates,
        |candidate| candidate.size,
        options.jobs,
        progress,
        |candidate, buffer| hash_file(&candidate.path, buffer, progress),
    )?;
    let (mut entries, mut warnings) = file_entries(hashed, &mut refusals);
    if !refusals.is_empty() {
        refusals.sort_by(|a, b| a.path().cmp(b.path()));
        return Err(CreateError::Refused {
            content: options.content.clone(),
            problems: refusals,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    warnings.sort();

    let manifest = assemble(options, source, package_entry, entries);
    // What verification would refuse is never signed.
    check_consistency(&manifest).map_err(CreateError::Inconsistent)?;
    Ok(Created {
        manifest,
        warnings,
        package: read_package,
    })
}

/// The file to hash that `entry` of the folder `content` is, when it is a regular file with a
/// safe name; otherwise why not goes to `refusals`.
fn candidate(content: &Path, entry: TreeEntry, refusals: &mut Vec<Refusal>) -> Option<Candidate> {
    if entry.file_type != EntryType::File {
        refusals.push(Refusal::Finding(Finding {
            path: entry.relative,
            kind: FindingKind::Other {
                file_type: entry.file_type,
            },
        }));
        return None;
    }
    let relative = match RelPath::of_entry(&entry) {
        Ok(relative) => relative,
        Err(problem) => {
            refusals.push(Refusal::UnsafeName {
                path: entry.relative,
                problem,
            });
            return None;
        }
    };
    let components: Vec<&OsStr> = relative.as_str().split('/').map(OsStr::new).collect();
    let content_name = match classify(&components) {
        Placement::Content { name, .. } => Some(name),
        Placement::Misplaced { .. } | Placement::Other => None,
    };
    Some(Candidate {
        path: entry.path_under(content),
        relative,
        size: entry.size,
        content_name,
    })
}

/// The manifest's entries for the hashed files, in the order given, and the warnings about
/// them. A file that cannot be read or whose content its name proves damaged goes to
/// `refusals` instead.
fn file_entries(
    hashed: Vec<(Candidate, io::Result<FileDigests>)>,
    refusals: &mut Vec<Refusal>,
) -> (Vec<FileEntry>, Vec<Finding>) {
    let mut entries = Vec::with_capacity(hashed.len());
    let mut warnings = Vec::new();
    for (candidate, digests) in hashed {
        let path = candidate.relative.to_string();
        let digests = match digests {
            Ok(digests) => digests,
            Err(error) => {
                refusals.push(Refusal::Finding(Finding {
                    path,
                    kind: FindingKind::Unreadable {
                        error: error.to_string(),
                    },
                }));
                continue;
            }
        };
        let sha1 = match &candidate.content_name {
            Some(name) => {
                match judge(name, &digests.content()) {
                    Some(kind) if kind.severity() == Severity::Error => {
                        refusals.push(Refusal::Finding(Finding { path, kind }));
                        continue;
                    }
                    Some(kind) => warnings.push(Finding { path, kind }),
                    None => {}
                }
                Some(digests.sha1)
            }
            None => None,
        };
        entries.push(FileEntry {
            path: candidate.relative,
            size: digests.size,
            blake3: super::Blake3Digest(digests.blake3),
            sha1,
            carried: true,
            volume: None,
            chunks: Vec::new(),
        });
    }
    (entries, warnings)
}

/// The manifest of `entries` (sorted by path) as `options` describe it, created now.
fn assemble(
    options: &CreateOptions,
    source: Source,
    package: Option<PackageEntry>,
    entries: Vec<FileEntry>,
) -> Manifest {
    let created = Timestamp::new(options.now);
    Manifest {
        format_version: FORMAT_VERSION,
        tool: format!("wsus-airgap {}", env!("CARGO_PKG_VERSION")),
        sequence: options.sequence,
        created,
        expires: created.plus_days(options.expires_in_days),
        mode: options.mode,
        source,
        package,
        totals: ManifestTotals {
            files: entries.len() as u64,
            bytes: entries.iter().map(|entry| entry.size).sum(),
        },
        entries,
        gaps: Vec::new(),
        volumes: None,
        wsus: None,
    }
}

/// A manifest of `entries` (sorted by path), sequence 5, made now and good for a day, for
/// the tests of the modules that read manifests.
#[cfg(test)]
pub(crate) fn for_tests(entries: Vec<FileEntry>) -> Manifest {
    let options = CreateOptions {
        content: PathBuf::new(),
        package: None,
        sequence: 5,
        expires_in_days: 1,
        mode: TransferMode::Incremental,
        host: "test".into(),
        now: SystemTime::now(),
        jobs: None,
    };
    let source = Source {
        server_id: None,
        host: options.host.clone(),
    };
    assemble(&options, source, None, entries)
}

/// Reads the package whole (so a broken one is never signed) and hashes it.
fn describe_package(path: &Path) -> Result<(PackageEntry, Package), CreateError> {
    let package = package::open(path)?;
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let name = RelPath::new(&file_name).map_err(|problem| CreateError::PackageName {
        path: path.to_owned(),
        problem,
    })?;
    let (size, blake3) = with_read_buffer(|buffer| hash_blake3(path, buffer, &NoProgress))
        .map_err(|source| CreateError::Io {
            path: path.to_owned(),
            source,
        })?;
    let entry = PackageEntry {
        name,
        size,
        blake3: super::Blake3Digest(blake3),
        container: package.container,
    };
    Ok((entry, package))
}

/// Names that are one file on NTFS and FAT (differing only in case), and files whose name,
/// ignoring case, is a folder of another file's path.
fn case_collisions(candidates: &[Candidate]) -> Vec<Refusal> {
    let mut by_folded: HashMap<String, &RelPath> = HashMap::with_capacity(candidates.len());
    let mut collisions = Vec::new();
    for candidate in candidates {
        let path = &candidate.relative;
        if let Some(other) = by_folded.insert(path.folded(), path) {
            collisions.push(Refusal::CaseCollision {
                path: path.to_string(),
                other: other.to_string(),
            });
        }
    }
    for candidate in candidates {
        let folded = candidate.relative.folded();
        for (end, _) in folded.match_indices('/') {
            if let Some(file) = by_folded.get(&folded[..end]) {
                collisions.push(Refusal::CaseCollision {
                    path: candidate.relative.to_string(),
                    other: file.to_string(),
                });
            }
        }
    }
    collisions
}

/// Where a signed manifest was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub manifest: PathBuf,
    pub signature: PathBuf,
    pub manifest_bytes: u64,
}

/// Serializes `manifest`, signs it, and writes both files into `folder`: manifest first,
/// signature last, each atomically.
pub fn sign_and_write(
    manifest: &Manifest,
    secret: &SecretKey,
    folder: &Path,
) -> Result<Written, CreateError> {
    let bytes = to_bytes(manifest);
    let signature_text = signature::sign(secret, &bytes, &trusted_comment(manifest));
    let manifest_path = folder.join(MANIFEST_FILE);
    let signature_path = folder.join(SIGNATURE_FILE);
    for (path, content) in [
        (&manifest_path, bytes.as_slice()),
        (&signature_path, signature_text.as_bytes()),
    ] {
        atomic_file::write(path, content, Access::Shared, Existing::Replace).map_err(|source| {
            CreateError::Io {
                path: path.clone(),
                source,
            }
        })?;
    }
    Ok(Written {
        manifest: manifest_path,
        signature: signature_path,
        manifest_bytes: bytes.len() as u64,
    })
}

/// The manifest's bytes: pretty JSON, two-space indent, a final newline.
pub fn to_bytes(manifest: &Manifest) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(manifest).expect("a manifest serializes");
    bytes.push(b'\n');
    bytes
}

/// This machine's name, for the manifest's source.
pub fn host_name() -> String {
    let from_system = if cfg!(windows) {
        std::env::var("COMPUTERNAME").ok()
    } else {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
    };
    from_system
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && !name.chars().any(char::is_control))
        .unwrap_or_else(|| "unknown".to_owned())
}
