//! `wsus-airgap import`: the disconnected side. Nothing reaches the content folder before the
//! media passed the gate, and wsusutil never starts before the content is proven complete.
//! Only a successful import advances the trust state; any failure leaves it as it was, and a
//! rerun resumes where the copy stopped.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result};
use serde::Serialize;
use wsus_airgap::atomic_file;
use wsus_airgap::manifest::Timestamp;
use wsus_airgap::manifest::trust::TrustState;
use wsus_airgap::mirror::{ApplyOptions, Deletions};
use wsus_airgap::run_lock::RunLock;
use wsus_airgap::transfer::receipt::Receipt;
use wsus_airgap::transfer::{Media, wsusutil};

use super::mirror::totals_text;
use super::printable::printable;
use super::progress_bar::spinner;
use super::step_log::StepLog;
use super::transfer::{
    Refused, beside_content, default_state, pass_gate, plan_import, program, report_wsusutil,
};
use super::verify::write_summary;
use super::{Exit, plural};
use crate::cli::ImportArgs;

/// The receipt beside the content folder, and the wsusutil import log.
const RECEIPT_FILE: &str = "wsus-airgap-receipt.json";
const IMPORT_LOG: &str = "wsusutil-import.log";

pub fn run(args: &ImportArgs) -> Result<Exit> {
    let mut log = StepLog::open(args.log.as_deref(), "import")?;
    let media = Media::new(&args.media);
    let state_path = default_state(args.state.as_deref());
    log.line(&format!(
        "started: media {}, content {}{}",
        args.media.display(),
        args.content.display(),
        if args.dry_run { ", dry run" } else { "" }
    ))?;
    // Before anything changes: what a successful import records must be writable, so that
    // wsusutil never runs unrecorded; and one import at a time per trust state (one per
    // server), from before the gate on, or a second import that passed the gate while the
    // first ran would import the same media again.
    let receipt_path = beside_content(&args.content, RECEIPT_FILE);
    let (_one_import, mut state) = if args.dry_run {
        (None, TrustState::load(&state_path)?)
    } else {
        match prepare_to_record(&state_path, &receipt_path) {
            Ok((lock, state)) => (Some(lock), state),
            Err(error) => {
                log.line(&format!("stopped: {error:#}"))?;
                return Err(error);
            }
        }
    };
    let check = match pass_gate(&media, &args.trust, &state, args.jobs, args.output.quiet)? {
        Ok(check) => check,
        Err(refused) => {
            log.line("refused: the media did not pass verification; nothing was changed")?;
            return refused.report(&media, args.output.json);
        }
    };
    let manifest = &check.verified.manifest;
    log.line(&format!(
        "verified: key {}, sequence {}, {} files listed",
        check.verified.key_id, manifest.sequence, manifest.totals.files
    ))?;
    let brakes = ApplyOptions {
        max_delete: args.max_delete,
        quarantine: args.quarantine.clone(),
    };
    let (plan, applied) = match plan_import(
        &media,
        &check,
        &args.content,
        &brakes,
        !args.dry_run,
        args.jobs,
        args.output.quiet,
    )? {
        Ok(planned) => planned,
        Err(refused) => {
            log.line(
                "refused: the media and the content folder lack listed files; nothing was changed",
            )?;
            return refused.report(&media, args.output.json);
        }
    };
    let totals = plan.totals;
    let copied = totals_text(&totals);
    let mut stdout = super::stdout::lock();
    let Some(mut applied) = applied else {
        write_summary(&mut stdout, &check)?;
        writeln!(stdout, "content (dry run): {copied}")?;
        writeln!(stdout, "result: ready to import")?;
        log.line(&format!("dry run: {copied}"))?;
        return Ok(Exit::Success);
    };
    if let Some(error) = applied.stopped.take() {
        log.line(&format!(
            "copy stopped: {error}; the trust state is unchanged"
        ))?;
        return Err(error.into());
    }
    if let Deletions::TooMany { planned, max } = applied.deletions {
        log.line(&format!(
            "refused: {planned} deletions, more than --max-delete {max}; the trust state is \
             unchanged"
        ))?;
        return Refused(format!(
            "the media is in mirror mode and the copy would delete {planned} content {} the \
             manifest does not list, more than --max-delete {max}; nothing was deleted and \
             wsusutil was not run (see them with --dry-run; rerun with a larger --max-delete \
             or with --quarantine DIR)",
            plural(planned as usize, "file")
        ))
        .report(&media, args.output.json);
    }
    if !applied.is_complete() {
        for rejected in &applied.rejected {
            stderr_line!(
                "rejected: {} (not as signed; not put in place)",
                printable(&rejected.path)
            );
        }
        log.line("copy incomplete; the trust state is unchanged")?;
        return Refused("the content folder could not be completed; rerun to resume".into())
            .report(&media, args.output.json);
    }
    log.line(&format!("content: {copied}"))?;

    // The content must now hold every listed file: planned again, nothing may be left to do.
    let recheck = match plan_import(
        &media,
        &check,
        &args.content,
        &brakes,
        false,
        args.jobs,
        true,
    )? {
        Ok((plan, _)) => plan.totals,
        Err(refused) => return refused.report(&media, args.output.json),
    };
    if recheck.copy_files + recheck.replace_files > 0 {
        log.line("the content changed during the import; the trust state is unchanged")?;
        anyhow::bail!(
            "{}: {} files changed during the import; rerun",
            args.content.display(),
            recheck.copy_files + recheck.replace_files
        );
    }

    let program = program(args.wsusutil.as_deref());
    let package = match &manifest.package {
        Some(entry) => entry.name.under(&media.root),
        None => anyhow::bail!(
            "{}: the manifest names no package to import",
            media.root.display()
        ),
    };
    let import_log = beside_content(&args.content, IMPORT_LOG);
    log.line(&format!("running {} import", program.display()))?;
    let spinner = spinner(args.output.quiet, "wsusutil import".to_owned());
    let result = wsusutil::import(&program, &package, &import_log);
    spinner.finish_and_clear();
    let result = match result {
        Ok(()) if args.reset => {
            log.line("running wsusutil reset")?;
            wsusutil::reset(&program)
        }
        other => other,
    };
    if let Err(error) = result {
        log.line(&format!(
            "wsusutil failed: {error}; the trust state is unchanged"
        ))?;
        report_wsusutil(&error);
        return Ok(Exit::Wsusutil);
    }

    // Done: first the trust state, so that this media can never be imported again, then the
    // receipt for the return trip (without which the next export only carries more).
    let now = Timestamp::new(SystemTime::now());
    let key_id = check.verified.key_id;
    state.accept(key_id, manifest.sequence, now);
    state.save(&state_path)?;
    let receipt = Receipt::new(
        key_id.to_string(),
        manifest.sequence,
        now,
        &manifest.entries,
    );
    receipt.write(&receipt_path)?;
    let on_media = media.file(Media::RECEIPT);
    if let Err(error) = receipt.write(&on_media) {
        stderr_line!(
            "warning: {} (the receipt is also at {})",
            printable(&error.to_string()),
            receipt_path.display()
        );
    }
    log.line(&format!(
        "finished: sequence {} imported; receipt {}",
        manifest.sequence,
        receipt_path.display()
    ))?;

    if args.output.json {
        #[derive(Serialize)]
        struct Report {
            result: &'static str,
            key_id: String,
            sequence: u64,
            content: wsus_airgap::mirror::PlanTotals,
            receipt: String,
            reset: bool,
        }
        let report = Report {
            result: "imported",
            key_id: key_id.to_string(),
            sequence: manifest.sequence,
            content: totals,
            receipt: receipt_path.display().to_string(),
            reset: args.reset,
        };
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        write_summary(&mut stdout, &check)?;
        writeln!(stdout, "content: {copied}")?;
        writeln!(
            stdout,
            "wsusutil import: done{}",
            if args.reset { ", reset: done" } else { "" }
        )?;
        writeln!(
            stdout,
            "receipt: {}",
            printable(&receipt_path.display().to_string())
        )?;
        writeln!(stdout, "result: imported sequence {}", manifest.sequence)?;
    }
    stdout.flush()?;
    Ok(Exit::Success)
}

/// Proves that the trust state and the receipt can be written, taking the lock beside the
/// trust state (`trust-state.json.lock`) before the state is loaded: under the lock no other
/// import changes it, so the state loaded here is the one this import advances. The state's
/// folder is made if needed; the receipt's (the content folder's) is probed only when it
/// exists: a mistyped `--content` makes no folder here, and a folder the copy makes is
/// writable.
fn prepare_to_record(state_path: &Path, receipt: &Path) -> Result<(RunLock, TrustState)> {
    const UNRECORDABLE: &str =
        "the import could not be recorded, so it was not started; nothing was changed";
    let state_folder = state_path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    atomic_file::check_writable(state_folder)
        .with_context(|| state_path.display().to_string())
        .context(UNRECORDABLE)?;
    let lock = RunLock::take_for(state_path, "import with this trust state")?;
    let state = TrustState::load_and_save_unchanged(state_path).context(UNRECORDABLE)?;
    let receipt_folder = receipt
        .parent()
        .expect("the receipt is beside the content folder");
    if receipt_folder.exists() {
        atomic_file::check_writable(receipt_folder)
            .with_context(|| receipt_folder.display().to_string())
            .context(UNRECORDABLE)?;
    }
    Ok((lock, state))
}
