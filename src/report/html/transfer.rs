//! The reports of `verify` and `import`: whether the media passes the gate, and what an import
//! did or would do. A refusal's report is [`super::refused`]'s.

use std::path::Path;

use maud::{Markup, html};

use super::chart::{self, Part};
use super::page::{Fact, Verdict, page};
use super::parts::{self, AT_RISK, Count, FileLine, bytes, count, files_and_bytes};
use super::refused::refused_page;
use crate::check::UpdateGap;
use crate::mirror::{Action, ActionKind, PlanTotals};
use crate::report::Made;
use crate::transfer::report::{GateReport, ImportReport, ReadyReport};
use crate::transfer::volumes::{VolumePreview, VolumesImport};
use crate::transfer::{Outcome, Ready};
use crate::wsus::Stage;

/// Files an import acted on, listed by name; the JSON report lists them all.
const FILES_SHOWN: usize = 200;

/// The report of `verify` of the media at `media`, against the content folder `content` if
/// one was given.
pub fn verify(
    outcome: &Outcome<Ready>,
    media: &Path,
    content: Option<&Path>,
    made: &Made,
) -> String {
    let content = content.map(|path| path.display().to_string());
    match outcome {
        Outcome::Done(ready) => ready_page(&ready.report(), content.as_deref(), made),
        Outcome::Refused(refusal) => refused_page(
            "verify",
            &refusal.report(),
            &media.display().to_string(),
            content.as_deref(),
            made,
        ),
    }
}

/// The report of `import` of the media at `media` (the first volume given, for a split
/// transfer) into the content folder `content`.
pub fn import(
    outcome: &Outcome<VolumesImport>,
    wsus: Option<&Stage>,
    media: &Path,
    content: &Path,
    made: &Made,
) -> String {
    let content = content.display().to_string();
    match outcome {
        Outcome::Done(VolumesImport::Complete(imported)) => {
            let mut report = imported.report();
            report.wsus = wsus;
            imported_page(&report, &content, made)
        }
        Outcome::Done(VolumesImport::Waiting {
            sequence,
            count,
            taken,
            needed,
        }) => {
            let volumes = Volumes {
                sequence: *sequence,
                count: *count,
                taken,
                needed,
            };
            waiting_page(&volumes, None, media, &content, made)
        }
        Outcome::Done(VolumesImport::Preview {
            sequence,
            count,
            volumes,
            taken,
            needed,
        }) => {
            let summary = Volumes {
                sequence: *sequence,
                count: *count,
                taken,
                needed,
            };
            waiting_page(&summary, Some(volumes), media, &content, made)
        }
        Outcome::Refused(refusal) => refused_page(
            "import",
            &refusal.report(),
            &media.display().to_string(),
            Some(&content),
            made,
        ),
    }
}

fn ready_page(report: &ReadyReport, content: Option<&str>, made: &Made) -> String {
    let mut checked = vec![("Media", report.media.clone())];
    checked.extend(gate_facts(
        &report.key_id,
        report.sequence,
        &report.expires,
        &report.gate,
    ));
    checked.push((
        "Content folder",
        content.map_or(
            "not given: only the media was checked".into(),
            str::to_owned,
        ),
    ));
    checked.push((
        "Files on the media",
        format!(
            "{} as signed; {} listed but held by the receiving side",
            files_and_bytes(report.files_intact, report.bytes_intact),
            count(report.files_not_carried)
        ),
    ));
    let covered = match content {
        Some(content) => format!(
            " Together with the files already in {content}, it holds every file the manifest \
             lists."
        ),
        None => " Give --content to prove that it covers what the receiving server lacks.".into(),
    };
    let verdict = Verdict {
        passed: true,
        word: "Ready to import",
        sentence: "the media is authentic, current and intact".into(),
        meaning: format!(
            "An import of this media would pass the gate: it is signed by the trusted key {}, \
             unexpired, newer than the last sequence imported, and every file on it is as \
             signed.{covered} Nothing was changed.",
            report.key_id
        ),
    };
    let sections = html! {
        (acknowledged(report.acknowledged_gaps, report.updates_at_risk))
        @if let Some(totals) = &report.import_would_copy {
            (plan("would-copy", "What an import would do in the content folder", totals, false))
        }
    };
    page("verify", &verdict, &checked, &sections, made)
}

