//! `wsus-airgap keygen`: make the key pair that signs manifests.

use anyhow::Result;
use wsus_airgap::manifest::keys;

use super::Exit;
use crate::cli::KeygenArgs;

pub fn run(args: &KeygenArgs) -> Result<Exit> {
    let public = keys::generate(&args.secret, &args.public, args.force)?;
    println!(
        "secret key: {} (keep it on the connected side, readable by you only)",
        args.secret.display()
    );
    println!(
        "public key: {} (copy it to the disconnected side)",
        args.public.display()
    );
    println!("key id: {}", public.id);
    Ok(Exit::Success)
}
