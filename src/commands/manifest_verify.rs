//! `wsus-airgap manifest verify`: the gate. Signature, expiry and sequence first; then every
//! listed file re-hashed, and every unlisted file named.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use wsus_airgap::manifest::contents::{self, ContentsCheck};
use wsus_airgap::manifest::keys::PublicKey;
use wsus_airgap::manifest::report::VerifyReport;
use wsus_airgap::manifest::trust::TrustState;
use wsus_airgap::manifest::verify::{self, Verified, VerifyError, VerifyOptions};

use wsus_airgap::transfer::{Media, Refusal};

use super::progress_bar::Bar;
use super::render::write_problems;
use super::transfer_report::{Subject, report_refusal};
use super::{Exit, plural};
use crate::cli::ManifestVerifyArgs;
use wsus_airgap::printable::{Printable, printable};

pub fn run(args: &ManifestVerifyArgs) -> Result<Exit> {
    let trusted = PublicKey::read(&args.trust)?;
    let state = args.state.as_deref().map(TrustState::load).transpose()?;
    let options = VerifyOptions {
        now: SystemTime::now(),
        allow_expired: args.allow_expired,
        allow_rollback: args.allow_rollback,
        state,
        allow_already_accepted: false,
    };
    let verified = match verify::verify(&args.folder, &trusted, &options) {
        Ok(verified) => verified,
        Err(error) if error.is_refusal() => return refuse(args, error),
        Err(error) => return Err(error.into()),
    };
    let content = args
        .content
        .clone()
        .unwrap_or_else(|| Media::new(&args.folder).content());
    let package = match (&args.package, &verified.manifest.package) {
        (Some(path), _) => path.clone(),
        (None, Some(entry)) => entry.name.under(&args.folder),
        (None, None) => PathBuf::new(),
    };
    let bar = Bar::new(args.output.quiet);
    let result = contents::check(&verified.manifest, &content, &package, args.jobs, &bar);
    bar.finish();
    let check = result?;
    let mut stdout = super::stdout::lock();
    if args.output.json {
        let report = VerifyReport::new(&args.folder, &verified, &check, args.state.is_some());
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        write_text(args, &verified, &check, &mut Printable(&mut stdout))?;
    }
    stdout.flush()?;
    Ok(if check.is_intact() {
        Exit::Success
    } else {
        Exit::Problems
    })
}

/// The media was looked at and refused: say why, in the format asked for.
fn refuse(args: &ManifestVerifyArgs, error: VerifyError) -> Result<Exit> {
    let hint = refusal_hint(&error);
    let refusal = Refusal::Manifest(error);
    report_refusal(
        Subject::Folder(&args.folder),
        &refusal,
        None,
        args.output.json,
    )?;
    if let Some(hint) = hint {
        stderr_line!("hint: {hint}");
    }
    Ok(Exit::Problems)
}

fn refusal_hint(error: &VerifyError) -> Option<&'static str> {
    match error {
        VerifyError::Expired { .. } => Some(
            "make fresh media on the connected side, or give --allow-expired if the change \
             board accepts this media as it is",
        ),
        VerifyError::Replayed { .. } => Some(
            "this media is older than media already imported; give --allow-rollback only to \
             deliberately go back to it",
        ),
        VerifyError::TooLarge { .. } => Some("this is not a manifest written by wsus-airgap"),
        _ => None,
    }
}

fn write_text(
    args: &ManifestVerifyArgs,
    verified: &Verified,
    check: &ContentsCheck,
    out: &mut impl Write,
) -> io::Result<()> {
    let manifest = &verified.manifest;
    writeln!(out, "signature: good, key {}", verified.key_id)?;
    writeln!(out, "trusted comment: {}", verified.trusted_comment)?;
    writeln!(
        out,
        "manifest: sequence {}, created {}, expires {}, mode {}, {} {}, {}",
        manifest.sequence,
        manifest.created,
        manifest.expires,
        manifest.mode,
        HumanCount(manifest.totals.files),
        plural(manifest.totals.files as usize, "file"),
        HumanBytes(manifest.totals.bytes),
    )?;
    if verified.expired {
        writeln!(
            out,
            "warning: expired at {}; accepted because of --allow-expired",
            manifest.expires
        )?;
    }
    writeln!(out, "sequence: {}", sequence_line(args, verified))?;
    if let Some(package) = &check.package {
        writeln!(out, "package: {}", printable(&package.to_string()))?;
    }
    write_problems(check, out)?;
    writeln!(out, "result: {check}")
}

fn sequence_line(args: &ManifestVerifyArgs, verified: &Verified) -> String {
    match (&args.state, verified.previous) {
        (None, _) => "not checked (no --state given)".to_owned(),
        (Some(_), None) => "first accepted from this key".to_owned(),
        (Some(_), Some(previous)) if verified.rollback => format!(
            "not newer than {} accepted at {}; accepted because of --allow-rollback",
            previous.sequence, previous.accepted
        ),
        (Some(_), Some(previous)) => format!(
            "newer than {} accepted at {}",
            previous.sequence, previous.accepted
        ),
    }
}
