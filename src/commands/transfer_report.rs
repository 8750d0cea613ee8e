//! The reports of the transfer commands, text and JSON, in one place: what an export, a
//! verification or an import did, and why one refused.

use std::io::{self, Write};
use std::path::Path;

use indicatif::HumanCount;
use serde::Serialize;
use wsus_airgap::manifest::contents::PackageState;
use wsus_airgap::manifest::trusted_comment;
use wsus_airgap::manifest::volumes::VolumeLines;
use wsus_airgap::mirror::ActionKind;
use wsus_airgap::transfer::events::FileLine;
use wsus_airgap::transfer::export::Staging;
use wsus_airgap::transfer::gate::MediaCheck;
use wsus_airgap::transfer::report::{Carried, RefusalReport};
use wsus_airgap::transfer::verify::ImportWouldCopy;
use wsus_airgap::transfer::volumes::VolumesImport;
use wsus_airgap::transfer::volumes::outlook::StillNeeded;
use wsus_airgap::transfer::{Exported, Imported, Ready, Refusal};
use wsus_airgap::wsus::Stage;
use wsus_airgap::wsus::settings::SettingWarning;

use super::render::{write_problems, write_updates_at_risk};
use wsus_airgap::printable::{Printable, printable};

/// What a refused report names as the thing refused.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    /// Transfer media (`verify`, `import`, `export`).
    Media(&'a Path),
    /// A folder holding a manifest (`manifest verify`).
    Folder(&'a Path),
    /// A content folder (`manifest create`).
    Content(&'a Path),
}

/// Files a deletion refusal names in text; `--json` names them all.
const DELETIONS_SHOWN: usize = 20;

/// Says that a workflow refused, and why: the evidence and the `refused:` line on stderr
/// (ending in `consequence`, if given) with the hint where the fix is known; with `json`, one
/// document on stdout too, so that a script reading only stdout sees the verdict.
pub fn report_refusal(
    subject: Subject,
    refusal: &Refusal,
    consequence: Option<&str>,
    json: bool,
) -> io::Result<()> {
    if json {
        write_refused_document(subject, refusal)?;
    }
    // As with `stderr_line!`, evidence nobody reads any more is dropped: the verdict stands.
    let _ = write_evidence(&mut Printable(io::stderr().lock()), refusal);
    let consequence = consequence.map_or(String::new(), |text| format!("; {text}"));
    stderr_line!(
        "wsus-airgap: refused: {}{consequence}",
        printable(&refusal.to_string())
    );
    if let Some(hint) = hint(subject, refusal) {
        stderr_line!("hint: {hint}");
    }
    Ok(())
}

fn hint(subject: Subject, refusal: &Refusal) -> Option<&'static str> {
    match refusal {
        // Exporting, the content is the connected server's, which WSUS can repair.
        Refusal::Content { .. } if matches!(subject, Subject::Media(_)) => Some(
            "on the connected server, `wsusutil reset` makes WSUS download damaged files again",
        ),
        Refusal::Gaps { .. } => {
            Some("let the connected server finish downloading, or export anyway with --allow-gaps")
        }
        _ => None,
    }
}

/// The lines that show what was wrong, before the `refused:` line.
fn write_evidence(out: &mut impl Write, refusal: &Refusal) -> io::Result<()> {
    match refusal {
        Refusal::Manifest(_) | Refusal::OtherTransfer { .. } => Ok(()),
        Refusal::Media {
            contents, at_risk, ..
        } => {
            write_problems(contents, out)?;
            if let Some(package @ (PackageState::Missing { .. } | PackageState::Changed { .. })) =
                &contents.package
            {
                writeln!(out, "package: {}", printable(&package.to_string()))?;
            }
            write_updates_at_risk(out, at_risk)
        }
        Refusal::Links { paths, .. } => {
            for path in paths {
                writeln!(out, "link: {} (never followed)", printable(path))?;
            }
            Ok(())
        }
        Refusal::NotCovered { paths, at_risk, .. } => {
            write_updates_at_risk(out, at_risk)?;
            for path in paths {
                writeln!(out, "not covered: {}", printable(path))?;
            }
            Ok(())
        }
        Refusal::Content { problems, .. } => {
            for problem in problems {
                writeln!(out, "{}", printable(&problem.to_string()))?;
            }
            Ok(())
        }
        Refusal::Gaps { at_risk, .. } => write_updates_at_risk(out, at_risk),
        Refusal::TooManyDeletions { paths, .. } => {
            for path in paths.iter().take(DELETIONS_SHOWN) {
                writeln!(out, "would delete: {}", printable(path))?;
            }
            if paths.len() > DELETIONS_SHOWN {
                writeln!(
                    out,
                    "would delete: ... and {} more (--json lists them all)",
                    paths.len() - DELETIONS_SHOWN
                )?;
            }
            Ok(())
        }
        Refusal::Rejected { rejected } => {
            for file in rejected {
                writeln!(
                    out,
                    "rejected: {} (not as signed; not put in place)",
                    printable(&file.path)
                )?;
            }
            Ok(())
        }
    }
}

fn write_refused_document(subject: Subject, refusal: &Refusal) -> io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        media: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        folder: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(flatten)]
        report: RefusalReport<'a>,
    }
    let (mut media, mut folder, mut content) = (None, None, None);
    match subject {
        Subject::Media(path) => media = Some(path.display().to_string()),
        Subject::Folder(path) => folder = Some(path.display().to_string()),
        Subject::Content(path) => content = Some(path.display().to_string()),
    }
    write_document(&Document {
        media,
        folder,
        content,
        report: refusal.report(),
    })
}

