//! `wsus-airgap keygen`: make the key pair that signs manifests.

use std::io::Write;

use anyhow::Result;
use wsus_airgap::manifest::keys;

use super::Exit;
use crate::cli::KeygenArgs;

pub fn run(args: &KeygenArgs) -> Result<Exit> {
    let public = keys::generate(&args.secret, &args.public, args.force)?;
    let mut out = super::stdout::lock();
    writeln!(
        out,
        "secret key: {} (keep it on the connected side, readable by you only)",
        args.secret.display()
    )?;
    writeln!(
        out,
        "public key: {} (copy it to the disconnected side)",
        args.public.display()
    )?;
    writeln!(out, "key id: {}", public.id)?;
    Ok(Exit::Success)
}
