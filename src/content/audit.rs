//! Auditing a WsusContent folder with nothing but the folder itself.
//!
//! Every content file is named by its SHA-1, so hashing each one and comparing with its name
//! proves the store intact without a manifest or the WSUS database. The audit walks the tree
//! (sorted, never following links), classifies every entry, hashes content-shaped files in
//! parallel (SHA-1 only: nothing the audit reports needs BLAKE3), and returns findings sorted
//! by path. Problems with single files become findings;
//! only a root that cannot be audited at all is an error.

use std::ffi::OsStr;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

use super::hash::{ContentDigests, hash_sha1};
use super::layout::{ContentName, Placement, Sha1Digest, classify};
use super::tree::{self, EntryType, FolderError, TreeEntry};
use crate::progress::Progress;

/// How to run an audit.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Number of hashing threads; `None` uses one per CPU.
    pub jobs: Option<NonZeroUsize>,
}

/// How much a finding matters. Only errors make an audit fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// One thing the audit found about one path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FindingKind {
    /// The file's SHA-1 differs from the one its name promises.
    Corrupt {
        expected_sha1: Sha1Digest,
        actual_sha1: Sha1Digest,
    },
    /// A content file of zero bytes: the usual trace of an interrupted download or copy.
    Empty,
    /// A content-shaped name outside the folder WSUS would look in.
    Misplaced { expected_path: String },
    /// The entry could not be read.
    Unreadable { error: String },
    /// An `.esd` file whose SHA-1 differs from its name. WSUS decrypts `.esd` files in place
    /// and it is unconfirmed whether they keep their name's hash, so this is a warning.
    EsdMismatch {
        expected_sha1: Sha1Digest,
        actual_sha1: Sha1Digest,
    },
    /// A content file named in lower-case hex; WSUS writes upper case.
    LowerCase { expected_path: String },
    /// Not a content file, such as `anonymousCheckFile.txt`: listed, not a problem.
    Other { file_type: EntryType },
}

impl FindingKind {
    pub fn severity(&self) -> Severity {
        match self {
            FindingKind::Corrupt { .. }
            | FindingKind::Empty
            | FindingKind::Misplaced { .. }
            | FindingKind::Unreadable { .. } => Severity::Error,
            FindingKind::EsdMismatch { .. } => Severity::Warning,
            FindingKind::LowerCase { .. } | FindingKind::Other { .. } => Severity::Info,
        }
    }

    /// The short name used in reports and JSON (`corrupt`, `esd-mismatch`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            FindingKind::Corrupt { .. } => "corrupt",
            FindingKind::Empty => "empty",
            FindingKind::Misplaced { .. } => "misplaced",
            FindingKind::Unreadable { .. } => "unreadable",
            FindingKind::EsdMismatch { .. } => "esd-mismatch",
            FindingKind::LowerCase { .. } => "lower-case",
            FindingKind::Other { .. } => "other",
        }
    }
}

/// A finding about one path, relative to the audited root with `/` separators.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub path: String,
    pub kind: FindingKind,
}

/// `kind: path: detail`, as reports list findings.
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: ", self.kind.name(), self.path)?;
        match &self.kind {
            FindingKind::Corrupt {
                expected_sha1,
                actual_sha1,
            } => write!(
                f,
                "expected SHA-1 {expected_sha1} (from the name), found {actual_sha1}"
            ),
            FindingKind::Empty => write!(f, "content file is empty (0 bytes)"),
            FindingKind::Misplaced { expected_path } => write!(f, "belongs at {expected_path}"),
            FindingKind::Unreadable { error } => write!(f, "{error}"),
            FindingKind::EsdMismatch {
                expected_sha1,
                actual_sha1,
            } => write!(
                f,
                "expected SHA-1 {expected_sha1} (from the name), found {actual_sha1}; \
                 a warning only: WSUS may decrypt .esd files in place"
            ),
            FindingKind::LowerCase { expected_path } => {
                write!(f, "lower-case hex; WSUS writes {expected_path}")
            }
            FindingKind::Other { file_type } => f.write_str(match file_type {
                EntryType::File => "not a content file",
                EntryType::Link => "link, not followed",
                EntryType::Special => "not a regular file, not opened",
            }),
        }
    }
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            path: &'a str,
            severity: Severity,
            #[serde(flatten)]
            kind: &'a FindingKind,
        }
        Flat {
            path: &self.path,
            severity: self.kind.severity(),
            kind: &self.kind,
        }
        .serialize(serializer)
    }
}

/// Counts and timing of an audit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Every entry that is not a folder.
    pub files: u64,
    /// Content-shaped files, in place or misplaced; these are the ones hashed.
    pub content_files: u64,
    /// Bytes read and hashed.
    pub bytes: u64,
    pub seconds: f64,
    pub bytes_per_second: f64,
}

