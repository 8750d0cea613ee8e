//! `wsus-airgap mirror`: plan, print, and (unless `--dry-run`) apply.

use std::io::{self, Write};
use std::time::SystemTime;

use anyhow::Result;
use wsus_airgap::manifest::TransferMode;
use wsus_airgap::manifest::keys::PublicKey;
use wsus_airgap::manifest::verify::{self, VerifyOptions};
use wsus_airgap::mirror::report::MirrorReport;
use wsus_airgap::mirror::{self, Applied, ApplyOptions, Deletions, Listing, Plan, PlanOptions};
use wsus_airgap::transfer::Refusal;

use super::console::Console;
use super::transfer_report::{Subject, report_refusal};
use super::{Exit, plural};
use crate::cli::MirrorArgs;
use wsus_airgap::printable::{Printable, printable};

pub fn run(args: &MirrorArgs) -> Result<Exit> {
    let (listing, manifest_mode) = match (&args.manifest, &args.trust) {
        (Some(folder), Some(trust)) => {
            let trusted = PublicKey::read(trust)?;
            let options = VerifyOptions {
                now: SystemTime::now(),
                allow_expired: false,
                allow_rollback: false,
                state: None,
                allow_already_accepted: false,
            };
            let verified = match verify::verify(folder, &trusted, &options) {
                Ok(verified) => verified,
                Err(error) if error.is_refusal() => {
                    let refusal = Refusal::Manifest(error);
                    report_refusal(Subject::Folder(folder), &refusal, None, args.output.json)?;
                    return Ok(Exit::Problems);
                }
                Err(error) => return Err(error.into()),
            };
            let mode = verified.manifest.mode;
            (Listing::Manifest(verified.manifest.entries), Some(mode))
        }
        _ => (Listing::Scan, None),
    };
    let mode = args
        .mode
        .map(TransferMode::from)
        .or(manifest_mode)
        .unwrap_or(TransferMode::Incremental);
    let options = PlanOptions {
        mode,
        full: args.full,
        quarantine: args.quarantine.clone(),
        jobs: args.jobs,
    };
    let apply_options = ApplyOptions {
        max_delete: args.max_delete,
        quarantine: args.quarantine.clone(),
    };
    // One run at a time writes the destination; a dry run writes nothing.
    let _one_run = if args.dry_run {
        None
    } else {
        Some(mirror::lock_destination(&args.destination)?)
    };
    let (plan, applied) = mirror::plan_and_apply(
        &args.source,
        &args.destination,
        &listing,
        &options,
        (!args.dry_run).then_some(&apply_options),
        mirror::default_cache_folder().as_deref(),
        &Console::bars(args.output.quiet),
    )?;

    let mut stdout = super::stdout::report();
    if args.output.json {
        let report = MirrorReport::new(&plan, applied.as_ref());
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        write_text(&plan, applied.as_ref(), &mut Printable(&mut stdout))?;
    }
    stdout.flush()?;
    let Some(applied) = applied else {
        return Ok(Exit::Success);
    };
    if let Some(error) = &applied.stopped {
        stderr_line!("wsus-airgap: error: {}", printable(&error.to_string()));
        return Ok(Exit::Error);
    }
    Ok(if applied.is_complete() {
        Exit::Success
    } else {
        Exit::Problems
    })
}

fn write_text(plan: &Plan, applied: Option<&Applied>, out: &mut impl Write) -> io::Result<()> {
    let actions = applied.map_or(plan.actions.as_slice(), |applied| applied.done.as_slice());
    for action in actions {
        writeln!(out, "{}", printable(&action.to_string()))?;
    }
    let summary = &plan.totals;
    let Some(applied) = applied else {
        writeln!(out, "plan ({} mode): {summary}", plan.mode)?;
        return writeln!(out, "dry run: nothing was changed");
    };
    for rejected in &applied.rejected {
        writeln!(
            out,
            "rejected: {}: expected BLAKE3 {}, the source holds {}; not put in place",
            rejected.path, rejected.expected, rejected.found
        )?;
    }
    match &applied.deletions {
        Deletions::Done => {}
        Deletions::SkippedAfterErrors => writeln!(
            out,
            "deletions: none made, because the copies did not all succeed"
        )?,
        Deletions::TooMany { planned, max } => writeln!(
            out,
            "deletions: none made: the plan deletes {planned} {}, more than --max-delete {max}",
            plural(*planned as usize, "file")
        )?,
    }
    writeln!(out, "planned ({} mode): {summary}", plan.mode)?;
    let verdict = if applied.stopped.is_some() {
        "stopped".to_owned()
    } else if !applied.rejected.is_empty() {
        format!(
            "{} {} rejected",
            applied.rejected.len(),
            plural(applied.rejected.len(), "file")
        )
    } else if applied.deletions != Deletions::Done {
        "deletions refused".to_owned()
    } else {
        "done".to_owned()
    };
    writeln!(out, "result: {verdict}")
}
