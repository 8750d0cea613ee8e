//! The reports of `verify` and `import`: whether the media passes the gate, what an import did
//! or would do, and, when refused, the evidence.

use std::collections::HashMap;
use std::path::Path;

use maud::{Markup, html};

use super::chart::{self, Part};
use super::page::{Fact, Verdict, page};
use super::parts::{self, Count, FileLine, count, files_and_bytes};
use crate::mirror::PlanTotals;
use crate::report::Made;
use crate::transfer::report::{GateReport, ImportReport, ReadyReport, RefusalReport};
use crate::transfer::{Imported, Outcome, Ready};

/// The heading of the section on updates that would fail.
const AT_RISK: &str = "Updates that would show \"Failed to download\"";

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

/// The report of `import` of the media at `media` into the content folder `content`, moving
/// what it deletes to `quarantine` if one was given.
pub fn import(
    outcome: &Outcome<Imported>,
    media: &Path,
    content: &Path,
    quarantine: Option<&Path>,
    made: &Made,
) -> String {
    let content = content.display().to_string();
    match outcome {
        Outcome::Done(imported) => imported_page(&imported.report(), &content, quarantine, made),
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
        (acknowledged(report.acknowledged_gaps))
        @if let Some(totals) = &report.import_would_copy {
            (plan("would-copy", "What an import would do in the content folder", totals, None))
        }
    };
    page("verify", &verdict, &checked, &sections, made)
}

fn imported_page(
    report: &ImportReport,
    content: &str,
    quarantine: Option<&Path>,
    made: &Made,
) -> String {
    let mut checked = vec![("Media", report.media.clone())];
    checked.extend(gate_facts(
        &report.key_id,
        report.sequence,
        &report.expires,
        &report.gate,
    ));
    checked.push(("Content folder", content.to_owned()));
    let quarantine = quarantine.map(|path| path.display().to_string());
    if let Some(folder) = &quarantine {
        checked.push(("Quarantine folder", folder.clone()));
    }
    let done = report.receipt.is_some();
    let verdict = Verdict {
        passed: true,
        word: if done { "Imported" } else { "Ready to import" },
        sentence: if done {
            format!("sequence {} imported", report.sequence)
        } else {
            "dry run: the media would be imported".into()
        },
        meaning: match &report.receipt {
            Some(receipt) => format!(
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
            None => "The media passed the gate, and the copy into the content folder was \
                     planned; a dry run changes nothing and does not run wsusutil."
                .into(),
        },
    };
    let heading = if done {
        "What the import did in the content folder"
    } else {
        "What an import would do in the content folder"
    };
    let sections = html! {
        (acknowledged(report.acknowledged_gaps))
        (plan("copied", heading, &report.content, quarantine.as_deref()))
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

/// The updates that would fail: for media that passed, those the export acknowledged as gaps.
fn acknowledged(gaps: &[String]) -> Markup {
    html! {
        section id="at-risk" {
            h2 { (AT_RISK) }
            @if gaps.is_empty() {
                p.none { "None: every file the package references is listed and proven." }
            } @else {
                p.note {
                    "The export was made with --allow-gaps: the package references "
                    (count(gaps.len() as u64)) " files the connected server lacked. The updates \
                    that need them will show \"Failed to download\" until their files arrive:"
                }
                (parts::capped(gaps, usize::MAX, |gap| html! { code { (gap) } }))
            }
        }
    }
}

/// The copy into the content folder: files and bytes by action, and a bar of each.
fn plan(id: &str, heading: &str, totals: &PlanTotals, quarantine: Option<&str>) -> Markup {
    let deleted = match quarantine {
        Some(_) => "Moved to the quarantine folder",
        None => "Deleted (not listed; mirror mode)",
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

/// A refused verification or import: why, the updates at risk and every file concerned.
fn refused_page(
    command: &str,
    report: &RefusalReport,
    media: &str,
    content: Option<&str>,
    made: &Made,
) -> String {
    let checked: [Fact; 3] = [
        ("Media", media.to_owned()),
        (
            "Content folder",
            content.map_or(
                "not given: only the media was checked".into(),
                str::to_owned,
            ),
        ),
        ("Refused for", refusal_kind(report.refusal).to_owned()),
    ];
    let meaning = if command == "import" {
        "The import was refused: wsusutil import did not run and the trust state is unchanged. \
         The evidence is below."
    } else {
        "An import of this media would be refused, and would change nothing. Do not import it: \
         the evidence is below."
    };
    let verdict = Verdict {
        passed: false,
        word: "Refused",
        sentence: report.error.clone(),
        meaning: meaning.into(),
    };
    let problems: HashMap<&str, &'static str> = report
        .files
        .iter()
        .map(|file| (file.path, file.problem))
        .collect();
    let file = |path| FileLine {
        path,
        state: problems.get(path).copied().unwrap_or("missing"),
        detail: String::new(),
    };
    let none = "None named: the refusal does not concern the files of particular updates.";
    let sections = html! {
        (parts::updates("at-risk", AT_RISK, none, report.updates_at_risk, file))
        (concerned(report))
    };
    page(command, &verdict, &checked, &sections, made)
}

/// Every file a refusal concerns, counted by problem, then listed.
fn concerned(report: &RefusalReport) -> Markup {
    let mut by_problem: Vec<(&str, u64)> = Vec::new();
    for file in &report.files {
        match by_problem
            .iter_mut()
            .find(|(problem, _)| *problem == file.problem)
        {
            Some((_, files)) => *files += 1,
            None => by_problem.push((file.problem, 1)),
        }
    }
    html! {
        section id="concerned" {
            h2 { "Files the refusal concerns (" (count(report.files.len() as u64)) ")" }
            @if report.files.is_empty() {
                p.none { "None: the manifest itself was refused." }
            } @else {
                p { @for (index, (problem, files)) in by_problem.iter().enumerate() {
                    @if index > 0 { ", " } (count(*files)) " " (problem)
                } }
                (parts::capped(&report.files, usize::MAX, |file| html! {
                    span class={ "s " (file.problem) } { (file.problem) } " " code { (file.path) }
                }))
            }
        }
    }
}

/// What a kind of refusal means, in words.
fn refusal_kind(kind: &str) -> &'static str {
    match kind {
        "manifest" => {
            "the manifest: unsigned, a bad signature, an unknown format, expired or replayed"
        }
        "media" => {
            "the media: not as signed, or its package references files the manifest does not list"
        }
        "not-covered" => "coverage: listed files neither on the media nor in the content folder",
        "too-many-deletions" => {
            "the deletion brake: the copy would delete more than --max-delete allows"
        }
        "rejected" => "the copy: files not as signed when copied were not put in place",
        _ => "the content",
    }
}