/// One hashed file: what it holds now, whatever its name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the audited root, with `/` separators.
    pub path: String,
    pub digests: ContentDigests,
}

/// The result of an audit: findings sorted by path, then kind, and the inventory of every
/// content file that could be read, sorted by path.
#[derive(Debug, Clone)]
pub struct Audit {
    pub root: PathBuf,
    pub findings: Vec<Finding>,
    pub inventory: Vec<Entry>,
    pub totals: Totals,
}

/// The verdict: `clean` or `3 problems (1 corrupt, 2 misplaced)`, and the warnings if any.
impl std::fmt::Display for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tally = |severity: Severity| {
            let mut by_kind: std::collections::BTreeMap<&str, usize> = Default::default();
            for finding in self.findings.iter() {
                if finding.kind.severity() == severity {
                    *by_kind.entry(finding.kind.name()).or_default() += 1;
                }
            }
            let total: usize = by_kind.values().sum();
            let parts: Vec<String> = by_kind
                .iter()
                .map(|(kind, count)| format!("{count} {kind}"))
                .collect();
            (total, parts.join(", "))
        };
        let (problems, problem_kinds) = tally(Severity::Error);
        let (warnings, warning_kinds) = tally(Severity::Warning);
        match problems {
            0 => write!(f, "clean")?,
            1 => write!(f, "1 problem ({problem_kinds})")?,
            _ => write!(f, "{problems} problems ({problem_kinds})")?,
        }
        match warnings {
            0 => Ok(()),
            1 => write!(f, "; 1 warning ({warning_kinds})"),
            _ => write!(f, "; {warnings} warnings ({warning_kinds})"),
        }
    }
}

impl Audit {
    /// Number of findings of the given severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.kind.severity() == severity)
            .count()
    }

    /// True when nothing of [`Severity::Error`] was found.
    pub fn is_clean(&self) -> bool {
        self.count(Severity::Error) == 0
    }
}

/// A content-shaped file waiting to be hashed.
struct Candidate {
    relative: String,
    path: PathBuf,
    size: u64,
    name: ContentName,
    /// False when the file is misplaced.
    in_place: bool,
}

/// Audits the WsusContent folder at `root`.
pub fn audit(
    root: &Path,
    options: &AuditOptions,
    progress: &dyn Progress,
) -> Result<Audit, FolderError> {
    let started = Instant::now();
    let listing = tree::list(root)?;
    let mut findings: Vec<Finding> = listing
        .unreadable
        .into_iter()
        .map(|(path, error)| Finding {
            path,
            kind: FindingKind::Unreadable { error },
        })
        .collect();
    let files = listing.entries.len() as u64;
    let candidates: Vec<Candidate> = listing
        .entries
        .into_iter()
        .filter_map(|entry| candidate(root, entry, &mut findings))
        .collect();

    let hashed = tree::hash_in_parallel(
        candidates,
        |candidate| candidate.size,
        options.jobs,
        progress,
        |candidate, buffer| hash_sha1(&candidate.path, buffer, progress),
    )?;

    let content_files = hashed.len() as u64;
    let mut inventory = judge_hashed(hashed, &mut findings);
    let bytes = inventory.iter().map(|entry| entry.digests.size).sum();
    findings.sort();
    inventory.sort_by(|a, b| a.path.cmp(&b.path));

    let elapsed = started.elapsed();
    Ok(Audit {
        root: root.to_owned(),
        findings,
        inventory,
        totals: Totals {
            files,
            content_files,
            bytes,
            seconds: elapsed.as_secs_f64(),
            bytes_per_second: throughput(bytes, elapsed),
        },
    })
}

/// The file to hash that `entry` is, when its name is content-shaped. What its type and name
/// alone tell (not a content file, a lower-case name) goes to `findings`.
fn candidate(root: &Path, entry: TreeEntry, findings: &mut Vec<Finding>) -> Option<Candidate> {
    if entry.file_type != EntryType::File {
        findings.push(Finding {
            path: entry.relative,
            kind: FindingKind::Other {
                file_type: entry.file_type,
            },
        });
        return None;
    }
    let components: Vec<&OsStr> = entry.relative_path().iter().collect();
    let (name, in_place) = match classify(&components) {
        Placement::Other => {
            findings.push(Finding {
                path: entry.relative,
                kind: FindingKind::Other {
                    file_type: EntryType::File,
                },
            });
            return None;
        }
        Placement::Content { name, lower_case } => {
            if lower_case {
                findings.push(Finding {
                    path: entry.relative.clone(),
                    kind: FindingKind::LowerCase {
                        expected_path: name.expected_path(),
                    },
                });
            }
            (name, true)
        }
        Placement::Misplaced { name } => (name, false),
    };
    Some(Candidate {
        path: entry.path_under(root),
        relative: entry.relative,
        size: entry.size,
        name,
        in_place,
    })
}

