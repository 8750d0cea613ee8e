//! `wsus-airgap verify`: the gate before any import. Exit 0 only when an import of this media
//! would succeed: authentic, unexpired, newer than the last import, intact, and (with
//! `--content`) covering, with what the content folder already holds, every listed file.

use std::io::{self, Write};

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use serde::Serialize;
use wsus_airgap::manifest::trust::TrustState;
use wsus_airgap::mirror::ApplyOptions;
use wsus_airgap::transfer::Media;
use wsus_airgap::transfer::gate::MediaCheck;

use super::Exit;
use super::printable::printable;
use super::transfer::{default_state, pass_gate, plan_import};
use crate::cli::VerifyArgs;

pub fn run(args: &VerifyArgs) -> Result<Exit> {
    let media = Media::new(&args.media);
    let state = TrustState::load(&default_state(args.state.as_deref()))?;
    let check = match pass_gate(&media, &args.trust, &state, args.jobs, args.output.quiet)? {
        Ok(check) => check,
        Err(refused) => return refused.report(&media, args.output.json),
    };
    let to_copy = match &args.content {
        None => None,
        Some(content) => {
            let brakes = ApplyOptions::default();
            match plan_import(
                &media,
                &check,
                content,
                &brakes,
                false,
                args.jobs,
                args.output.quiet,
            )? {
                Ok((plan, _)) => Some(plan.totals),
                Err(refused) => return refused.report(&media, args.output.json),
            }
        }
    };
    let mut stdout = super::stdout::lock();
    if args.output.json {
        #[derive(Serialize)]
        struct Report<'a> {
            result: &'static str,
            key_id: String,
            sequence: u64,
            expires: String,
            files_intact: u64,
            bytes_intact: u64,
            files_not_carried: u64,
            acknowledged_gaps: &'a [String],
            import_would_copy: Option<wsus_airgap::mirror::PlanTotals>,
        }
        let manifest = &check.verified.manifest;
        let report = Report {
            result: "ready",
            key_id: check.verified.key_id.to_string(),
            sequence: manifest.sequence,
            expires: manifest.expires.to_string(),
            files_intact: check.contents.intact_files,
            bytes_intact: check.contents.intact_bytes,
            files_not_carried: check.contents.not_carried,
            acknowledged_gaps: &check.acknowledged_gaps,
            import_would_copy: to_copy,
        };
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        write_summary(&mut stdout, &check)?;
        if let Some(totals) = to_copy {
            let deletions = if totals.delete_files > 0 {
                format!(
                    ", and delete {} the manifest does not list ({})",
                    HumanCount(totals.delete_files),
                    HumanBytes(totals.delete_bytes),
                )
            } else {
                String::new()
            };
            writeln!(
                stdout,
                "content: an import would copy {} ({}) and replace {}{deletions}; {} already in \
                 place",
                HumanCount(totals.copy_files),
                HumanBytes(totals.copy_bytes),
                HumanCount(totals.replace_files),
                HumanCount(totals.unchanged_files),
            )?;
        }
        writeln!(stdout, "result: ready to import")?;
    }
    stdout.flush()?;
    Ok(Exit::Success)
}

/// The lines that say what passed: signature, sequence, media contents, acknowledged gaps.
pub fn write_summary(out: &mut impl Write, check: &MediaCheck) -> io::Result<()> {
    let verified = &check.verified;
    let manifest = &verified.manifest;
    let previous = verified
        .previous
        .map_or("none".to_owned(), |previous| previous.sequence.to_string());
    writeln!(
        out,
        "signature: good, key {}, sequence {} (last imported: {previous}), expires {}",
        verified.key_id, manifest.sequence, manifest.expires
    )?;
    writeln!(
        out,
        "media: {} files intact ({}), {} held by the receiving side, package intact",
        HumanCount(check.contents.intact_files),
        HumanBytes(check.contents.intact_bytes),
        HumanCount(check.contents.not_carried),
    )?;
    for gap in &check.acknowledged_gaps {
        writeln!(out, "acknowledged gap: {}", printable(gap))?;
    }
    Ok(())
}
