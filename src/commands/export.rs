//! `wsus-airgap export`: arguments to [`transfer::export`], its report, its exit code.

use std::time::SystemTime;

use anyhow::Result;
use wsus_airgap::manifest::create::host_name;
use wsus_airgap::mirror;
use wsus_airgap::transfer::{self, ExportOptions, Outcome};

use super::console::Console;
use super::step_log::StepLog;
use super::transfer_report::{Subject, report_refusal, write_exported};
use super::{Exit, exit_code};
use crate::cli::ExportArgs;

pub fn run(args: &ExportArgs) -> Result<Exit> {
    let options = ExportOptions {
        content: args.content.clone(),
        media: args.media.clone(),
        key: args.key.clone(),
        package: args.package_source(),
        mode: args.mode.into(),
        since: args.since.clone(),
        expires_in_days: args.expires,
        sequence: args.sequence,
        allow_gaps: args.allow_gaps,
        wsus: args.wsus_source(),
        dry_run: args.dry_run,
        host: host_name(),
        now: SystemTime::now(),
        cache_folder: mirror::default_cache_folder(),
        jobs: args.jobs,
    };
    let console = Console::new(
        args.output.quiet,
        StepLog::open(args.log.as_deref(), "export")?,
    );
    let outcome = console.logged(
        transfer::volumes::export_any(&options, args.volumes().as_ref(), &console),
        "nothing was signed",
    )?;
    match &outcome {
        Outcome::Done(exported) => write_exported(exported, args.output.json)?,
        Outcome::Refused(refusal) => report_refusal(
            Subject::Media(&args.media),
            refusal,
            Some("nothing was signed"),
            args.output.json,
        )?,
    }
    Ok(exit_code(&outcome))
}
