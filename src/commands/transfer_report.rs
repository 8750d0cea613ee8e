//! The reports of the transfer commands, text and JSON, in one place: what an export, a
//! verification or an import did, and why one refused.

use std::io::{self, Write};
use std::path::Path;

use indicatif::{HumanBytes, HumanCount};
use serde::Serialize;
use wsus_airgap::check::UpdateGap;
use wsus_airgap::manifest::contents::PackageState;
use wsus_airgap::manifest::relpath::RelPath;
use wsus_airgap::manifest::trusted_comment;
use wsus_airgap::mirror::PlanTotals;
use wsus_airgap::transfer::gate::MediaCheck;
use wsus_airgap::transfer::{Exported, Imported, Ready, Refusal};

use super::printable::{Printable, printable};
use super::render::{
    package_line, totals_text, unvouched_line, verdict, write_problems, write_updates_at_risk,
};
use super::{display, plural};

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
    let reason = reason(refusal);
    if json {
        write_refused_document(subject, refusal, &reason)?;
    }
    write_evidence(&mut Printable(io::stderr().lock()), refusal)?;
    let consequence = consequence.map_or(String::new(), |text| format!("; {text}"));
    stderr_line!("wsus-airgap: refused: {}{consequence}", printable(&reason));
    if let Some(hint) = hint(subject, refusal) {
        stderr_line!("hint: {hint}");
    }
    Ok(())
}

/// The refusal in one sentence.
pub fn reason(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Manifest(error) => error.to_string(),
        Refusal::Media {
            media,
            contents,
            unlisted_references,
            ..
        } => format!(
            "{}: {}; {} package {} the manifest does not list",
            media.display(),
            verdict(contents),
            unlisted_references.len(),
            plural(unlisted_references.len(), "reference"),
        ),
        Refusal::NotCovered { content, paths, .. } => format!(
            "{} {} the manifest lists {} neither on the media nor in {}",
            paths.len(),
            plural(paths.len(), "file"),
            if paths.len() == 1 { "is" } else { "are" },
            content.display(),
        ),
        Refusal::Content { content, problems } => format!(
            "{} holds {} {} a manifest cannot vouch for",
            content.display(),
            problems.len(),
            plural(problems.len(), "file"),
        ),
        Refusal::Gaps {
            content,
            gaps,
            at_risk,
        } => format!(
            "{} lacks {} {} the package references ({} {})",
            content.display(),
            gaps.len(),
            plural(gaps.len(), "file"),
            at_risk.len(),
            plural(at_risk.len(), "update"),
        ),
        Refusal::TooManyDeletions { planned, max, .. } => format!(
            "the media is in mirror mode and the copy would delete {planned} content {} the \
             manifest does not list, more than --max-delete {max}; nothing was deleted and \
             wsusutil was not run (rerun with a larger --max-delete or with --quarantine DIR)",
            plural(*planned as usize, "file")
        ),
        Refusal::Rejected { .. } => {
            "the content folder could not be completed; rerun to resume".to_owned()
        }
    }
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
        Refusal::Manifest(_) => Ok(()),
        Refusal::Media {
            contents, at_risk, ..
        } => {
            write_problems(contents, out)?;
            if let Some(package @ (PackageState::Missing { .. } | PackageState::Changed { .. })) =
                &contents.package
            {
                writeln!(out, "package: {}", package_line(package))?;
            }
            write_updates_at_risk(out, at_risk)
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
                writeln!(out, "{}", unvouched_line(problem))?;
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

/// A file a refusal concerns, and what is wrong with it.
#[derive(Serialize)]
struct Concerned<'a> {
    path: &'a str,
    problem: &'static str,
}

/// The refusal's kind and the files it concerns, for the JSON document.
fn concerned(refusal: &Refusal) -> (&'static str, Vec<Concerned<'_>>) {
    fn each<'a>(paths: &'a [String], problem: &'static str) -> Vec<Concerned<'a>> {
        paths
            .iter()
            .map(|path| Concerned { path, problem })
            .collect()
    }
    match refusal {
        Refusal::Manifest(_) => ("manifest", Vec::new()),
        Refusal::Media {
            contents,
            unlisted_references,
            ..
        } => {
            let mut files = each(&contents.missing, "missing");
            files.extend(contents.changed.iter().map(|changed| Concerned {
                path: &changed.path,
                problem: "changed",
            }));
            files.extend(contents.extra.iter().map(|extra| Concerned {
                path: &extra.path,
                problem: "extra",
            }));
            files.extend(contents.unlisted.iter().map(|(path, _)| Concerned {
                path,
                problem: "unreadable",
            }));
            files.extend(each(unlisted_references, "not-listed"));
            ("media", files)
        }
        Refusal::NotCovered { paths, .. } => ("not-covered", each(paths, "not-covered")),
        Refusal::Content { problems, .. } => (
            "content",
            problems
                .iter()
                .map(|problem| Concerned {
                    path: problem.path(),
                    problem: "unvouched",
                })
                .collect(),
        ),
        Refusal::Gaps { gaps, .. } => ("gaps", each(gaps, "missing")),
        Refusal::TooManyDeletions { paths, .. } => {
            ("too-many-deletions", each(paths, "would-delete"))
        }
        Refusal::Rejected { rejected } => (
            "rejected",
            rejected
                .iter()
                .map(|file| Concerned {
                    path: &file.path,
                    problem: "not-as-signed",
                })
                .collect(),
        ),
    }
}

