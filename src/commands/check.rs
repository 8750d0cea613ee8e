//! `wsus-airgap check`: the text, JSON and HTML faces of `check::compare`.

use std::io::{self, Write};

use anyhow::Result;
use indicatif::HumanCount;
use wsus_airgap::check::report::CheckReport;
use wsus_airgap::check::{self, Check, FileState, Summary, UpdateGap};
use wsus_airgap::content::{self, AuditOptions};
use wsus_airgap::{package, report};

use super::Exit;
use super::progress_bar::Bar;
use crate::cli::CheckArgs;
use wsus_airgap::printable::{Printable, printable};

/// Orphans listed in the text report; `--json` lists them all.
const ORPHANS_SHOWN: usize = 20;

pub fn run(args: &CheckArgs) -> Result<Exit> {
    // Every input is read and checked before the long hashing starts.
    let approved = args
        .approved
        .as_deref()
        .map(check::read_approved)
        .transpose()?;
    let package = package::open(&args.package)?;
    let bar = Bar::new(args.output.quiet);
    let result = content::audit(&args.content, &AuditOptions { jobs: args.jobs }, &bar);
    bar.finish();
    let audit = result?;
    let check = check::compare(&package, &audit, approved.as_ref());
    let document = CheckReport::new(&args.package, &args.content, &package, &check);
    report::write_html(args.html.as_deref(), |made| {
        report::html::check(&document, made)
    })?;

    let mut stdout = super::stdout::report();
    if args.output.json {
        serde_json::to_writer_pretty(&mut stdout, &document)?;
        writeln!(stdout)?;
    } else {
        write_text(args, &check, &mut Printable(&mut stdout))?;
    }
    stdout.flush()?;
    Ok(if check.passed() {
        Exit::Success
    } else {
        Exit::Problems
    })
}

fn write_text(args: &CheckArgs, check: &Check, out: &mut impl Write) -> io::Result<()> {
    if !check.failing.is_empty() {
        let count = HumanCount(check.failing.len() as u64);
        let heading = match (check.approved_list, check.failing.len()) {
            (false, 1) => "this update will show \"Failed to download\" once approved:".into(),
            (false, _) => {
                format!("these {count} updates will show \"Failed to download\" once approved:")
            }
            (true, 1) => "this approved update will show \"Failed to download\":".into(),
            (true, _) => {
                format!("these {count} approved updates will show \"Failed to download\":")
            }
        };
        writeln!(out, "{heading}")?;
        write_gaps(check, &check.failing, out)?;
    }
    if !check.not_approved.is_empty() {
        let count = check.not_approved.len();
        let many = HumanCount(count as u64);
        writeln!(
            out,
            "information: {} not approved, also lacking content:",
            if count == 1 {
                "this update is".to_owned()
            } else {
                format!("these {many} updates are")
            }
        )?;
        write_gaps(check, &check.not_approved, out)?;
    }
    for file in check.files.iter() {
        if let FileState::EsdMismatch { actual_sha1 } = &file.state {
            writeln!(
                out,
                "warning: esd-mismatch: {}: expected SHA-1 {} (from the name), found {actual_sha1}; \
                 WSUS may decrypt .esd files in place",
                file.path, file.sha1
            )?;
        }
    }
    if !check.approved_not_in_package.is_empty() {
        let count = check.approved_not_in_package.len();
        let updates_are = ["updates are", "update is"][usize::from(count == 1)];
        writeln!(
            out,
            "note: {count} approved {updates_are} not in the package, so not checked: {}",
            check.approved_not_in_package.join(", ")
        )?;
    }
    for orphan in check.orphans.iter().take(ORPHANS_SHOWN) {
        writeln!(
            out,
            "orphan: {} ({} bytes): no update in the package references it",
            orphan.path,
            HumanCount(orphan.size)
        )?;
    }
    if check.orphans.len() > ORPHANS_SHOWN {
        writeln!(
            out,
            "orphan: ... and {} more (--json lists them all)",
            HumanCount((check.orphans.len() - ORPHANS_SHOWN) as u64)
        )?;
    }
    let summary = Summary {
        check,
        package: &args.package,
        content: &args.content,
    };
    write!(out, "{summary}")
}

/// Each update, then its files that are not served intact.
fn write_gaps(check: &Check, gaps: &[UpdateGap], out: &mut impl Write) -> io::Result<()> {
    for gap in gaps {
        writeln!(out, "  {}", printable(&gap.to_string()))?;
        for path in &gap.files {
            if let Some(file) = check.file(path) {
                writeln!(out, "    {}", file)?;
            }
        }
        for id in &gap.absent_updates {
            writeln!(
                out,
                "    absent: bundled update {id} is not in the package, so its content is unknown"
            )?;
        }
    }
    Ok(())
}
