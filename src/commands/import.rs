//! `wsus-airgap import`: arguments to [`transfer::import`], its report, its exit code.

use std::time::SystemTime;

use anyhow::Result;
use wsus_airgap::transfer::{self, ImportOptions, Outcome, default_state_path, wsusutil};
use wsus_airgap::{mirror, report};

use super::console::Console;
use super::step_log::StepLog;
use super::transfer_report::{Subject, report_refusal, write_imported};
use super::{Exit, exit_code};
use crate::cli::ImportArgs;

pub fn run(args: &ImportArgs) -> Result<Exit> {
    let options = ImportOptions {
        media: args.media.clone(),
        trust: args.trust.clone(),
        content: args.content.clone(),
        wsusutil: args
            .wsusutil
            .clone()
            .unwrap_or_else(wsusutil::default_program),
        reset: args.reset,
        state: args.state.clone().unwrap_or_else(default_state_path),
        dry_run: args.dry_run,
        max_delete: args.max_delete,
        quarantine: args.quarantine.clone(),
        now: SystemTime::now(),
        cache_folder: mirror::default_cache_folder(),
        jobs: args.jobs,
    };
    report::check_writable(args.html.as_deref())?;
    let console = Console::new(
        args.output.quiet,
        StepLog::open(args.log.as_deref(), "import")?,
    );
    let outcome = console.logged(
        transfer::import(&options, &console),
        "the trust state is unchanged",
    )?;
    report::write_html(args.html.as_deref(), |made| {
        let quarantine = args.quarantine.as_deref();
        report::html::import(&outcome, &args.media, &args.content, quarantine, made)
    })?;
    match &outcome {
        Outcome::Done(imported) => {
            write_imported(imported, args.output.json)?;
        }
        Outcome::Refused(refusal) => {
            report_refusal(Subject::Media(&args.media), refusal, None, args.output.json)?
        }
    }
    Ok(exit_code(&outcome))
}
