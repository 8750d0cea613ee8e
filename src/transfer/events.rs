//! What a transfer workflow tells its caller while it runs, without printing: each step as it
//! happens (for a step log and warnings), wsusutil starting and ending (for a spinner), and
//! the progress of each counted stage (for progress bars).

use std::fmt;
use std::path::Path;

use crate::check::UpdateGap;
use crate::content::Finding;
use crate::manifest::keys::KeyId;
use crate::manifest::{Timestamp, TransferMode};
use crate::mirror::{Action, ActionKind, PlanTotals};

use super::export::Staging;
use crate::progress::Phases;

/// A step of an export or import, in the order the workflow takes them.
#[derive(Debug)]
pub enum Step<'a> {
    ExportStarted {
        content: &'a Path,
        media: &'a Path,
        sequence: u64,
        key_id: KeyId,
        mode: TransferMode,
        dry_run: bool,
    },
    /// The sequence asked for is not above the last one signed with the key.
    SequenceNotNewer {
        sequence: u64,
        last: u64,
    },
    /// Hashing the content found a file a manifest includes with a warning.
    ContentWarning(&'a Finding),
    PackageRead {
        path: &'a Path,
        updates: usize,
    },
    /// The content lacks files the package references, and the export goes on with them
    /// listed as gaps.
    GapsAllowed {
        content: &'a Path,
        gaps: &'a [String],
        at_risk: &'a [UpdateGap],
    },
    /// The content the other side lacks is on the media (or, in a dry run, would be).
    Staged {
        staging: Staging<'a>,
        dry_run: bool,
    },
    Signed {
        sequence: u64,
        files_listed: u64,
        files_carried: u64,
    },
    ImportStarted {
        media: &'a Path,
        content: &'a Path,
        dry_run: bool,
    },
    Verified {
        key_id: KeyId,
        sequence: u64,
        files_listed: u64,
    },
    /// The content folder now holds what the media carried (or, in a dry run, would).
    Copied {
        totals: &'a PlanTotals,
        dry_run: bool,
    },
    /// A content file the copy deleted or quarantined (in a dry run, would).
    Removed(FileLine<'a>),
    /// wsusutil is about to run `verb` (`export`, `import`, `reset`).
    WsusutilStarted {
        program: &'a Path,
        verb: &'a str,
    },
    /// wsusutil's `verb` ended, successfully or not.
    WsusutilEnded {
        verb: &'a str,
        succeeded: bool,
    },
    /// The receipt could not also be left on the media; the one beside the content stands.
    ReceiptNotOnMedia {
        error: &'a dyn std::error::Error,
        kept_at: &'a Path,
    },
    Imported {
        sequence: u64,
        receipt: &'a Path,
    },
    /// The media's manifest is the one last accepted: nothing is done, but a missing
    /// receipt is written again.
    AlreadyImported {
        sequence: u64,
        accepted: Timestamp,
        receipt: &'a Path,
        rewritten: bool,
    },
    /// A step of a transfer split over volumes.
    Volume(super::volumes::VolumeStep<'a>),
    /// A step of WSUS itself: its state carried, read, planned, applied, waited for.
    Wsus(crate::wsus::stage::WsusStep<'a>),
}

/// The step in words, as a step log records it.
impl fmt::Display for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dry_run = |dry_run: bool| if dry_run { ", dry run" } else { "" };
        match self {
            Step::ExportStarted {
                content,
                media,
                sequence,
                key_id,
                mode,
                dry_run: is_dry_run,
            } => write!(
                f,
                "started: content {}, media {}, sequence {sequence}, key {key_id}, mode {mode}{}",
                content.display(),
                media.display(),
                dry_run(*is_dry_run)
            ),
            Step::SequenceNotNewer { sequence, last } => write!(
                f,
                "sequence {sequence} is not above {last}, the last signed with this key: a \
                 receiving side that imported {last} refuses it as replayed"
            ),
            Step::ContentWarning(finding) => write!(f, "warning: {finding}"),
            Step::PackageRead { path, updates } => {
                write!(f, "package {}: {updates} updates", path.display())
            }
            Step::GapsAllowed {
                content,
                gaps,
                at_risk,
            } => write!(
                f,
                "{} lacks {} the package references ({}); exported with --allow-gaps, listed \
                 as gaps",
                content.display(),
                counted(gaps.len(), "file"),
                counted(at_risk.len(), "update"),
            ),
            Step::Staged { staging, dry_run } => {
                let what = if *dry_run { "dry run" } else { "staged" };
                write!(f, "{what}: {staging}")
            }
            Step::Signed {
                sequence,
                files_listed,
                files_carried,
            } => write!(
                f,
                "finished: sequence {sequence} signed, {files_listed} files listed, \
                 {files_carried} carried"
            ),
            Step::ImportStarted {
                media,
                content,
                dry_run: is_dry_run,
            } => write!(
                f,
                "started: media {}, content {}{}",
                media.display(),
                content.display(),
                dry_run(*is_dry_run)
            ),
            Step::Verified {
                key_id,
                sequence,
                files_listed,
            } => write!(
                f,
                "verified: key {key_id}, sequence {sequence}, {files_listed} files listed"
            ),
            Step::Copied { totals, dry_run } => {
                let what = if *dry_run { "dry run" } else { "content" };
                write!(f, "{what}: {totals}")
            }
            Step::Removed(line) => write!(f, "{line}"),
            Step::WsusutilStarted { program, verb } => {
                write!(f, "running {} {verb}", program.display())
            }
            Step::WsusutilEnded { verb, succeeded } => {
                let how = if *succeeded { "done" } else { "failed" };
                write!(f, "wsusutil {verb}: {how}")
            }
            Step::ReceiptNotOnMedia { error, kept_at } => {
                write!(f, "{error} (the receipt is also at {})", kept_at.display())
            }
            Step::Imported { sequence, receipt } => write!(
                f,
                "finished: sequence {sequence} imported; receipt {}",
                receipt.display()
            ),
            Step::AlreadyImported { .. } => already_imported(f, self),
            Step::Volume(step) => write!(f, "{step}"),
            Step::Wsus(step) => write!(f, "{step}"),
        }
    }
}

/// `N thing` or `1 thing`.
fn counted(count: usize, thing: &str) -> String {
    if count == 1 {
        format!("1 {thing}")
    } else {
        format!("{count} {thing}s")
    }
}

/// A file an import copied, replaced, deleted or quarantined (in a dry run, would), in words:
/// `would copy: <path>`, `deleted: <path>`, `quarantined: <path> (to <where>)`.
#[derive(Debug, Clone, Copy)]
pub struct FileLine<'a> {
    pub action: &'a Action,
    /// Where quarantined files go.
    pub quarantine: Option<&'a Path>,
    pub dry_run: bool,
}

