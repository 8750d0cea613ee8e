//! `wsus-airgap manifest create`: hash a content folder and write its signed manifest.

use std::io::Write;
use std::time::SystemTime;

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use wsus_airgap::manifest::create::{self, CreateError, CreateOptions, host_name};
use wsus_airgap::manifest::keys::SecretKey;
use wsus_airgap::manifest::trusted_comment;
use wsus_airgap::transfer::{Refusal, Step, sequence};

use super::progress_bar::Bar;
use super::transfer_report::{Subject, report_refusal};
use super::{Exit, plural};
use crate::cli::ManifestCreateArgs;
use wsus_airgap::printable::printable;

pub fn run(args: &ManifestCreateArgs) -> Result<Exit> {
    // The key is read first: a wrong key file should not cost an hour of hashing.
    let secret = SecretKey::read(&args.key)?;
    // The same sequence record as export's, under the same lock.
    let work = "manifest create signing with this key";
    let claim = sequence::Claim::take(&args.key, args.sequence, Some(work))?;
    if claim.is_not_newer() {
        let step = Step::SequenceNotNewer {
            sequence: claim.sequence,
            last: claim.last,
        };
        stderr_line!("warning: {step}");
    }
    let options = CreateOptions {
        content: args.content.clone(),
        package: args.package.clone(),
        sequence: claim.sequence,
        expires_in_days: args.expires,
        mode: args.mode.into(),
        host: host_name(),
        now: SystemTime::now(),
        jobs: args.jobs,
    };
    let bar = Bar::new(args.quiet);
    let result = create::build(&options, &bar);
    bar.finish();
    let created = match result {
        Ok(created) => created,
        Err(CreateError::Refused { content, problems }) => {
            let refusal = Refusal::Content { content, problems };
            let subject = Subject::Content(&args.content);
            report_refusal(subject, &refusal, Some("nothing was written"), false)?;
            return Ok(Exit::Problems);
        }
        Err(error) => return Err(error.into()),
    };
    for warning in &created.warnings {
        stderr_line!("warning: {}", printable(&warning.to_string()));
    }
    let manifest = &created.manifest;
    let written = create::sign_and_write(manifest, &secret, &args.out)?;
    claim.record()?;
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
