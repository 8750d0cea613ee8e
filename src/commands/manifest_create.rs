//! `wsus-airgap manifest create`: hash a content folder and write its signed manifest.

use std::time::SystemTime;

use std::io::Write;

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use wsus_airgap::manifest::create::{self, CreateError, CreateOptions, Created, Refusal};
use wsus_airgap::manifest::keys::SecretKey;
use wsus_airgap::manifest::{TransferMode, trusted_comment};

use super::audit::finding_line;
use super::printable::printable;
use super::progress_bar::Bar;
use super::{Exit, plural};
use crate::cli::{ManifestCreateArgs, Mode};

pub fn run(args: &ManifestCreateArgs) -> Result<Exit> {
    // The key is read first: a wrong key file should not cost an hour of hashing.
    let secret = SecretKey::read(&args.key)?;
    let options = CreateOptions {
        content: args.content.clone(),
        package: args.package.clone(),
        sequence: args.sequence,
        expires_in_days: args.expires,
        mode: match args.mode {
            Mode::Incremental => TransferMode::Incremental,
            Mode::Mirror => TransferMode::Mirror,
        },
        host: host_name(),
        now: SystemTime::now(),
        jobs: args.jobs,
    };
    let Some(created) = build_or_refuse(&options, args.quiet, "nothing was written")? else {
        return Ok(Exit::Problems);
    };
    let manifest = &created.manifest;
    let written = create::sign_and_write(manifest, &secret, &args.out)?;
    let mut out = super::stdout::lock();
    writeln!(
        out,
        "manifest: {} ({} {}, {}; {})",
        written.manifest.display(),
        HumanCount(manifest.totals.files),
        plural(manifest.totals.files as usize, "file"),
        HumanBytes(manifest.totals.bytes),
        match &manifest.package {
            Some(package) => format!("package {}", package.name),
            None => "no package".to_owned(),
        },
    )?;
    writeln!(
        out,
        "signature: {} (key {})",
        written.signature.display(),
        secret.public().id
    )?;
    writeln!(out, "trusted comment: {}", trusted_comment(manifest))?;
    Ok(Exit::Success)
}

/// Builds the manifest with a progress bar, printing its warnings. Refused content is listed,
/// one problem per line, then `refused: ...; {consequence}`, and gives `None`.
pub(super) fn build_or_refuse(
    options: &CreateOptions,
    quiet: bool,
    consequence: &str,
) -> Result<Option<Created>> {
    let bar = Bar::new(quiet);
    let result = create::build(options, &bar);
    bar.finish();
    let created = match result {
        Ok(created) => created,
        Err(CreateError::Refused { content, problems }) => {
            for problem in &problems {
                stderr_line!("{}", refusal_line(problem));
            }
            stderr_line!(
                "wsus-airgap: refused: {} holds {} {} a manifest cannot vouch for; {consequence}",
                content.display(),
                problems.len(),
                plural(problems.len(), "file"),
            );
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    for warning in &created.warnings {
        stderr_line!("warning: {}", finding_line(warning));
    }
    Ok(Some(created))
}

fn refusal_line(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Finding(finding) => finding_line(finding),
        Refusal::UnsafeName { path, problem } => format!(
            "unsafe-name: {}: {}",
            printable(path),
            printable(&problem.to_string())
        ),
        Refusal::CaseCollision { path, other } => {
            format!("case-collision: {path}: collides on Windows with {other}")
        }
    }
}

/// This machine's name, for the manifest's source.
pub(super) fn host_name() -> String {
    let from_system = if cfg!(windows) {
        std::env::var("COMPUTERNAME").ok()
    } else {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
    };
    from_system
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && !name.chars().any(char::is_control))
        .unwrap_or_else(|| "unknown".to_owned())
}
