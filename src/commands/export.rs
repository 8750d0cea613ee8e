//! `wsus-airgap export`: the connected side. wsusutil export, a completeness check of the
//! content against the package, the content staged on the media, and the signed manifest
//! written last, so that media without a valid signature is visibly unfinished.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result};
use indicatif::HumanCount;
use serde::Serialize;
use wsus_airgap::atomic_file::make_replaceable;
use wsus_airgap::check;
use wsus_airgap::manifest::create::{self, CreateOptions};
use wsus_airgap::manifest::keys::SecretKey;
use wsus_airgap::manifest::{SIGNATURE_FILE, TransferMode, trusted_comment};
use wsus_airgap::mirror::{ApplyOptions, Listing, PlanOptions};
use wsus_airgap::relpath::RelPath;
use wsus_airgap::run_lock::RunLock;
use wsus_airgap::transfer::receipt::Receipt;
use wsus_airgap::transfer::{Media, readme_text, sequence, wsusutil};

use super::manifest_create::{build_or_refuse, host_name};
use super::mirror::{plan_and_apply, totals_text};
use super::printable::printable;
use super::progress_bar::spinner;
use super::step_log::StepLog;
use super::transfer::{program, report_wsusutil, write_updates_at_risk};
use super::{Exit, plural};
use crate::cli::{ExportArgs, Mode};

