//! The data of `manifest verify`'s report: what `--json` serialises, built from the verified
//! manifest and the check of the folder against it.

use std::path::Path;

use serde::Serialize;

use super::contents::{Changed, ContentsCheck, Extra, PackageState};
use super::verify::Verified;
use super::{ManifestTotals, Source, Timestamp, TransferMode};

/// The report (`result`: `intact`, or `problems`).
#[derive(Debug, Serialize)]
pub struct VerifyReport<'a> {
    pub folder: String,
    pub result: &'static str,
    pub key_id: String,
    pub trusted_comment: &'a str,
    pub manifest: Described<'a>,
    pub allowed: Allowed,
    pub sequence: Sequence,
    pub package: &'a Option<PackageState>,
    pub missing: &'a [String],
    pub changed: &'a [Changed],
    pub extra: &'a [Extra],
    pub unreadable: Vec<Unreadable<'a>>,
    pub intact_files: u64,
    pub intact_bytes: u64,
}

/// What the operator let through.
#[derive(Debug, Serialize)]
pub struct Allowed {
    pub expired: bool,
    pub rollback: bool,
}

/// The manifest's sequence, and what the trust state held.
#[derive(Debug, Serialize)]
pub struct Sequence {
    pub value: u64,
    pub previous: Option<u64>,
    /// False when no trust state was given.
    pub checked: bool,
}

/// The manifest, without its entries.
#[derive(Debug, Serialize)]
pub struct Described<'a> {
    pub sequence: u64,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub mode: TransferMode,
    pub source: &'a Source,
    pub totals: ManifestTotals,
}

/// A file that could not be read.
#[derive(Debug, Serialize)]
pub struct Unreadable<'a> {
    pub path: &'a str,
    pub error: &'a str,
}

impl<'a> VerifyReport<'a> {
    /// The report of `folder`, verified (against a trust state if `state_checked`) and checked.
    pub fn new(
        folder: &Path,
        verified: &'a Verified,
        check: &'a ContentsCheck,
        state_checked: bool,
    ) -> Self {
        let manifest = &verified.manifest;
        VerifyReport {
            folder: folder.display().to_string(),
            result: if check.is_intact() {
                "intact"
            } else {
                "problems"
            },
            key_id: verified.key_id.to_string(),
            trusted_comment: &verified.trusted_comment,
            manifest: Described {
                sequence: manifest.sequence,
                created: manifest.created,
                expires: manifest.expires,
                mode: manifest.mode,
                source: &manifest.source,
                totals: manifest.totals,
            },
            allowed: Allowed {
                expired: verified.expired,
                rollback: verified.rollback,
            },
            sequence: Sequence {
                value: manifest.sequence,
                previous: verified.previous.map(|previous| previous.sequence),
                checked: state_checked,
            },
            package: &check.package,
            missing: &check.missing,
            changed: &check.changed,
            extra: &check.extra,
            unreadable: check
                .unlisted
                .iter()
                .map(|(path, error)| Unreadable { path, error })
                .collect(),
            intact_files: check.intact_files,
            intact_bytes: check.intact_bytes,
        }
    }
}

/// What `manifest show` says of verified media: signature, sequence, expiry (an expired
/// manifest is said to be), source, package, counts, gaps and every file with its size.
pub struct Listing<'a>(pub &'a Verified);

impl std::fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        let verified = self.0;
        let manifest = &verified.manifest;
        let expired = if verified.expired { " (expired)" } else { "" };
        writeln!(f, "signature: good, key {}", verified.key_id)?;
        writeln!(
            f,
            "manifest: sequence {}, created {}, expires {}{expired}, mode {}",
            manifest.sequence, manifest.created, manifest.expires, manifest.mode
        )?;
        let server = manifest.source.server_id.as_deref().unwrap_or("none");
        writeln!(
            f,
            "source: host {}, server id {server}",
            manifest.source.host
        )?;
        match &manifest.package {
            Some(package) => writeln!(
                f,
                "package: {} ({} bytes, {})",
                package.name,
                HumanCount(package.size),
                package.container.describe()
            )?,
            None => writeln!(f, "package: none")?,
        }
        let held = manifest.entries.iter().filter(|entry| !entry.carried);
        let (held_files, held_bytes) = held.fold((0u64, 0u64), |(n, b), e| (n + 1, b + e.size));
        writeln!(
            f,
            "files: {} ({}), {} of them ({}) held by the receiving side, not on the media",
            HumanCount(manifest.totals.files),
            HumanBytes(manifest.totals.bytes),
            HumanCount(held_files),
            HumanBytes(held_bytes),
        )?;
        for gap in &manifest.gaps {
            writeln!(f, "acknowledged gap: {}", gap)?;
        }
        for entry in &manifest.entries {
            let held = if entry.carried { "" } else { ", held" };
            let size = HumanCount(entry.size);
            writeln!(f, "  {} ({size} bytes{held})", entry.path)?;
        }
        Ok(())
    }
}
