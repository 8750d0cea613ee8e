//! The report of `check`: which updates would show "Failed to download" once approved, and
//! the files of the package's updates by state.

use maud::{Markup, html};

use super::chart::{self, Part};
use super::page::{Fact, Verdict, page};
use super::parts::{self, Count, FileLine, bytes, count, files_and_bytes};
use crate::check::report::CheckReport;
use crate::check::{Check, FileState};
use crate::report::Made;

/// Orphans listed by name; the JSON report lists them all.
const ORPHANS_SHOWN: usize = 100;

/// The report of a completeness check, as `check --html` writes it.
pub fn check(report: &CheckReport, made: &Made) -> String {
    let check = report.check;
    let totals = &check.totals;
    let checked: [Fact; 6] = [
        ("Export package", report.package.clone()),
        (
            "Exported by WSUS server",
            report.package_origin.server_id.to_owned(),
        ),
        (
            "Package created",
            report.package_origin.creation_time.to_owned(),
        ),
        ("Content folder", report.content.clone()),
        (
            "Approved updates",
            if check.approved_list {
                "given: only approved updates that lack content fail the check".into()
            } else {
                "not given: every update that lacks content fails the check".into()
            },
        ),
        (
            "Updates in the package",
            format!(
                "{}, of which {} need content: {}",
                count(totals.updates as u64),
                count(totals.updates_needing_content as u64),
                files_and_bytes(totals.files as u64, totals.bytes)
            ),
        ),
    ];
    let (heading, none) = if check.approved_list {
        (
            "Approved updates that would show \"Failed to download\"",
            "None: every approved update's files are present and intact.",
        )
    } else {
        (
            "Updates that would show \"Failed to download\" once approved",
            "None: every update's files are present and intact.",
        )
    };
    let file = |path| file_line(check, path);
    let sections = html! {
        (parts::updates("failing", heading, none, &check.failing, file))
        @if check.approved_list {
            (parts::updates(
                "not-approved",
                "Not approved, also lacking content (information)",
                "None.",
                &check.not_approved,
                file,
            ))
        }
        (files(check))
        (notes(check))
    };
    page("check", &verdict(report), &checked, &sections, made)
}

fn verdict(report: &CheckReport) -> Verdict {
    let check = report.check;
    let scope = if check.approved_list {
        "approved update"
    } else {
        "update in this package"
    };
    let meaning = if check.passed() {
        format!(
            "No {scope} will show \"Failed to download\" for lack of content: every file it \
             needs is in {} with the SHA-1 and size the package gives.",
            report.content
        )
    } else {
        format!(
            "Once approved, the updates listed below will show \"Failed to download\" on the \
             WSUS server: files they need are missing or damaged in {}. Do not approve them \
             until those files are there (let the connected server finish downloading, or \
             carry the files again), then check again.",
            report.content
        )
    };
    Verdict {
        passed: check.passed(),
        word: if check.passed() {
            "Complete"
        } else {
            "Incomplete"
        },
        sentence: check.to_string(),
        meaning,
    }
}

/// The file at `path`, as the check found it.
fn file_line<'a>(check: &Check, path: &'a str) -> FileLine<'a> {
    let Some(file) = check.file(path) else {
        return FileLine {
            path,
            state: "missing",
            detail: String::new(),
        };
    };
    let size = file
        .size
        .map_or(String::new(), |size| format!(", {}", bytes(size)));
    let found = match &file.state {
        FileState::Missing {
            misplaced_at: Some(at),
        } => format!(": a copy sits at {at}, outside the folder WSUS looks in"),
        FileState::Corrupt {
            actual_sha1,
            actual_size,
        } => format!(": found SHA-1 {actual_sha1}, {}", bytes(*actual_size)),
        FileState::Unreadable { error } => format!(": {error}"),
        _ => String::new(),
    };
    FileLine {
        path,
        state: file.state.name(),
        detail: format!("({}{size}){found}", file.name),
    }
}

/// The needed files by state, with their bytes, and the orphans.
fn files(check: &Check) -> Markup {
    let totals = &check.totals;
    // Without metadata.txt the sizes are unknown.
    let bytes_in = |state: &str| {
        check.metadata.then(|| {
            check
                .files
                .iter()
                .filter(|file| file.state.name() == state)
                .filter_map(|file| file.size)
                .sum::<u64>()
        })
    };
    let row = |label, class, files: usize| Count {
        label,
        class,
        files: files as u64,
        bytes: bytes_in(class),
    };
    let rows = [
        row("Present and intact", "present", totals.present),
        row("Missing", "missing", totals.missing),
        row("Corrupt", "corrupt", totals.corrupt),
        row("Unreadable", "unreadable", totals.unreadable),
        row(
            "ESD mismatch (warning)",
            "esd-mismatch",
            totals.esd_mismatch,
        ),
        Count {
            label: "Orphans: content no update references",
            class: "orphan",
            files: totals.orphans as u64,
            bytes: Some(totals.orphan_bytes),
        },
    ];
    let parts: Vec<Part> = rows[..5]
        .iter()
        .map(|row| Part {
            label: row.label,
            class: row.class,
            value: row.bytes.unwrap_or(0),
        })
        .collect();
    html! {
        section id="files" {
            h2 { "Files the updates need" }
            (parts::counts("State", &rows))
            (chart::stacked("Bytes the updates need, by state", &parts))
            @if !check.orphans.is_empty() {
                h3 { "Orphans" }
                (parts::capped(&check.orphans, ORPHANS_SHOWN, |orphan| html! {
                    code { (orphan.path) } " (" (bytes(orphan.size)) ")"
                }))
            }
        }
    }
}

/// What the reader should also know: no metadata, approved updates not checked, `.esd`
/// warnings, other problems in the folder.
fn notes(check: &Check) -> Markup {
    let esd: Vec<_> = check
        .files
        .iter()
        .filter(|file| matches!(file.state, FileState::EsdMismatch { .. }))
        .collect();
    html! {
        @if !check.metadata {
            p.note { "The package holds no metadata.txt: file names, sizes and bundles are \
                unknown, so files were matched by SHA-1 alone." }
        }
        @if !check.approved_not_in_package.is_empty() {
            p.note {
                "Approved updates not in the package, so not checked: "
                @for (index, id) in check.approved_not_in_package.iter().enumerate() {
                    @if index > 0 { ", " } code { (id) }
                }
            }
        }
        @for file in esd {
            p.note {
                "Warning: " code { (file.path) } " (an .esd file) does not match the SHA-1 in \
                its name; WSUS may decrypt .esd files in place."
            }
        }
        @if check.totals.other_content_problems > 0 {
            p.note {
                "The content folder has " (check.totals.other_content_problems)
                " other problems that this package does not need; wsus-airgap audit lists them."
            }
        }
    }
}