pub fn run(args: &ExportArgs) -> Result<Exit> {
    let mut log = StepLog::open(args.log.as_deref(), "export")?;
    // The key is read first: a wrong key file should not cost an hour of exporting.
    let secret = SecretKey::read(&args.key)?;
    let key_id = secret.public().id.to_string();
    let sequence_file = sequence::file_for(&args.key);
    // One export at a time per key, from before its sequence is read: two at once would sign
    // the same sequence number.
    let _one_export = if args.dry_run {
        None
    } else {
        match RunLock::take_for(&sequence_file, "export signing with this key") {
            Ok(lock) => Some(lock),
            Err(error) => {
                log.line(&format!("stopped: {error}"))?;
                return Err(error.into());
            }
        }
    };
    let last = sequence::last(&sequence_file)?;
    let sequence = args.sequence.unwrap_or(last + 1);
    let media = Media::new(&args.media);
    let mode = match args.mode {
        Mode::Incremental => TransferMode::Incremental,
        Mode::Mirror => TransferMode::Mirror,
    };
    log.line(&format!(
        "started: content {}, media {}, sequence {sequence}, key {key_id}, mode {mode}{}",
        args.content.display(),
        args.media.display(),
        if args.dry_run { ", dry run" } else { "" }
    ))?;
    let receipt = args.since.as_deref().map(Receipt::read).transpose()?;

    if !args.dry_run {
        fs::create_dir_all(&media.root)
            .with_context(|| format!("{}: cannot create the media folder", media.root.display()))?;
        // An earlier signature here would vouch for a half-staged folder: it goes first.
        remove_if_present(&media.file(SIGNATURE_FILE))?;
    }

    // 1. The package: wsusutil export into the media, or the one given copied there.
    let package_path = match &args.package {
        Some(given) if args.dry_run => given.clone(),
        Some(given) => copy_package(given, &media)?,
        None => {
            let program = program(args.wsusutil.as_deref());
            let package_path = media.file(Media::PACKAGE);
            let log_path = media.file(Media::EXPORT_LOG);
            // wsusutil can neither replace a read-only package nor add to a read-only log,
            // and media copied back from a DVD is read-only.
            for path in [&package_path, &log_path] {
                make_replaceable(path)
                    .with_context(|| format!("{}: cannot make writable", path.display()))?;
            }
            log.line(&format!("running {} export", program.display()))?;
            let spinner = spinner(args.output.quiet, "wsusutil export".to_owned());
            let result = wsusutil::export(&program, &package_path, &log_path);
            spinner.finish_and_clear();
            if let Err(error) = result {
                log.line(&format!("wsusutil failed: {error}"))?;
                report_wsusutil(&error);
                return Ok(Exit::Wsusutil);
            }
            package_path
        }
    };
    // 2. Every content file hashed; corrupt content is refused, as is a package that
    // references files the content lacks (unless --allow-gaps).
    let options = CreateOptions {
        content: args.content.clone(),
        package: Some(package_path.clone()),
        sequence,
        expires_in_days: args.expires,
        mode,
        host: host_name(),
        now: SystemTime::now(),
        jobs: args.jobs,
    };
    let Some(created) = build_or_refuse(&options, args.output.quiet, "nothing was signed")? else {
        stderr_line!(
            "hint: on the connected server, `wsusutil reset` makes WSUS download damaged files again"
        );
        log.line("refused: the content holds files a manifest cannot vouch for")?;
        return Ok(Exit::Problems);
    };
    // Read (so checked by its magic bytes) before any content was hashed.
    let package = created.package.expect("a package was given");
    log.line(&format!(
        "package {}: {} updates",
        package_path.display(),
        package.updates.len()
    ))?;
    let mut manifest = created.manifest;
    let listed = manifest.entries.iter().map(|entry| entry.path.as_str());
    let gaps = check::unlisted_references(&package, listed);
    if !gaps.is_empty() {
        let at_risk = check::updates_needing(&package, &gaps);
        write_updates_at_risk(&mut io::stderr().lock(), &at_risk)?;
        let message = format!(
            "{} lacks {} {} the package references ({} {})",
            args.content.display(),
            gaps.len(),
            plural(gaps.len(), "file"),
            at_risk.len(),
            plural(at_risk.len(), "update"),
        );
        if !args.allow_gaps {
            stderr_line!("wsus-airgap: refused: {message}; nothing was signed");
            stderr_line!(
                "hint: let the connected server finish downloading, or export anyway with --allow-gaps"
            );
            log.line(&format!("refused: {message}"))?;
            return Ok(Exit::Problems);
        }
        stderr_line!("warning: {message}; exported with --allow-gaps, listed as gaps");
        log.line(&format!("gaps allowed: {message}"))?;
        manifest.gaps = gaps
            .iter()
            .map(|path| RelPath::new(path))
            .collect::<Result<_, _>>()
            .context("a package reference is not a safe content path")?;
    }
    let held = receipt
        .as_ref()
        .map_or(0, |receipt| receipt.mark_held(&mut manifest.entries));

    // 3. The content files the other side lacks, staged on the media. The media's content
    // folder is the tool's own: it is mirrored, so that nothing stale stays on it.
    let carried: Vec<_> = manifest
        .entries
        .iter()
        .filter(|entry| entry.carried)
        .cloned()
        .collect();
    let plan_options = PlanOptions {
        mode: TransferMode::Mirror,
        full: false,
        quarantine: None,
        jobs: args.jobs,
    };
    let apply_options = ApplyOptions::default();
    let (plan, applied) = plan_and_apply(
        &args.content,
        &media.content(),
        &Listing::Manifest(carried),
        &plan_options,
        (!args.dry_run).then_some(&apply_options),
        args.output.quiet,
    )?;
    let totals = plan.totals;
    let staged = format!(
        "{}; {} held by the other side",
        totals_text(&totals),
        HumanCount(held)
    );
    let Some(mut applied) = applied else {
        let mut out = super::stdout::lock();
        writeln!(out, "staging (dry run): {staged}")?;
        writeln!(
            out,
            "manifest (dry run): sequence {sequence}, {} files",
            manifest.totals.files
        )?;
        log.line(&format!("dry run: {staged}"))?;
        return Ok(Exit::Success);
    };
    if let Some(error) = applied.stopped.take() {
        log.line(&format!("staging stopped: {error}"))?;
        return Err(error.into());
    }
    if !applied.is_complete() {
        log.line("staging incomplete")?;
        anyhow::bail!("staging the content on the media did not complete; nothing was signed");
    }
    log.line(&format!("staged: {staged}"))?;

    // 4. The note for the carrier, then the manifest and, last, its signature.
    let readme = readme_text(
        sequence,
        &key_id,
        &manifest.source.host,
        &manifest.expires.to_string(),
        manifest.totals.files,
    );
    wsus_airgap::atomic_file::write(
        &media.file(Media::README),
        readme.as_bytes(),
        wsus_airgap::atomic_file::Access::Shared,
        wsus_airgap::atomic_file::Existing::Replace,
    )
    .with_context(|| format!("{}: cannot write", media.file(Media::README).display()))?;
    let written = create::sign_and_write(&manifest, &secret, &media.root)?;
    if sequence > last {
        sequence::record(&sequence_file, sequence)?;
    }
    log.line(&format!(
        "finished: sequence {sequence} signed, {} files listed, {} carried",
        manifest.totals.files,
        manifest.entries.len() as u64 - held
    ))?;

    let mut stdout = super::stdout::lock();
    if args.output.json {
        #[derive(Serialize)]
        struct Report<'a> {
            result: &'static str,
            media: String,
            sequence: u64,
            key_id: &'a str,
            package: String,
            files_listed: u64,
            files_carried: u64,
            gaps: &'a [RelPath],
            staged: wsus_airgap::mirror::PlanTotals,
            manifest: PathBuf,
        }
        let report = Report {
            result: "exported",
            media: media.root.display().to_string(),
            sequence,
            key_id: &key_id,
            package: package_path.display().to_string(),
            files_listed: manifest.totals.files,
            files_carried: manifest.entries.len() as u64 - held,
            gaps: &manifest.gaps,
            staged: totals,
            manifest: written.manifest,
        };
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        writeln!(
            stdout,
            "package: {}",
            printable(&package_path.display().to_string())
        )?;
        writeln!(stdout, "staged: {staged}")?;
        writeln!(
            stdout,
            "manifest: {} ({} files listed, {} on the media)",
            printable(&written.manifest.display().to_string()),
            HumanCount(manifest.totals.files),
            HumanCount(manifest.entries.len() as u64 - held),
        )?;
        writeln!(stdout, "signed: sequence {sequence}, key {key_id}")?;
        writeln!(stdout, "trusted comment: {}", trusted_comment(&manifest))?;
        writeln!(stdout, "result: exported")?;
    }
    stdout.flush()?;
    Ok(Exit::Success)
}

/// Copies the given package into the media root (unless it is already there), atomically.
fn copy_package(given: &std::path::Path, media: &Media) -> Result<PathBuf> {
    let name = given
        .file_name()
        .with_context(|| format!("{}: not a file name", given.display()))?;
    let target = media.root.join(name);
    wsus_airgap::atomic_file::copy(given, &target)?;
    Ok(target)
}

fn remove_if_present(path: &std::path::Path) -> Result<()> {
    match make_replaceable(path).and_then(|()| fs::remove_file(path)) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(error).with_context(|| format!("{}: cannot remove", path.display()))
        }
        _ => Ok(()),
    }
}
