//! How a transfer workflow ends: done, refused with the evidence, or failed.
//!
//! A refusal is a verdict (the media, the content or the plan is not fit to go on, exit 1);
//! an error is a run that could not finish (a file unreadable, a lock held, exit 2; wsusutil
//! failed, exit 3). Keeping the two apart in types is what lets every command give the right
//! exit code and one JSON document for each.

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::Serialize;

use crate::atomic_file::CopyError;
use crate::check::UpdateGap;
use crate::manifest::contents::{ContentsCheck, PackageState};
use crate::manifest::create::{self, CreateError};
use crate::manifest::keys::KeyError;
use crate::manifest::trust::TrustStateError;
use crate::manifest::verify::VerifyError;
use crate::mirror::{MirrorError, Rejected};
use crate::package::PackageError;
use crate::relpath::RelPathError;
use crate::run_lock::RunLockError;

use super::gate::GateError;
use super::private::PlaceError;
use super::receipt::ReceiptError;
use super::sequence::SequenceError;
use super::wsusutil::WsusutilError;

/// A workflow that ran to its end: what it did, or why it would not.
#[derive(Debug)]
#[must_use]
pub enum Outcome<T> {
    Done(T),
    Refused(Refusal),
}

/// Why a workflow refused to go on, with the evidence a report needs. Nothing the refusal
/// protects was changed.
#[derive(Debug)]
pub enum Refusal {
    /// The manifest itself: unsigned, a bad signature, an unknown format, expired, replayed.
    Manifest(VerifyError),
    /// The media is not as signed, or its package references files the manifest does not
    /// list.
    Media {
        media: PathBuf,
        contents: Box<ContentsCheck>,
        /// Package references the manifest neither lists nor acknowledges as gaps.
        unlisted_references: Vec<String>,
        /// The updates that need those references.
        at_risk: Vec<UpdateGap>,
    },
    /// Links where the media must hold a folder or a file of its own (its content folder,
    /// the manifest, its signature), relative to the media: never followed.
    Links { media: PathBuf, paths: Vec<String> },
    /// Files the manifest lists that neither the media nor the content folder holds.
    NotCovered {
        content: PathBuf,
        paths: Vec<String>,
        at_risk: Vec<UpdateGap>,
    },
    /// Export: content files a manifest cannot vouch for (damaged, unsafe names, names that
    /// collide on Windows).
    Content {
        content: PathBuf,
        problems: Vec<create::Refusal>,
    },
    /// Export: files the package references that the content lacks (without
    /// `allow_gaps`).
    Gaps {
        content: PathBuf,
        gaps: Vec<String>,
        at_risk: Vec<UpdateGap>,
    },
    /// Import of mirror-mode media: the copy would delete more than the brake allows.
    TooManyDeletions {
        planned: u64,
        max: u64,
        /// The files it would delete.
        paths: Vec<String>,
    },
    /// Import: files that were not as signed when copied, so not put in place.
    Rejected { rejected: Vec<Rejected> },
    /// Import of a volume: another transfer's volumes are being taken in, and this one is
    /// not newer.
    OtherTransfer {
        media: PathBuf,
        sequence: u64,
        in_progress: u64,
        needed: Vec<u32>,
    },
}

/// The refusal in one sentence.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files = |count: usize| if count == 1 { "file" } else { "files" };
        match self {
            Refusal::Manifest(error) => write!(f, "{error}"),
            Refusal::Media {
                media,
                contents,
                unlisted_references,
                ..
            } => write!(
                f,
                "{}: {contents}; {} package {} the manifest does not list",
                media.display(),
                unlisted_references.len(),
                if unlisted_references.len() == 1 {
                    "reference"
                } else {
                    "references"
                },
            ),
            Refusal::Links { media, paths } => write!(
                f,
                "{}: {} where the media must hold {} of its own: {}; links are never followed",
                media.display(),
                if paths.len() == 1 { "a link" } else { "links" },
                if paths.len() == 1 {
                    "a folder or file"
                } else {
                    "folders and files"
                },
                paths.join(", ")
            ),
            Refusal::NotCovered { content, paths, .. } => write!(
                f,
                "{} {} the manifest lists {} neither on the media nor in {}",
                paths.len(),
                files(paths.len()),
                if paths.len() == 1 { "is" } else { "are" },
                content.display(),
            ),
            Refusal::Content { content, problems } => write!(
                f,
                "{} holds {} {} a manifest cannot vouch for",
                content.display(),
                problems.len(),
                files(problems.len()),
            ),
            Refusal::Gaps {
                content,
                gaps,
                at_risk,
            } => write!(
                f,
                "{} lacks {} {} the package references ({} {})",
                content.display(),
                gaps.len(),
                files(gaps.len()),
                at_risk.len(),
                if at_risk.len() == 1 {
                    "update"
                } else {
                    "updates"
                },
            ),
            Refusal::TooManyDeletions { planned, max, .. } => write!(
                f,
                "the media is in mirror mode and the copy would delete {planned} content {} the \
                 manifest does not list, more than --max-delete {max}; nothing was deleted and \
                 wsusutil was not run (rerun with a larger --max-delete or with --quarantine DIR)",
                files(*planned as usize)
            ),
            Refusal::Rejected { .. } => {
                write!(
                    f,
                    "the content folder could not be completed; rerun to resume"
                )
            }
            Refusal::OtherTransfer {
                media,
                sequence,
                in_progress,
                needed,
            } => write!(
                f,
                "{} is a volume of sequence {sequence}, not of sequence {in_progress}, whose \
                 import is under way (volumes still needed: {})",
                media.display(),
                super::volumes::Numbers(needed),
            ),
        }
    }
}

/// A file a refusal concerns, and what is wrong with it.
#[derive(Debug, Serialize)]
pub struct Concerned<'a> {
    pub path: &'a str,
    pub problem: &'static str,
}