impl FileLine<'_> {
    /// `would copy`, `deleted`, `quarantined` and the like.
    pub fn verb(&self) -> &'static str {
        match (self.action.kind, self.dry_run) {
            (ActionKind::Copy, true) => "would copy",
            (ActionKind::Copy, false) => "copied",
            (ActionKind::Replace, true) => "would replace",
            (ActionKind::Replace, false) => "replaced",
            (ActionKind::Quarantine, true) => "would quarantine",
            (ActionKind::Quarantine, false) => "quarantined",
            (_, true) => "would delete",
            (_, false) => "deleted",
        }
    }
}

impl fmt::Display for FileLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.action.path;
        write!(f, "{}: {path}", self.verb())?;
        match self.quarantine {
            Some(folder) if self.action.kind == ActionKind::Quarantine => {
                write!(f, " (to {})", path.under(folder).display())
            }
            _ => Ok(()),
        }
    }
}

/// `finished: sequence N already imported at T; nothing was changed`, and the receipt if it
/// was written again.
fn already_imported(f: &mut fmt::Formatter<'_>, step: &Step<'_>) -> fmt::Result {
    let Step::AlreadyImported {
        sequence,
        accepted,
        receipt,
        rewritten,
    } = step
    else {
        unreachable!("only AlreadyImported is written here")
    };
    write!(
        f,
        "finished: sequence {sequence} already imported at {accepted}; nothing was changed"
    )?;
    if *rewritten {
        write!(
            f,
            "; the missing receipt {} written again",
            receipt.display()
        )?;
    }
    Ok(())
}

/// Receives a workflow's steps and hands out progress for its stages. Both have empty
/// defaults: a caller that wants neither implements nothing.
pub trait Events: Phases {
    fn step(&self, step: &Step<'_>) {
        let _ = step;
    }
}
