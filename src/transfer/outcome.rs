//! How a transfer workflow ends: done, refused with the evidence, or failed.
//!
//! A refusal is a verdict (the media, the content or the plan is not fit to go on, exit 1);
//! an error is a run that could not finish (a file unreadable, a lock held, exit 2; wsusutil
//! failed, exit 3). Keeping the two apart in types is what lets every command give the right
//! exit code and one JSON document for each.

use std::io;
use std::path::PathBuf;

use crate::check::UpdateGap;
use crate::manifest::contents::ContentsCheck;
use crate::manifest::create::{self, CreateError};
use crate::manifest::keys::KeyError;
use crate::manifest::relpath::RelPathError;
use crate::manifest::trust::TrustStateError;
use crate::manifest::verify::VerifyError;
use crate::mirror::{MirrorError, Rejected};
use crate::package::PackageError;
use crate::run_lock::RunLockError;

use super::gate::GateError;
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