fn imported_page(report: &ImportReport, content: &str, made: &Made) -> String {
    let mut checked = vec![("Media", report.media.clone())];
    checked.extend(gate_facts(
        &report.key_id,
        report.sequence,
        &report.expires,
        &report.gate,
    ));
    checked.push(("Content folder", content.to_owned()));
    if let Some(folder) = &report.quarantine {
        checked.push(("Quarantine folder", folder.clone()));
    }
    let verdict = imported_verdict(report, content);
    let done = report.receipt.is_some() && report.already_imported_at.is_none();
    let heading = if done {
        "What the import did in the content folder"
    } else {
        "What an import would do in the content folder"
    };
    // What the WSUS step said (approvals applied or held back, settings, waiting), as text.
    let wsus = report
        .wsus
        .map(ToString::to_string)
        .filter(|text| !text.is_empty());
    let sections = html! {
        (acknowledged(report.acknowledged_gaps, report.updates_at_risk))
        @if report.already_imported_at.is_none() {
            (plan("copied", heading, &report.content, report.quarantine.is_some()))
            (files_acted_on(report.files))
        }
        @if let Some(wsus) = wsus {
            section id="wsus" {
                h2 { "WSUS: approvals and settings" }
                pre { (wsus) }
            }
        }
    };
    page("import", &verdict, &checked, &sections, made)
}

fn imported_verdict(report: &ImportReport, content: &str) -> Verdict {
    let (word, sentence, meaning) = match (&report.already_imported_at, &report.receipt) {
        (Some(at), _) => (
            "Already imported",
            format!("sequence {} was imported at {at}", report.sequence),
            "This very media was imported before: nothing was copied, wsusutil did not run and \
             the trust state is unchanged."
                .to_owned(),
        ),
        (None, Some(receipt)) => (
            "Imported",
            format!("sequence {} imported", report.sequence),
            format!(
                "The media passed the gate, its content was copied into {content} and proven \
                 complete, and only then did wsusutil import run{}. The trust state now refuses \
                 this media and any older one; the receipt {receipt} tells the next export what \
                 this server holds.",
                if report.reset {
                    ", then wsusutil reset"
                } else {
                    ""
                }
            ),
        ),
        (None, None) => (
            "Ready to import",
            "dry run: the media would be imported".to_owned(),
            "The media passed the gate, and the copy into the content folder was planned; a dry \
             run changes nothing and does not run wsusutil."
                .to_owned(),
        ),
    };
    Verdict {
        passed: true,
        word,
        sentence,
        meaning,
    }
}

/// Where a split import stands.
struct Volumes<'a> {
    sequence: u64,
    count: u32,
    taken: &'a [u32],
    needed: &'a [u32],
}

/// A split transfer whose volumes are not all in yet; or, with `preview`, a dry run of
/// taking the volumes given.
fn waiting_page(
    volumes: &Volumes,
    preview: Option<&[VolumePreview]>,
    media: &Path,
    content: &str,
    made: &Made,
) -> String {
    let numbers = |volumes: &[u32]| {
        let numbers: Vec<String> = volumes.iter().map(u32::to_string).collect();
        if numbers.is_empty() {
            "none".to_owned()
        } else {
            numbers.join(", ")
        }
    };
    let taken = if preview.is_some() {
        "Volumes taken before"
    } else {
        "Volumes taken"
    };
    let checked: [Fact; 4] = [
        ("Media (a volume)", media.display().to_string()),
        ("Content folder", content.to_owned()),
        ("Sequence", volumes.sequence.to_string()),
        (
            taken,
            format!("{} of {}", numbers(volumes.taken), volumes.count),
        ),
    ];
    let still_needed = format!("still needed: volume {}", numbers(volumes.needed));
    let verdict = match preview {
        None => Verdict {
            passed: true,
            word: "Waiting for volumes",
            sentence: still_needed,
            meaning: "The volumes given are in, each proven as signed. Nothing is imported \
                      until the last volume is in: then the import proves the content \
                      complete and runs wsusutil import."
                .into(),
        },
        Some(_) => Verdict {
            passed: true,
            word: "Dry run",
            sentence: still_needed,
            meaning: "Each volume given passed the gate. This is what taking them would do; \
                      nothing was changed."
                .into(),
        },
    };
    let sections = html! {
        @if let Some(preview) = preview {
            section id="would-take" {
                h2 { "What taking each volume would do" }
                ul { @for volume in preview { li { (volume.to_string()) } } }
            }
        }
    };
    page("import", &verdict, &checked, &sections, made)
}