/// Writes one JSON document, and a line break, on stdout.
pub fn write_document(document: &impl Serialize) -> io::Result<()> {
    let mut stdout = super::stdout::lock();
    serde_json::to_writer_pretty(&mut stdout, document)?;
    writeln!(stdout)?;
    stdout.flush()
}

/// The lines that say what passed: signature, sequence, media contents, acknowledged gaps.
fn write_media_summary(out: &mut impl Write, check: &MediaCheck) -> io::Result<()> {
    write!(Printable(&mut *out), "{check}")?;
    write_updates_at_risk(out, &check.gap_updates)
}

/// What an export did (or, in a dry run, would do).
pub fn write_exported(exported: &Exported, json: bool) -> io::Result<()> {
    let manifest = &exported.manifest;
    let staged = Staging {
        totals: &exported.staged,
        held: exported.held,
    };
    if json {
        return write_document(&exported.report());
    }
    let mut out = super::stdout::lock();
    let Some(written) = &exported.written else {
        writeln!(out, "staging (dry run): {staged}")?;
        writeln!(
            out,
            "manifest (dry run): sequence {}, {} files",
            manifest.sequence, manifest.totals.files
        )?;
        return out.flush();
    };
    writeln!(
        out,
        "package: {}",
        printable(&exported.package.display().to_string())
    )?;
    writeln!(out, "staged: {staged}")?;
    writeln!(
        out,
        "manifest: {} ({} files listed, {} on the media)",
        printable(&written.manifest.display().to_string()),
        HumanCount(manifest.totals.files),
        HumanCount(exported.files_carried()),
    )?;
    write!(out, "{}", VolumeLines(manifest))?;
    if let Some(state) = &manifest.wsus {
        writeln!(out, "wsus: {} carried", Carried::of(state))?;
    }
    writeln!(
        out,
        "signed: sequence {}, key {}",
        manifest.sequence, exported.key_id
    )?;
    writeln!(out, "trusted comment: {}", trusted_comment(manifest))?;
    writeln!(out, "result: exported")?;
    out.flush()
}

