//! The data of the transfer commands' reports: what `--json` serialises, so that any other
//! rendering of the same outcome reads the same structure and the two never disagree.

use serde::Serialize;

use crate::check::UpdateGap;
use crate::check::report::PackageOrigin;
use crate::manifest::Timestamp;
use crate::manifest::volumes::VolumeContents;
use crate::mirror::{Action, PlanTotals};
use crate::relpath::RelPath;

use super::gate::MediaCheck;
use super::outcome::Concerned;
use super::volumes::Marker;
use super::volumes::outlook::VolumeNeeded;
use super::{Exported, Imported, Ready, Refusal};
use crate::wsus::Stage;
use crate::wsus::settings::SettingWarning;
pub use crate::wsus::stage::Carried;

/// An export's report (`result`: `exported`, or `dry-run`).
#[derive(Debug, Serialize)]
pub struct ExportReport<'a> {
    pub result: &'static str,
    pub media: String,
    pub sequence: u64,
    pub key_id: String,
    pub package: String,
    pub files_listed: u64,
    pub files_carried: u64,
    pub gaps: &'a [RelPath],
    pub staged: PlanTotals,
    /// The manifest written; `None` in a dry run.
    pub manifest: Option<String>,
    /// A split transfer: what each volume holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeContents>,
    /// What the manifest carries of the WSUS server; `None` with `--no-approvals`.
    pub wsus: Option<Carried>,
}

impl Exported {
    pub fn report(&self) -> ExportReport<'_> {
        let manifest = &self.manifest;
        ExportReport {
            result: if self.written.is_some() {
                "exported"
            } else {
                "dry-run"
            },
            media: self.media.display().to_string(),
            sequence: manifest.sequence,
            key_id: self.key_id.to_string(),
            package: self.package.display().to_string(),
            files_listed: manifest.totals.files,
            files_carried: self.files_carried(),
            gaps: &manifest.gaps,
            staged: self.staged,
            manifest: self
                .written
                .as_ref()
                .map(|written| written.manifest.display().to_string()),
            volumes: crate::manifest::volumes::contents(manifest),
            wsus: manifest.wsus.as_ref().map(Carried::of),
        }
    }
}

/// A verification's report when the media would import (`result`: `ready`).
#[derive(Debug, Serialize)]
pub struct ReadyReport<'a> {
    pub result: &'static str,
    pub media: String,
    pub key_id: String,
    pub sequence: u64,
    pub expires: String,
    pub gate: GateReport<'a>,
    pub files_intact: u64,
    pub bytes_intact: u64,
    pub files_not_carried: u64,
    pub acknowledged_gaps: &'a [String],
    /// The updates the acknowledged gaps leave without their files.
    pub updates_at_risk: &'a [UpdateGap],
    pub import_would_copy: Option<PlanTotals>,
    /// For a volume of a split transfer: which volume of how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<Marker>,
    /// For a volume of a split transfer, with `--content`: the other volumes still needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes_needed: Option<&'a [VolumeNeeded]>,
    /// The settings this WSUS server does not share with the source; `None` when they were
    /// not compared (no WSUS state on the media, or `--no-settings-check`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<&'a [SettingWarning]>,
}

impl Ready {
    pub fn report(&self) -> ReadyReport<'_> {
        let check = &self.check;
        let manifest = &check.verified.manifest;
        ReadyReport {
            result: "ready",
            media: self.media.display().to_string(),
            key_id: check.verified.key_id.to_string(),
            sequence: manifest.sequence,
            expires: manifest.expires.to_string(),
            gate: GateReport::new(check),
            files_intact: check.contents.intact_files,
            bytes_intact: check.contents.intact_bytes,
            files_not_carried: check.contents.not_carried,
            acknowledged_gaps: &check.acknowledged_gaps,
            updates_at_risk: &check.gap_updates,
            import_would_copy: self.import_would_copy,
            volume: check.volume,
            volumes_needed: self.volumes_needed.as_deref(),
            settings: None,
        }
    }
}

