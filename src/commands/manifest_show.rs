//! `wsus-airgap manifest show`: what signed media holds, read from its manifest once the
//! signature is proven, without re-hashing anything.

use std::io::Write;
use std::time::SystemTime;

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use wsus_airgap::manifest::keys::PublicKey;
use wsus_airgap::manifest::verify::{self, VerifyOptions};
use wsus_airgap::transfer::Refusal;

use super::Exit;
use super::printable::{Printable, printable};
use super::transfer_report::{Subject, report_refusal};
use crate::cli::ManifestShowArgs;

pub fn run(args: &ManifestShowArgs) -> Result<Exit> {
    let trusted = PublicKey::read(&args.trust)?;
    // Shown as it is: an expired manifest is still listed, and said to be expired.
    let options = VerifyOptions {
        now: SystemTime::now(),
        allow_expired: true,
        allow_rollback: true,
        state: None,
    };
    let verified = match verify::verify(&args.folder, &trusted, &options) {
        Ok(verified) => verified,
        Err(error) if error.is_refusal() => {
            let refusal = Refusal::Manifest(error);
            report_refusal(Subject::Folder(&args.folder), &refusal, None, false)?;
            return Ok(Exit::Problems);
        }
        Err(error) => return Err(error.into()),
    };
    let manifest = &verified.manifest;
    let mut out = Printable(super::stdout::lock());
    let expired = if verified.expired { " (expired)" } else { "" };
    writeln!(out, "signature: good, key {}", verified.key_id)?;
    writeln!(
        out,
        "manifest: sequence {}, created {}, expires {}{expired}, mode {}",
        manifest.sequence, manifest.created, manifest.expires, manifest.mode
    )?;
    let server = manifest.source.server_id.as_deref().unwrap_or("none");
    writeln!(
        out,
        "source: host {}, server id {server}",
        manifest.source.host
    )?;
    match &manifest.package {
        Some(package) => writeln!(
            out,
            "package: {} ({} bytes, {})",
            package.name,
            HumanCount(package.size),
            package.container.describe()
        )?,
        None => writeln!(out, "package: none")?,
    }
    let held = manifest.entries.iter().filter(|entry| !entry.carried);
    let (held_files, held_bytes) = held.fold((0u64, 0u64), |(n, b), e| (n + 1, b + e.size));
    writeln!(
        out,
        "files: {} ({}), {} of them ({}) held by the receiving side, not on the media",
        HumanCount(manifest.totals.files),
        HumanBytes(manifest.totals.bytes),
        HumanCount(held_files),
        HumanBytes(held_bytes),
    )?;
    for gap in &manifest.gaps {
        writeln!(out, "acknowledged gap: {}", printable(gap.as_str()))?;
    }
    for entry in &manifest.entries {
        let held = if entry.carried { "" } else { ", held" };
        let size = HumanCount(entry.size);
        writeln!(
            out,
            "  {} ({size} bytes{held})",
            printable(entry.path.as_str())
        )?;
    }
    out.flush()?;
    Ok(Exit::Success)
}
