//! The report of a refused `verify` or `import`: why, the updates the refusal puts at risk
//! with their files, and every file it concerns.

use std::collections::HashMap;

use maud::{Markup, html};

use super::page::{Fact, Verdict, page};
use super::parts::{self, FileLine, count};
use crate::report::Made;
use crate::transfer::report::RefusalReport;

/// A refused verification or import: why, the updates at risk and every file concerned.
pub(super) fn refused_page(
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
        (parts::updates("at-risk", parts::AT_RISK, none, report.updates_at_risk, file))
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
