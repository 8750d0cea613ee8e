//! `wsus-airgap demo [DIR]`: the whole round trip on sample sites, needing no WSUS server.
//!
//! It generates a connected site (content and the package `wsusutil export` would write) and
//! a signing key, then runs the real commands: export to a media folder, verify the media
//! against the empty disconnected site, and import it there. The wsusutil the import runs is
//! a stand-in: this program, copied into the demo folder under the name `wsusutil`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::HumanBytes;
use wsus_airgap::manifest::keys;
use wsus_airgap::synth::{self, ExportSpec, SiteSpec};

use super::{Exit, export, import, verify};
use crate::cli::{DemoArgs, ExportArgs, ImportArgs, Mode, OutputArgs, VerifyArgs};

/// Small enough to run in seconds, varied enough to look like a real store.
fn sample() -> SiteSpec {
    SiteSpec {
        files: 200,
        min_size: 1024,
        max_size: 2 * 1024 * 1024,
        large_files: 2,
        large_size: 16 * 1024 * 1024,
        seed: 2024,
    }
}

pub fn run(args: &DemoArgs) -> Result<Exit> {
    let dir = demo_folder(args.dir.as_deref())?;
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    let connected = dir.join("connected");
    let content = connected.join(wsus_airgap::content::FOLDER_NAME);
    let package = connected.join("export.xml.gz");
    let media = dir.join("media");
    let disconnected = dir.join("disconnected");
    let disconnected_content = disconnected.join(wsus_airgap::content::FOLDER_NAME);
    let keys_folder = dir.join("keys");
    let (secret, public) = (keys_folder.join("site.key"), keys_folder.join("site.pub"));
    let state = disconnected.join("trust-state.json");
    let log = dir.join("wsus-airgap.log");
    let wsusutil = dir
        .join("tools")
        .join(format!("wsusutil{}", std::env::consts::EXE_SUFFIX));

    let mut stdout = super::stdout::lock();
    let site = synth::generate(&content, &sample())
        .with_context(|| format!("{}: cannot generate the sample site", content.display()))?;
    let export_spec = ExportSpec {
        software_updates: 40,
        ..ExportSpec::default()
    };
    let exported = synth::write_export(&package, &site.files, &export_spec)
        .with_context(|| format!("{}: cannot write the sample package", package.display()))?;
    let total: u64 = site.files.iter().map(|f| f.size).sum();
    writeln!(
        stdout,
        "demo: connected site: {} content files ({}) and a package of {} updates in {}",
        site.files.len(),
        HumanBytes(total),
        exported.updates.len(),
        connected.display()
    )?;
    fs::create_dir_all(&keys_folder)?;
    let key = keys::generate(&secret, &public, false)?;
    writeln!(
        stdout,
        "demo: signing key {} in {}",
        key.id,
        keys_folder.display()
    )?;
    fs::create_dir_all(&disconnected_content)?;
    install_stand_in(&wsusutil)?;
    writeln!(
        stdout,
        "demo: stand-in wsusutil at {} (this program under that name)",
        wsusutil.display()
    )?;
    let output = OutputArgs {
        json: false,
        quiet: args.quiet,
    };

    writeln!(stdout, "\ndemo: 1. export on the connected side")?;
    writeln!(
        stdout,
        "$ wsus-airgap export --content {} --package {} --media {} --key {} --log {}",
        content.display(),
        package.display(),
        media.display(),
        secret.display(),
        log.display()
    )?;
    stdout.flush()?;
    let step = export::run(&ExportArgs {
        content: content.clone(),
        media: media.clone(),
        key: secret.clone(),
        wsusutil: None,
        package: Some(package.clone()),
        mode: Mode::Incremental,
        since: None,
        expires: 30,
        sequence: None,
        allow_gaps: false,
        dry_run: false,
        log: Some(log.clone()),
        output,
        jobs: None,
    })?;
    check_step("export", step)?;

    writeln!(
        stdout,
        "\ndemo: 2. verify the media on the disconnected side"
    )?;
    writeln!(
        stdout,
        "$ wsus-airgap verify --media {} --trust {} --content {} --state {}",
        media.display(),
        public.display(),
        disconnected_content.display(),
        state.display()
    )?;
    stdout.flush()?;
    let step = verify::run(&VerifyArgs {
        media: media.clone(),
        trust: public.clone(),
        content: Some(disconnected_content.clone()),
        state: Some(state.clone()),
        output,
        jobs: None,
    })?;
    check_step("verify", step)?;

    writeln!(stdout, "\ndemo: 3. import on the disconnected side")?;
    writeln!(
        stdout,
        "$ wsus-airgap import --media {} --trust {} --content {} --state {} --wsusutil {} --log {}",
        media.display(),
        public.display(),
        disconnected_content.display(),
        state.display(),
        wsusutil.display(),
        log.display()
    )?;
    stdout.flush()?;
    let step = import::run(&ImportArgs {
        media: media.clone(),
        trust: public.clone(),
        content: disconnected_content.clone(),
        wsusutil: Some(wsusutil),
        reset: false,
        state: Some(state.clone()),
        dry_run: false,
        max_delete: None,
        quarantine: None,
        log: Some(log.clone()),
        output,
        jobs: None,
    })?;
    check_step("import", step)?;

    writeln!(stdout, "\ndemo: done. Files worth opening:")?;
    for (path, what) in [
        (
            media.join("README.txt"),
            "the note for whoever carries the media",
        ),
        (
            media.join("manifest.json"),
            "what the media carries, signed",
        ),
        (
            media.join("manifest.json.minisig"),
            "the signature (minisign's format)",
        ),
        (
            disconnected.join("wsus-airgap-receipt.json"),
            "what the disconnected side now holds, for the next export's --since",
        ),
        (state, "the last sequence imported per key"),
        (log, "the step log of both sides"),
    ] {
        writeln!(stdout, "  {}  {what}", path.display())?;
    }
    writeln!(
        stdout,
        "demo: next, change a byte of a file under {} and run the verify command again: it refuses",
        media.join(wsus_airgap::content::FOLDER_NAME).display()
    )?;
    Ok(Exit::Success)
}

fn check_step(name: &str, exit: Exit) -> Result<()> {
    if exit != Exit::Success {
        bail!("the demo's {name} step did not succeed");
    }
    Ok(())
}

/// Copies this program to `target`, where started as `wsusutil` it acts as the stand-in.
fn install_stand_in(target: &Path) -> Result<()> {
    let this = std::env::current_exe().context("cannot find this program to copy")?;
    if let Some(folder) = target.parent() {
        fs::create_dir_all(folder)?;
    }
    fs::copy(&this, target)
        .with_context(|| format!("{}: cannot copy {}", target.display(), this.display()))?;
    Ok(())
}

/// The folder to generate into: the one given, if it is new or empty, or a fresh temporary
/// folder that is kept so that the operator can look at it.
fn demo_folder(requested: Option<&Path>) -> Result<PathBuf> {
    let Some(dir) = requested else {
        let dir = tempfile::Builder::new()
            .prefix("wsus-airgap-demo-")
            .tempdir()
            .context("cannot create a temporary folder for the demo")?;
        return Ok(dir.keep());
    };
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{}: the folder is not empty; the demo only writes into a new or empty folder",
                    dir.display()
                );
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).with_context(|| format!("{}: cannot read", dir.display())),
    }
    Ok(dir.to_owned())
}
