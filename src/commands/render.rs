//! The lines several reports share, written in one place: plan totals, audit findings, files
//! a manifest cannot vouch for, media problems, updates at risk, and wsusutil's failure.

use std::io::{self, Write};

use indicatif::HumanCount;
use wsus_airgap::check::UpdateGap;
use wsus_airgap::content::{EntryType, Finding, FindingKind};
use wsus_airgap::manifest::contents::{Changed, ContentsCheck, Found, PackageState};
use wsus_airgap::manifest::create;
use wsus_airgap::transfer::wsusutil::WsusutilError;

use super::display;
use super::printable::printable;

/// The hint for wsusutil's known empty-package failure.
pub const EMPTY_PACKAGE_HINT: &str = "wsusutil export is known to write an empty package when \
    the export exceeds the 2 GB limit of the CAB format (fixed by KB2819484 on Windows Server \
    2012 and KB2828185 on WSUS 3.0 SP2): install the fix and export again";

/// `kind: path: detail` for an audit finding.
pub fn finding_line(finding: &Finding) -> String {
    let detail = match &finding.kind {
        FindingKind::Corrupt {
            expected_sha1,
            actual_sha1,
        } => format!("expected SHA-1 {expected_sha1} (from the name), found {actual_sha1}"),
        FindingKind::Empty => "content file is empty (0 bytes)".to_owned(),
        FindingKind::Misplaced { expected_path } => format!("belongs at {expected_path}"),
        FindingKind::Unreadable { error } => printable(error).into_owned(),
        FindingKind::EsdMismatch {
            expected_sha1,
            actual_sha1,
        } => format!(
            "expected SHA-1 {expected_sha1} (from the name), found {actual_sha1}; \
             a warning only: WSUS may decrypt .esd files in place"
        ),
        FindingKind::LowerCase { expected_path } => {
            format!("lower-case hex; WSUS writes {expected_path}")
        }
        FindingKind::Other { file_type } => match file_type {
            EntryType::File => "not a content file".to_owned(),
            EntryType::Link => "link, not followed".to_owned(),
            EntryType::Special => "not a regular file, not opened".to_owned(),
        },
    };
    format!(
        "{}: {}: {detail}",
        finding.kind.name(),
        printable(&finding.path)
    )
}

/// One file a manifest cannot vouch for.
pub fn unvouched_line(refusal: &create::Refusal) -> String {
    match refusal {
        create::Refusal::Finding(finding) => finding_line(finding),
        create::Refusal::UnsafeName { path, problem } => format!(
            "unsafe-name: {}: {}",
            printable(path),
            printable(&problem.to_string())
        ),
        create::Refusal::CaseCollision { path, other } => {
            format!("case-collision: {path}: collides on Windows with {other}")
        }
    }
}

/// One line per file that is not as the manifest lists it.
pub fn write_problems(check: &ContentsCheck, out: &mut impl Write) -> io::Result<()> {
    for path in &check.missing {
        writeln!(out, "missing: {path}")?;
    }
    for changed in &check.changed {
        writeln!(out, "changed: {}", changed_line(changed))?;
    }
    for extra in &check.extra {
        writeln!(
            out,
            "extra: {}: not in the manifest",
            printable(&extra.path)
        )?;
    }
    for (path, error) in &check.unlisted {
        writeln!(out, "unreadable: {}: {}", printable(path), printable(error))?;
    }
    Ok(())
}

pub fn package_line(package: &PackageState) -> String {
    match package {
        PackageState::Intact { path } => format!("{}: intact", display(path)),
        PackageState::Missing { path } => format!("{}: missing", display(path)),
        PackageState::Changed { path, found } => {
            format!("{}: changed: {}", display(path), found_text(found))
        }
    }
}

fn changed_line(changed: &Changed) -> String {
    format!(
        "{}: expected {} bytes, BLAKE3 {}; {}",
        changed.path,
        HumanCount(changed.expected_size),
        changed.expected_blake3,
        found_text(&changed.found)
    )
}

fn found_text(found: &Found) -> String {
    match found {
        Found::Content { size, blake3 } => {
            format!("found {} bytes, BLAKE3 {blake3}", HumanCount(*size))
        }
        Found::NotAFile { file_type } => {
            format!("found a {file_type:?}, not a file").to_lowercase()
        }
        Found::Unreadable { error } => format!("unreadable: {}", printable(error)),
    }
}

/// `KB5040034 Title [update <id>, revision 1]`: how every report names an update.
pub fn update_heading(update: &UpdateGap) -> String {
    let kb = update
        .kb
        .as_deref()
        .map_or(String::new(), |kb| format!("KB{kb} "));
    let title = printable(update.title.as_deref().unwrap_or("(no title)"));
    format!(
        "{kb}{title} [update {}, revision {}]",
        update.id, update.revision
    )
}

/// One line per update that would show "Failed to download", then the files it lacks.
pub fn write_updates_at_risk(out: &mut impl Write, updates: &[UpdateGap]) -> io::Result<()> {
    for update in updates {
        writeln!(out, "would fail to download: {}", update_heading(update))?;
        for file in &update.files {
            writeln!(out, "  lacks {}", printable(file))?;
        }
    }
    Ok(())
}

/// Exit 3's message: the failure, the tail of wsusutil's log, and the fix where it is known.
pub fn report_wsusutil(error: &WsusutilError) {
    stderr_line!(
        "wsus-airgap: wsusutil failed: {}",
        printable(&error.to_string())
    );
    if let WsusutilError::Failed { log_tail, .. } = error
        && !log_tail.is_empty()
    {
        stderr_line!("the log ends:");
        for line in log_tail {
            stderr_line!("  {}", printable(line));
        }
    }
    if let WsusutilError::EmptyPackage { .. } = error {
        stderr_line!("hint: {EMPTY_PACKAGE_HINT}");
    }
}
