//! `wsus-airgap import`: arguments to [`transfer::import`], its report, its exit code.

use std::time::SystemTime;

use anyhow::Result;
use wsus_airgap::transfer::volumes::VolumesImport;
use wsus_airgap::transfer::{self, Outcome};
use wsus_airgap::{mirror, report, wsus};

use super::console::Console;
use super::step_log::StepLog;
use super::transfer_report::{Subject, report_refusal, write_imported, write_waiting};
use super::{Exit, exit_code, render};
use crate::cli::ImportArgs;

pub fn run(args: &ImportArgs) -> Result<Exit> {
    let options = args.options(SystemTime::now(), mirror::default_cache_folder());
    report::check_writable(args.html.as_deref())?;
    let console = Console::new(
        args.output.quiet,
        StepLog::open(args.log.as_deref(), "import")?,
    );
    let imported = transfer::volumes::import_any(&options, &args.media, &console);
    let outcome = console.logged(imported, "the trust state is unchanged")?;
    let stage = wsus::stage::after(&outcome, &args.wsus_options(), &console);
    report::write_html(args.html.as_deref(), |made| {
        let (media, content) = (&options.media, &options.content);
        report::html::import(&outcome, stage.as_ref(), media, content, made)
    })?;
    match (&outcome, stage) {
        (Outcome::Done(VolumesImport::Complete(imported)), Some(stage)) => {
            write_imported(imported, &stage, args.output.json)?;
            if let Some(error) = &stage.failure {
                render::report_powershell(error);
                return Ok(Exit::Wsusutil);
            }
            if stage.not_ready() {
                return Ok(Exit::Problems);
            }
        }
        (Outcome::Done(waiting), _) => write_waiting(waiting, args.output.json)?,
        (Outcome::Refused(refusal), _) => report_refusal(
            Subject::Media(&options.media),
            refusal,
            None,
            args.output.json,
        )?,
    }
    Ok(exit_code(&outcome))
}
