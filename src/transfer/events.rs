//! What a transfer workflow tells its caller while it runs, without printing: each step as it
//! happens (for a step log and warnings), wsusutil starting and ending (for a spinner), and
//! the progress of each counted stage (for progress bars).

use std::path::Path;

use crate::check::UpdateGap;
use crate::content::Finding;
use crate::manifest::TransferMode;
use crate::manifest::keys::KeyId;
use crate::mirror::PlanTotals;
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
        totals: &'a PlanTotals,
        held: u64,
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
}

/// Receives a workflow's steps and hands out progress for its stages. Both have empty
/// defaults: a caller that wants neither implements nothing.
pub trait Events: Phases {
    fn step(&self, step: &Step<'_>) {
        let _ = step;
    }
}

/// Events that go nowhere.
pub struct Silent;

impl Phases for Silent {}
impl Events for Silent {}