/// Judges each hashed file against its name and place, adding what is wrong to `findings`,
/// and returns the inventory of the files that could be read, in the order given.
fn judge_hashed(
    hashed: Vec<(Candidate, io::Result<ContentDigests>)>,
    findings: &mut Vec<Finding>,
) -> Vec<Entry> {
    let mut inventory = Vec::with_capacity(hashed.len());
    for (candidate, digests) in hashed {
        if !candidate.in_place {
            findings.push(Finding {
                path: candidate.relative.clone(),
                kind: FindingKind::Misplaced {
                    expected_path: candidate.name.expected_path(),
                },
            });
        }
        match digests {
            Ok(digests) => {
                if let Some(kind) = judge(&candidate.name, &digests) {
                    findings.push(Finding {
                        path: candidate.relative.clone(),
                        kind,
                    });
                }
                inventory.push(Entry {
                    path: candidate.relative,
                    digests,
                });
            }
            Err(error) => findings.push(Finding {
                path: candidate.relative,
                kind: FindingKind::Unreadable {
                    error: error.to_string(),
                },
            }),
        }
    }
    inventory
}

/// What a content file's digests say against its name, if anything is wrong. The one place
/// that decides what counts as corrupt, empty or an `.esd` mismatch.
pub(crate) fn judge(name: &ContentName, digests: &ContentDigests) -> Option<FindingKind> {
    if digests.sha1 == name.sha1 {
        return None;
    }
    if digests.size == 0 {
        return Some(FindingKind::Empty);
    }
    let expected_sha1 = name.sha1;
    let actual_sha1 = digests.sha1;
    Some(if name.extension.eq_ignore_ascii_case("esd") {
        FindingKind::EsdMismatch {
            expected_sha1,
            actual_sha1,
        }
    } else {
        FindingKind::Corrupt {
            expected_sha1,
            actual_sha1,
        }
    })
}

fn throughput(bytes: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        bytes as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_is_bytes_per_second_and_zero_without_time() {
        assert_eq!(throughput(3_000, Duration::from_millis(1_500)), 2_000.0);
        assert_eq!(throughput(5, Duration::ZERO), 0.0);
    }

    fn name(hex: &str, extension: &str) -> ContentName {
        ContentName {
            sha1: Sha1Digest::from_hex(hex).unwrap(),
            extension: extension.to_owned(),
            lower_case: false,
        }
    }

    fn digests(size: u64, hex: &str) -> ContentDigests {
        ContentDigests {
            size,
            sha1: Sha1Digest::from_hex(hex).unwrap(),
        }
    }

    const A: &str = "FB0A150601470195C47B4E8D87FCB3F50292BEB2";
    const B: &str = "A9993E364706816ABA3E25717850C26C9CD0D89D";

    #[test]
    fn inventory_holds_size_and_sha1_of_every_readable_content_file() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::synth::SiteSpec {
            files: 5,
            max_size: 10_000,
            ..Default::default()
        };
        let site = crate::synth::generate(dir.path(), &spec).unwrap();
        site.corrupt(0).unwrap();
        let audit = audit(
            dir.path(),
            &AuditOptions::default(),
            &crate::progress::NoProgress,
        )
        .unwrap();
        let paths: Vec<&str> = audit.inventory.iter().map(|e| e.path.as_str()).collect();
        let expected: Vec<&str> = site.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, expected);
        for entry in &audit.inventory {
            let bytes = std::fs::read(dir.path().join(&entry.path)).unwrap();
            let sha1 = <sha1::Sha1 as sha1::Digest>::digest(&bytes);
            assert_eq!(entry.digests.sha1, Sha1Digest(sha1.into()));
            assert_eq!(entry.digests.size, bytes.len() as u64);
        }
        assert_ne!(audit.inventory[0].digests.sha1, site.files[0].sha1);
    }

    #[test]
    fn matching_digest_is_fine() {
        assert_eq!(judge(&name(A, "cab"), &digests(10, A)), None);
    }

    #[test]
    fn mismatch_is_corrupt_empty_or_esd_warning() {
        assert!(matches!(
            judge(&name(A, "cab"), &digests(10, B)),
            Some(FindingKind::Corrupt { .. })
        ));
        assert_eq!(
            judge(&name(A, "cab"), &digests(0, B)),
            Some(FindingKind::Empty)
        );
        let esd = judge(&name(A, "ESD"), &digests(10, B)).unwrap();
        assert_eq!(esd.severity(), Severity::Warning);
    }

    #[test]
    fn an_empty_file_named_by_the_empty_hash_is_intact() {
        let empty = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709";
        assert_eq!(judge(&name(empty, "cab"), &digests(0, empty)), None);
    }
}
