//! `wsus-airgap manifest show`: what signed media holds, read from its manifest once the
//! signature is proven, without re-hashing anything.

use std::io::Write;
use std::time::SystemTime;

use anyhow::Result;
use wsus_airgap::manifest::keys::PublicKey;
use wsus_airgap::manifest::report::Listing;
use wsus_airgap::manifest::verify::{self, VerifyOptions};
use wsus_airgap::transfer::Refusal;

use super::Exit;
use super::transfer_report::{Subject, report_refusal};
use crate::cli::ManifestShowArgs;
use wsus_airgap::printable::Printable;

pub fn run(args: &ManifestShowArgs) -> Result<Exit> {
    let trusted = PublicKey::read(&args.trust)?;
    // Shown as it is: an expired manifest is still listed, and said to be expired.
    let options = VerifyOptions {
        now: SystemTime::now(),
        allow_expired: true,
        allow_rollback: true,
        allow_already_accepted: true,
        state: None,
    };
    let verified = match verify::verify(&args.folder, &trusted, &options) {
        Ok(verified) => verified,
        Err(error) if error.is_refusal() => {
            let refusal = Refusal::Manifest(error);
            report_refusal(Subject::Folder(&args.folder), &refusal, None, false)?;
            return Ok(Exit::Problems);
        }
        Err(error) => return Err(error.into()),
    };
    let mut out = Printable(super::stdout::report());
    write!(out, "{}", Listing(&verified))?;
    out.flush()?;
    Ok(Exit::Success)
}
