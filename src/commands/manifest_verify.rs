//! `wsus-airgap manifest verify`: the gate. Signature, expiry and sequence first; then every
//! listed file re-hashed, and every unlisted file named.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use serde::Serialize;
use wsus_airgap::manifest::contents::{self, Changed, ContentsCheck, Extra, Found, PackageState};
use wsus_airgap::manifest::keys::PublicKey;
use wsus_airgap::manifest::trust::TrustState;
use wsus_airgap::manifest::verify::{self, Verified, VerifyError, VerifyOptions};
use wsus_airgap::manifest::{Manifest, ManifestTotals, Source, Timestamp, TransferMode};

use super::printable::{Printable, printable};
use super::progress_bar::Bar;
use super::{Exit, RefusedAt, display, plural, report_refused};
use crate::cli::ManifestVerifyArgs;

pub fn run(args: &ManifestVerifyArgs) -> Result<Exit> {
    let trusted = PublicKey::read(&args.trust)?;
    let state = args.state.as_deref().map(TrustState::load).transpose()?;
    let options = VerifyOptions {
        now: SystemTime::now(),
        allow_expired: args.allow_expired,
        allow_rollback: args.allow_rollback,
        state,
    };
    let verified = match verify::verify(&args.folder, &trusted, &options) {
        Ok(verified) => verified,
        Err(error) if error.is_refusal() => return refuse(args, &error),
        Err(error) => return Err(error.into()),
    };
    let content = args
        .content
        .clone()
        .unwrap_or_else(|| args.folder.join(wsus_airgap::content::FOLDER_NAME));
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
        write_json(args, &verified, &check, &mut stdout)?;
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
fn refuse(args: &ManifestVerifyArgs, error: &VerifyError) -> Result<Exit> {
    let exit = report_refused(
        RefusedAt::Folder(&args.folder),
        &error.to_string(),
        args.output.json,
    )?;
    if let Some(hint) = refusal_hint(error) {
        stderr_line!("hint: {hint}");
    }
    Ok(exit)
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
        writeln!(out, "package: {}", package_line(package))?;
    }
    write_problems(check, out)?;
    writeln!(out, "result: {}", verdict(check))
}

/// One line per file that is not as the manifest lists it.
pub(super) fn write_problems(check: &ContentsCheck, out: &mut impl Write) -> io::Result<()> {
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

pub(super) fn package_line(package: &PackageState) -> String {
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

/// `result: intact (...)` or `result: 3 problems (1 missing, 2 extra)`.
pub(super) fn verdict(check: &ContentsCheck) -> String {
    if check.is_intact() {
        return format!(
            "intact: {} {}, {}",
            HumanCount(check.intact_files),
            plural(check.intact_files as usize, "file"),
            HumanBytes(check.intact_bytes)
        );
    }
    let package_problem = usize::from(matches!(
        check.package,
        Some(PackageState::Missing { .. } | PackageState::Changed { .. })
    ));
    let counts = [
        (check.missing.len(), "missing"),
        (check.changed.len(), "changed"),
        (check.extra.len(), "extra"),
        (check.unlisted.len(), "unreadable"),
        (package_problem, "package"),
    ];
    let total: usize = counts.iter().map(|(count, _)| count).sum();
    let parts: Vec<String> = counts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, kind)| format!("{count} {kind}"))
        .collect();
    format!(
        "{total} {} ({})",
        plural(total, "problem"),
        parts.join(", ")
    )
}

fn write_json(
    args: &ManifestVerifyArgs,
    verified: &Verified,
    check: &ContentsCheck,
    out: &mut impl Write,
) -> io::Result<()> {
    #[derive(Serialize)]
    struct Allowed {
        expired: bool,
        rollback: bool,
    }
    #[derive(Serialize)]
    struct Sequence {
        value: u64,
        previous: Option<u64>,
        checked: bool,
    }
    #[derive(Serialize)]
    struct Described<'a> {
        sequence: u64,
        created: Timestamp,
        expires: Timestamp,
        mode: TransferMode,
        source: &'a Source,
        totals: ManifestTotals,
    }
    #[derive(Serialize)]
    struct Document<'a> {
        folder: String,
        result: &'static str,
        key_id: String,
        trusted_comment: &'a str,
        manifest: Described<'a>,
        allowed: Allowed,
        sequence: Sequence,
        package: &'a Option<PackageState>,
        missing: &'a [String],
        changed: &'a [Changed],
        extra: &'a [Extra],
        unreadable: Vec<Unreadable<'a>>,
        intact_files: u64,
        intact_bytes: u64,
    }
    #[derive(Serialize)]
    struct Unreadable<'a> {
        path: &'a str,
        error: &'a str,
    }
    let manifest: &Manifest = &verified.manifest;
    let document = Document {
        folder: display(&args.folder),
        result: if check.is_intact() {
            "intact"
        } else {
            "problems"
        },
        key_id: verified.key_id.to_string(),
        trusted_comment: &verified.trusted_comment,
        manifest: Described {
            sequence: manifest.sequence,
            created: manifest.created,
            expires: manifest.expires,
            mode: manifest.mode,
            source: &manifest.source,
            totals: manifest.totals,
        },
        allowed: Allowed {
            expired: verified.expired,
            rollback: verified.rollback,
        },
        sequence: Sequence {
            value: manifest.sequence,
            previous: verified.previous.map(|previous| previous.sequence),
            checked: args.state.is_some(),
        },
        package: &check.package,
        missing: &check.missing,
        changed: &check.changed,
        extra: &check.extra,
        unreadable: check
            .unlisted
            .iter()
            .map(|(path, error)| Unreadable { path, error })
            .collect(),
        intact_files: check.intact_files,
        intact_bytes: check.intact_bytes,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