impl Refusal {
    /// The kind of refusal, in one word for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Manifest(_) => "manifest",
            Refusal::Media { .. } => "media",
            Refusal::Links { .. } => "links",
            Refusal::NotCovered { .. } => "not-covered",
            Refusal::Content { .. } => "content",
            Refusal::Gaps { .. } => "gaps",
            Refusal::TooManyDeletions { .. } => "too-many-deletions",
            Refusal::Rejected { .. } => "rejected",
            Refusal::OtherTransfer { .. } => "other-transfer",
        }
    }

    /// The updates that would show "Failed to download" for what the refusal found.
    pub fn updates_at_risk(&self) -> &[UpdateGap] {
        match self {
            Refusal::Media { at_risk, .. }
            | Refusal::NotCovered { at_risk, .. }
            | Refusal::Gaps { at_risk, .. } => at_risk,
            _ => &[],
        }
    }

    /// Every file the refusal concerns, with what is wrong with it.
    pub fn files(&self) -> Vec<Concerned<'_>> {
        fn each<'a>(paths: &'a [String], problem: &'static str) -> Vec<Concerned<'a>> {
            paths
                .iter()
                .map(|path| Concerned { path, problem })
                .collect()
        }
        match self {
            Refusal::Manifest(_) | Refusal::OtherTransfer { .. } => Vec::new(),
            Refusal::Media {
                contents,
                unlisted_references,
                ..
            } => {
                let mut files = each(&contents.missing, "missing");
                let changed = contents.changed.iter().map(|changed| &changed.path);
                let extra = contents.extra.iter().map(|extra| &extra.path);
                let unreadable = contents.unlisted.iter().map(|(path, _)| path);
                for (paths, problem) in [
                    (changed.collect::<Vec<_>>(), "changed"),
                    (extra.collect(), "extra"),
                    (unreadable.collect(), "unreadable"),
                ] {
                    files.extend(paths.into_iter().map(|path| Concerned { path, problem }));
                }
                files.extend(each(unlisted_references, "not-listed"));
                // The package, by its name beside the manifest.
                let package = match &contents.package {
                    Some(PackageState::Missing { path }) => Some((path, "missing")),
                    Some(PackageState::Changed { path, .. }) => Some((path, "changed")),
                    _ => None,
                };
                if let Some((path, problem)) = package
                    && let Some(path) = path.file_name().and_then(|name| name.to_str())
                {
                    files.push(Concerned { path, problem });
                }
                files
            }
            Refusal::Links { paths, .. } => each(paths, "link"),
            Refusal::NotCovered { paths, .. } => each(paths, "not-covered"),
            Refusal::Content { problems, .. } => problems
                .iter()
                .map(|problem| Concerned {
                    path: problem.path(),
                    problem: "unvouched",
                })
                .collect(),
            Refusal::Gaps { gaps, .. } => each(gaps, "missing"),
            Refusal::TooManyDeletions { paths, .. } => each(paths, "would-delete"),
            Refusal::Rejected { rejected } => rejected
                .iter()
                .map(|file| Concerned {
                    path: &file.path,
                    problem: "not-as-signed",
                })
                .collect(),
        }
    }
}

/// Why a workflow could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    #[error(transparent)]
    Lock(#[from] RunLockError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(transparent)]
    TrustState(#[from] TrustStateError),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    #[error(transparent)]
    Wsusutil(#[from] WsusutilError),
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error(transparent)]
    Volumes(#[from] super::volumes::VolumesError),
    #[error(transparent)]
    Wsus(#[from] crate::wsus::stage::CarryError),
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    #[error("the import could not be recorded, so it was not started; nothing was changed: {0}")]
    Unrecordable(Box<TransferError>),
    #[error("a package reference is not a safe content path: {0}")]
    UnsafeReference(RelPathError),
    #[error("staging the content on the media did not complete; nothing was signed")]
    StagingIncomplete,
    #[error("{}: {changed} files changed during the import; rerun", content.display())]
    ChangedDuringImport { content: PathBuf, changed: u64 },
    #[error(
        "{}: the package changed while it was copied onto the media; nothing was signed",
        path.display()
    )]
    PackageChanged { path: PathBuf },
    #[error(transparent)]
    Place(#[from] PlaceError),
    #[error("{}: the manifest names no package to import", media.display())]
    NoPackage { media: PathBuf },
    #[error(
        "a dry run cannot plan an export without a package: give --package, or run without \
         --dry-run"
    )]
    DryRunNeedsPackage,
}

impl TransferError {
    /// The error this one wraps, or itself: for callers that look for a known cause.
    pub fn cause(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            TransferError::Key(error) => error,
            TransferError::Sequence(error) => error,
            TransferError::Lock(error) => error,
            TransferError::Receipt(error) => error,
            TransferError::TrustState(error) => error,
            TransferError::Create(error) => error,
            TransferError::Package(error) => error,
            TransferError::Gate(error) => error,
            TransferError::Mirror(error) => error,
            TransferError::Wsusutil(error) => error,
            TransferError::Copy(error) => error,
            TransferError::Place(error) => error,
            TransferError::Volumes(error) => error,
            TransferError::Wsus(crate::wsus::stage::CarryError::Script(error)) => error,
            TransferError::Wsus(error) => error,
            TransferError::Unrecordable(error) => error.cause(),
            other => other,
        }
    }

    pub(crate) fn io(path: &std::path::Path, action: &'static str, source: io::Error) -> Self {
        TransferError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    }
}

/// A refused manifest is a refusal; an unreadable one an error.
impl From<VerifyError> for TransferError {
    fn from(error: VerifyError) -> Self {
        TransferError::Gate(GateError::Verify(error))
    }
}
