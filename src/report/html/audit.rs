//! The report of `audit`: whether every content file in a folder is what its name promises.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::page::{Fact, Verdict, page};
use super::parts::{self, count, files_and_bytes};
use crate::content::report::AuditReport;
use crate::content::{Finding, Severity};
use crate::report::Made;

/// Findings of no consequence (information) listed by name; the JSON report lists them all.
const INFORMATION_SHOWN: usize = 100;

/// The report of an audit, as `audit --html` writes it.
pub fn audit(report: &AuditReport, made: &Made) -> String {
    let totals = report.totals;
    let checked: [Fact; 3] = [
        ("Content folder", report.root.clone()),
        ("Files", count(totals.files)),
        (
            "Content files hashed",
            format!(
                "{} in {:.1} s",
                files_and_bytes(totals.content_files, totals.bytes),
                totals.seconds
            ),
        ),
    ];
    let (problems, information): (Vec<&Finding>, Vec<&Finding>) = report
        .findings
        .iter()
        .partition(|finding| finding.kind.severity() != Severity::Info);
    let sections = html! {
        section id="findings" {
            h2 { "Problems and warnings (" (count(problems.len() as u64)) ")" }
            @if problems.is_empty() {
                p.none { "None: every content file matches the SHA-1 in its name." }
            } @else {
                (findings(&problems))
            }
            @if !information.is_empty() {
                h3 { "Information (" (count(information.len() as u64)) ")" }
                (parts::capped(&information, INFORMATION_SHOWN, |finding| html! {
                    code { (finding.path) } " " (detail(finding))
                }))
            }
        }
    };
    page("audit", &verdict(report), &checked, &sections, made)
}

fn verdict(report: &AuditReport) -> Verdict {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in report.findings {
        if finding.kind.severity() == Severity::Error {
            *by_kind.entry(finding.kind.name()).or_default() += 1;
        }
    }
    let kinds: Vec<String> = by_kind
        .iter()
        .map(|(kind, count)| format!("{count} {kind}"))
        .collect();
    let warnings = match report.warnings {
        0 => String::new(),
        1 => "; 1 warning".to_owned(),
        many => format!("; {many} warnings"),
    };
    let clean = report.errors == 0;
    Verdict {
        passed: clean,
        word: if clean { "Clean" } else { "Problems" },
        sentence: if clean {
            format!("every content file matches the SHA-1 in its name{warnings}")
        } else {
            let noun = if report.errors == 1 {
                "problem"
            } else {
                "problems"
            };
            format!("{} {noun} ({}){warnings}", report.errors, kinds.join(", "))
        },
        meaning: if clean {
            "WSUS can serve every content file in this folder as it is: none is damaged, empty, \
             misplaced or unreadable. Whether the folder holds every file a package needs is \
             what wsus-airgap check says."
                .into()
        } else {
            "WSUS would serve the files listed below damaged or not at all, and clients would \
             fail to install the updates that need them. Replace them: on a connected server, \
             wsusutil reset downloads damaged files again; on a disconnected one, carry them \
             again."
                .into()
        },
    }
}

fn findings(findings: &[&Finding]) -> Markup {
    html! {
        table.findings {
            thead { tr { th { "Severity" } th { "Kind" } th { "Path" } th { "Detail" } } }
            tbody {
                @for finding in findings {
                    @let severity = match finding.kind.severity() {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                        Severity::Info => "info",
                    };
                    tr {
                        td { span class={ "s " (severity) } { (severity) } }
                        td { (finding.kind.name()) }
                        td.path { code { (finding.path) } }
                        td { (detail(finding)) }
                    }
                }
            }
        }
    }
}

/// What a finding says beyond its kind and path.
fn detail(finding: &Finding) -> String {
    let text = finding.to_string();
    let prefix = format!("{}: {}: ", finding.kind.name(), finding.path);
    text.strip_prefix(&prefix).unwrap_or(&text).to_owned()
}