/// What the gate proved beyond the key, the sequence and the expiry: where and when the media
/// was signed, the sequence it follows, and the package it carries.
#[derive(Debug, Serialize)]
pub struct GateReport<'a> {
    /// When the manifest was signed, and the name of the machine that signed it.
    pub signed: Timestamp,
    pub signed_on: &'a str,
    /// The sequence last accepted from this key, per the trust state; `None` when it held
    /// none.
    pub last_accepted: Option<u64>,
    /// The WSUS server that wrote the package the media carries, and when; `None` without a
    /// package.
    pub package: Option<PackageOrigin<'a>>,
}

impl<'a> GateReport<'a> {
    fn new(check: &'a MediaCheck) -> Self {
        let verified = &check.verified;
        GateReport {
            signed: verified.manifest.created,
            signed_on: &verified.manifest.source.host,
            last_accepted: verified.previous.map(|previous| previous.sequence),
            package: check.package.as_ref().map(PackageOrigin::from),
        }
    }
}

/// An import's report (`result`: `imported`, `dry-run`, or `already-imported`).
#[derive(Debug, Serialize)]
pub struct ImportReport<'a> {
    pub result: &'static str,
    pub media: String,
    pub key_id: String,
    pub sequence: u64,
    pub expires: String,
    pub gate: GateReport<'a>,
    pub content: PlanTotals,
    /// Every file copied, replaced, deleted or quarantined (in a dry run, that would be).
    pub files: &'a [Action],
    /// Where quarantined files went.
    pub quarantine: Option<String>,
    pub acknowledged_gaps: &'a [String],
    /// The updates the media's acknowledged gaps leave without their files.
    pub updates_at_risk: &'a [UpdateGap],
    /// The receipt written; `None` in a dry run.
    pub receipt: Option<String>,
    pub reset: bool,
    /// When the manifest was accepted, for media imported already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub already_imported_at: Option<String>,
    /// What the WSUS steps after the import did: settings compared, approvals planned or
    /// applied, the wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wsus: Option<&'a Stage>,
}

impl Imported {
    pub fn report(&self) -> ImportReport<'_> {
        ImportReport {
            result: if self.already_imported.is_some() {
                "already-imported"
            } else if self.receipt.is_some() {
                "imported"
            } else {
                "dry-run"
            },
            media: self.media.display().to_string(),
            key_id: self.key_id().to_string(),
            sequence: self.sequence(),
            expires: self.check.verified.manifest.expires.to_string(),
            gate: GateReport::new(&self.check),
            content: self.copied,
            files: &self.files,
            quarantine: self
                .quarantine
                .as_ref()
                .map(|folder| folder.display().to_string()),
            acknowledged_gaps: &self.check.acknowledged_gaps,
            updates_at_risk: &self.check.gap_updates,
            receipt: self
                .receipt
                .as_ref()
                .map(|receipt| receipt.display().to_string()),
            reset: self.reset,
            already_imported_at: self.already_imported.map(|time| time.to_string()),
            wsus: None,
        }
    }
}

/// A refusal's report (`result`: `refused`): why, in one sentence, and the evidence.
#[derive(Debug, Serialize)]
pub struct RefusalReport<'a> {
    pub result: &'static str,
    pub error: String,
    /// What was refused: `manifest`, `media`, `links`, `not-covered`, `content`, `gaps`,
    /// `too-many-deletions` or `rejected`.
    pub refusal: &'static str,
    pub files: Vec<Concerned<'a>>,
    pub updates_at_risk: &'a [UpdateGap],
}

impl Refusal {
    pub fn report(&self) -> RefusalReport<'_> {
        RefusalReport {
            result: "refused",
            error: self.to_string(),
            refusal: self.kind(),
            files: self.files(),
            updates_at_risk: self.updates_at_risk(),
        }
    }
}