/// Media an import would take.
pub fn write_ready(
    ready: &Ready,
    settings: Option<&[SettingWarning]>,
    json: bool,
) -> io::Result<()> {
    let check = &ready.check;
    for warning in settings.unwrap_or_default() {
        let _ = write!(Printable(io::stderr().lock()), "warning: {warning}");
    }
    if json {
        let mut report = ready.report();
        report.settings = settings;
        return write_document(&report);
    }
    let mut out = super::stdout::lock();
    write_media_summary(&mut out, check)?;
    if let Some(totals) = ready.import_would_copy {
        writeln!(out, "content: {}", ImportWouldCopy(totals))?;
    }
    if let Some(needed) = &ready.volumes_needed {
        writeln!(out, "still needed: {}", StillNeeded(needed))?;
    }
    writeln!(out, "result: ready to import")?;
    out.flush()
}

/// Files an import listed in text; `--json` lists them all.
const FILES_SHOWN: usize = 20;

/// The import's files of one `kind`: `deleted: <path>`, `would copy: <path>` and the like, the
/// first [`FILES_SHOWN`], then how many more.
fn write_files(out: &mut impl Write, imported: &Imported, kind: ActionKind) -> io::Result<()> {
    let lines: Vec<FileLine> = (imported.files.iter())
        .filter(|action| action.kind == kind)
        .map(|action| FileLine {
            action,
            quarantine: imported.quarantine.as_deref(),
            dry_run: imported.receipt.is_none(),
        })
        .collect();
    for line in lines.iter().take(FILES_SHOWN) {
        writeln!(out, "{}", printable(&line.to_string()))?;
    }
    let more = lines.len().saturating_sub(FILES_SHOWN);
    if more > 0 {
        let verb = lines[0].verb();
        writeln!(out, "{verb}: ... and {more} more (--json lists them all)")?;
    }
    Ok(())
}

/// A split import still waiting for volumes, or its dry run: which are in, which are still
/// needed.
pub fn write_waiting(waiting: &VolumesImport, json: bool) -> io::Result<()> {
    match waiting.report() {
        Some(report) if json => write_document(&report),
        _ => writeln!(super::stdout::lock(), "{waiting}"),
    }
}

/// What an import did (or, in a dry run, would do).
pub fn write_imported(imported: &Imported, wsus: &Stage, json: bool) -> io::Result<()> {
    let copied = imported.copied;
    if json {
        let mut report = imported.report();
        report.wsus = Some(wsus);
        return write_document(&report);
    }
    let mut out = super::stdout::lock();
    if let Some(accepted) = imported.already_imported {
        let verified = &imported.check.verified;
        writeln!(
            out,
            "signature: good, key {}, sequence {}, expires {}",
            verified.key_id, verified.manifest.sequence, verified.manifest.expires
        )?;
        if let Some(receipt) = &imported.receipt {
            writeln!(
                out,
                "receipt: {}",
                printable(&receipt.display().to_string())
            )?;
        }
        write!(Printable(&mut out), "{wsus}")?;
        let changed = match wsus.applied.is_empty() {
            true => "nothing was changed",
            false => "nothing was copied or imported; WSUS changed as listed",
        };
        let sequence = imported.sequence();
        writeln!(
            out,
            "result: already imported at {accepted} (sequence {sequence}); {changed}"
        )?;
        return out.flush();
    }
    write_media_summary(&mut out, &imported.check)?;
    let Some(receipt) = &imported.receipt else {
        // A dry run names every kind of file it would touch.
        for kind in [
            ActionKind::Copy,
            ActionKind::Replace,
            ActionKind::Delete,
            ActionKind::Quarantine,
        ] {
            write_files(&mut out, imported, kind)?;
        }
        writeln!(out, "content (dry run): {copied}")?;
        writeln!(out, "result: ready to import")?;
        return out.flush();
    };
    // A run names what it took out of the content folder.
    write_files(&mut out, imported, ActionKind::Delete)?;
    write_files(&mut out, imported, ActionKind::Quarantine)?;
    writeln!(out, "content: {copied}")?;
    writeln!(
        out,
        "wsusutil import: done{}",
        if imported.reset { ", reset: done" } else { "" }
    )?;
    writeln!(
        out,
        "receipt: {}",
        printable(&receipt.display().to_string())
    )?;
    write!(Printable(&mut out), "{wsus}")?;
    writeln!(out, "result: imported sequence {}", imported.sequence())?;
    out.flush()
}