fn write_refused_document(subject: Subject, refusal: &Refusal, reason: &str) -> io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        media: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        folder: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        result: &'static str,
        error: &'a str,
        refusal: &'static str,
        files: Vec<Concerned<'a>>,
        updates_at_risk: &'a [UpdateGap],
    }
    let (kind, files) = concerned(refusal);
    let at_risk: &[UpdateGap] = match refusal {
        Refusal::Media { at_risk, .. }
        | Refusal::NotCovered { at_risk, .. }
        | Refusal::Gaps { at_risk, .. } => at_risk,
        _ => &[],
    };
    let (mut media, mut folder, mut content) = (None, None, None);
    match subject {
        Subject::Media(path) => media = Some(display(path)),
        Subject::Folder(path) => folder = Some(display(path)),
        Subject::Content(path) => content = Some(display(path)),
    }
    let document = Document {
        media,
        folder,
        content,
        result: "refused",
        error: reason,
        refusal: kind,
        files,
        updates_at_risk: at_risk,
    };
    write_document(&document)
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

/// What an export did (or, in a dry run, would do).
pub fn write_exported(exported: &Exported, media: &Path, json: bool) -> io::Result<()> {
    let manifest = &exported.manifest;
    let staged = format!(
        "{}; {} held by the other side",
        totals_text(&exported.staged),
        HumanCount(exported.held)
    );
    if json {
        #[derive(Serialize)]
        struct Document<'a> {
            result: &'static str,
            media: String,
            sequence: u64,
            key_id: String,
            package: String,
            files_listed: u64,
            files_carried: u64,
            gaps: &'a [RelPath],
            staged: PlanTotals,
            manifest: Option<String>,
        }
        return write_document(&Document {
            result: if exported.written.is_some() {
                "exported"
            } else {
                "dry-run"
            },
            media: display(media),
            sequence: manifest.sequence,
            key_id: exported.key_id.to_string(),
            package: display(&exported.package),
            files_listed: manifest.totals.files,
            files_carried: exported.files_carried(),
            gaps: &manifest.gaps,
            staged: exported.staged,
            manifest: exported
                .written
                .as_ref()
                .map(|written| display(&written.manifest)),
        });
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
    writeln!(out, "package: {}", printable(&display(&exported.package)))?;
    writeln!(out, "staged: {staged}")?;
    writeln!(
        out,
        "manifest: {} ({} files listed, {} on the media)",
        printable(&display(&written.manifest)),
        HumanCount(manifest.totals.files),
        HumanCount(exported.files_carried()),
    )?;
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
pub fn write_ready(ready: &Ready, media: &Path, json: bool) -> io::Result<()> {
    let check = &ready.check;
    if json {
        #[derive(Serialize)]
        struct Document<'a> {
            result: &'static str,
            media: String,
            key_id: String,
            sequence: u64,
            expires: String,
            files_intact: u64,
            bytes_intact: u64,
            files_not_carried: u64,
            acknowledged_gaps: &'a [String],
            import_would_copy: Option<PlanTotals>,
        }
        let manifest = &check.verified.manifest;
        return write_document(&Document {
            result: "ready",
            media: display(media),
            key_id: check.verified.key_id.to_string(),
            sequence: manifest.sequence,
            expires: manifest.expires.to_string(),
            files_intact: check.contents.intact_files,
            bytes_intact: check.contents.intact_bytes,
            files_not_carried: check.contents.not_carried,
            acknowledged_gaps: &check.acknowledged_gaps,
            import_would_copy: ready.import_would_copy,
        });
    }
    let mut out = super::stdout::lock();
    write_media_summary(&mut out, check)?;
    if let Some(totals) = ready.import_would_copy {
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
            out,
            "content: an import would copy {} ({}) and replace {}{deletions}; {} already in \
             place",
            HumanCount(totals.copy_files),
            HumanBytes(totals.copy_bytes),
            HumanCount(totals.replace_files),
            HumanCount(totals.unchanged_files),
        )?;
    }
    writeln!(out, "result: ready to import")?;
    out.flush()
}

/// What an import did (or, in a dry run, would do).
pub fn write_imported(
    imported: &Imported,
    media: &Path,
    reset: bool,
    json: bool,
) -> io::Result<()> {
    let copied = totals_text(&imported.copied);
    if json {
        #[derive(Serialize)]
        struct Document {
            result: &'static str,
            media: String,
            key_id: String,
            sequence: u64,
            content: PlanTotals,
            receipt: Option<String>,
            reset: bool,
        }
        return write_document(&Document {
            result: if imported.receipt.is_some() {
                "imported"
            } else {
                "dry-run"
            },
            media: display(media),
            key_id: imported.key_id().to_string(),
            sequence: imported.sequence(),
            content: imported.copied,
            receipt: imported.receipt.as_deref().map(display),
            reset: reset && imported.receipt.is_some(),
        });
    }
    let mut out = super::stdout::lock();
    write_media_summary(&mut out, &imported.check)?;
    let Some(receipt) = &imported.receipt else {
        writeln!(out, "content (dry run): {copied}")?;
        writeln!(out, "result: ready to import")?;
        return out.flush();
    };
    writeln!(out, "content: {copied}")?;
    writeln!(
        out,
        "wsusutil import: done{}",
        if reset { ", reset: done" } else { "" }
    )?;
    writeln!(out, "receipt: {}", printable(&display(receipt)))?;
    writeln!(out, "result: imported sequence {}", imported.sequence())?;
    out.flush()
}
