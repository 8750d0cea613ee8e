//! `wsus-airgap verify`: arguments to [`transfer::verify`], its report, its exit code. Exit 0
//! only when an import of this media would succeed.

use std::time::SystemTime;

use anyhow::Result;
use wsus_airgap::transfer::{self, Outcome, VerifyMediaOptions};
use wsus_airgap::wsus::stage::settings_check;
use wsus_airgap::{mirror, report};

use super::console::Console;
use super::transfer_report::{Subject, report_refusal, write_ready};
use super::{Exit, exit_code};
use crate::cli::VerifyArgs;

pub fn run(args: &VerifyArgs) -> Result<Exit> {
    let options = VerifyMediaOptions {
        media: args.media.clone(),
        trust: args.trust.clone(),
        state: args.state.clone(),
        content: args.content.clone(),
        now: SystemTime::now(),
        cache_folder: mirror::default_cache_folder(),
        jobs: args.jobs,
    };
    let console = Console::bars(args.output.quiet);
    let outcome = transfer::verify(&options, &console)?;
    report::write_html(args.html.as_deref(), |made| {
        report::html::verify(&outcome, &args.media, args.content.as_deref(), made)
    })?;
    match &outcome {
        Outcome::Done(ready) => {
            let settings = settings_check(&ready.check, args.settings_powershell().as_ref())?;
            write_ready(ready, settings.as_deref(), args.output.json)?
        }
        Outcome::Refused(refusal) => {
            report_refusal(Subject::Media(&args.media), refusal, None, args.output.json)?
        }
    }
    Ok(exit_code(&outcome))
}
