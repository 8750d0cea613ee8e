//! `wsus-airgap demo`: a first run that needs no WSUS server. It generates a sample
//! WsusContent folder, damages two files the way real stores get damaged, audits it, and
//! checks that the audit found exactly that damage.

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::HumanBytes;
use wsus_airgap::content::{AuditOptions, FindingKind};
use wsus_airgap::synth::{self, Damage, Damaged, SiteSpec};

use super::Exit;
use super::audit::write_text;
use super::progress_bar::Bar;
use crate::cli::DemoArgs;

/// Small enough to generate in a second, varied enough to look like a real store.
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
    let content = dir.join("WsusContent");
    let site = synth::generate(&content, &sample())
        .with_context(|| format!("{}: cannot generate the sample site", content.display()))?;
    let damaged = site
        .damage(&Damage {
            corrupt: 1,
            misplace: 1,
            remove: 0,
        })
        .with_context(|| format!("{}: cannot damage the sample site", content.display()))?;

    let mut stdout = io::stdout().lock();
    let total: u64 = site.files.iter().map(|f| f.size).sum();
    writeln!(
        stdout,
        "demo: generated {} content files ({}) in {}",
        site.files.len(),
        HumanBytes(total),
        content.display()
    )?;
    let mut planted = BTreeSet::new();
    for damage in &damaged {
        match damage {
            Damaged::Corrupted { path } => {
                writeln!(stdout, "demo: flipped one byte of {path}")?;
                planted.insert((path.clone(), "corrupt"));
            }
            Damaged::Misplaced { from, to } => {
                writeln!(stdout, "demo: moved {from} to {to}")?;
                planted.insert((to.clone(), "misplaced"));
            }
            Damaged::Removed { path } => bail!("the demo does not remove files, yet {path} was"),
        }
    }
    writeln!(stdout, "demo: wsus-airgap audit {}", content.display())?;

    let bar = Bar::new(args.quiet);
    let result = wsus_airgap::content::audit(&content, &AuditOptions::default(), &bar);
    bar.finish();
    let audit = result?;
    write_text(&audit, &mut stdout)?;

    let found: BTreeSet<(String, &str)> = audit
        .findings
        .iter()
        .filter(|f| !matches!(f.kind, FindingKind::Other { .. }))
        .map(|f| (f.path.clone(), f.kind.name()))
        .collect();
    if found == planted {
        writeln!(
            stdout,
            "demo: the audit found exactly the damage planted; try it on your own WsusContent next"
        )?;
        Ok(Exit::Success)
    } else {
        bail!("the audit found {found:?}, but the damage planted was {planted:?}")
    }
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
    match std::fs::read_dir(dir) {
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