/// What the gate proved, as lines of "what was checked".
fn gate_facts(key_id: &str, sequence: u64, expires: &str, gate: &GateReport) -> Vec<Fact> {
    let last = gate
        .last_accepted
        .map_or("none recorded for this key".into(), |last| last.to_string());
    let mut facts = vec![
        ("Signature", format!("good, by the trusted key {key_id}")),
        ("Sequence", format!("{sequence} (last accepted: {last})")),
        (
            "Signed",
            format!("{} on host {}", gate.signed, gate.signed_on),
        ),
        ("Expires", expires.to_owned()),
    ];
    match &gate.package {
        Some(package) => {
            facts.push(("Exported by WSUS server", package.server_id.to_owned()));
            facts.push(("Package created", package.creation_time.to_owned()));
        }
        None => facts.push(("Export package", "none on the media".into())),
    }
    facts
}

/// The updates that would fail for media that passed: those the export acknowledged as gaps.
fn acknowledged(gaps: &[String], updates: &[UpdateGap]) -> Markup {
    let file = |path| FileLine {
        path,
        state: "gap",
        detail: String::new(),
    };
    html! {
        @if gaps.is_empty() {
            section id="at-risk" {
                h2 { (AT_RISK) }
                p.none { "None: every file the package references is listed and proven." }
            }
        } @else {
            (parts::updates("at-risk", AT_RISK, "None named.", updates, file))
            p.note {
                "The export was made with --allow-gaps: the package references "
                (count(gaps.len() as u64)) " files the connected server lacked. The updates \
                above will show \"Failed to download\" until their files arrive. The gaps:"
            }
            (parts::capped(gaps, FILES_SHOWN, |gap| html! { code { (gap) } }))
        }
    }
}

/// The copy into the content folder: files and bytes by action, and a bar of each.
fn plan(id: &str, heading: &str, totals: &PlanTotals, quarantined: bool) -> Markup {
    let deleted = if quarantined {
        "Moved to the quarantine folder"
    } else {
        "Deleted (not listed; mirror mode)"
    };
    let rows = [
        ("Copied in", "copy", totals.copy_files, totals.copy_bytes),
        (
            "Replaced",
            "replace",
            totals.replace_files,
            totals.replace_bytes,
        ),
        (deleted, "delete", totals.delete_files, totals.delete_bytes),
        (
            "Already in place",
            "unchanged",
            totals.unchanged_files,
            totals.unchanged_bytes,
        ),
    ];
    let counts = rows.map(|(label, class, files, bytes)| Count {
        label,
        class,
        files,
        bytes: Some(bytes),
    });
    let parts = rows.map(|(label, class, _, value)| Part {
        label,
        class,
        value,
    });
    html! {
        section id=(id) {
            h2 { (heading) }
            (parts::counts("Action", &counts))
            (chart::bars("Bytes by action", &parts))
        }
    }
}

/// Every file the import copied, replaced, deleted or quarantined, by name.
fn files_acted_on(files: &[Action]) -> Markup {
    let name = |kind: ActionKind| match kind {
        ActionKind::Copy => "copy",
        ActionKind::Replace => "replace",
        ActionKind::Quarantine => "quarantine",
        _ => "delete",
    };
    html! {
        @if !files.is_empty() {
            section id="files" {
                h3 { "Files (" (count(files.len() as u64)) ")" }
                (parts::capped(files, FILES_SHOWN, |action| html! {
                    span class={ "s " (name(action.kind)) } { (name(action.kind)) } " "
                    code { (action.path.as_str()) } " (" (bytes(action.size)) ")"
                }))
            }
        }
    }
}
