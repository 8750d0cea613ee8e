//! `wsus-airgap demo [DIR]`: the whole round trip on sample sites, needing no WSUS server.
//!
//! It generates a connected site (content and the package `wsusutil export` would write) and
//! a signing key, then runs the real workflows, printing each as the command that does it:
//! export to a media folder, verify the media against the empty disconnected site, and import
//! it there. The wsusutil the import runs is a stand-in: this program, copied into the demo
//! folder under the name `wsusutil`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use indicatif::HumanBytes;
use wsus_airgap::synth::demo::Demo;
use wsus_airgap::transfer::{self, Outcome};
use wsus_airgap::wsus;

use super::Exit;
use super::console::Console;
use super::step_log::StepLog;
use super::transfer_report::{
    Subject, report_refusal, write_exported, write_imported, write_ready,
};
use crate::cli::DemoArgs;

pub fn run(args: &DemoArgs) -> Result<Exit> {
    let demo = Demo::new(args.dir.as_deref())?;
    let this = std::env::current_exe().context("cannot find this program to copy")?;
    let prepared = demo.prepare(&this)?;
    let mut stdout = super::stdout::lock();
    writeln!(
        stdout,
        "demo: connected site: {} content files ({}) and a package of {} updates in {}",
        prepared.files,
        HumanBytes(prepared.bytes),
        prepared.updates,
        demo.connected.display()
    )?;
    writeln!(
        stdout,
        "demo: signing key {} in {}",
        prepared.key_id,
        demo.keys.display()
    )?;
    writeln!(stdout, "demo: {}", demo.stand_ins(&prepared))?;

    writeln!(stdout, "\ndemo: 1. export on the connected side")?;
    writeln!(
        stdout,
        "$ wsus-airgap export --content {} --package {} --media {} --key {} --allow-gaps \
         --powershell {} --log {}",
        demo.content.display(),
        demo.package.display(),
        demo.media.display(),
        demo.secret.display(),
        demo.connected_powershell.display(),
        demo.log.display()
    )?;
    stdout.flush()?;
    let console = Console::new(args.quiet, StepLog::open(Some(&demo.log), "export")?);
    let outcome = transfer::export(&demo.export_options(), &console);
    let exported = done(
        "export",
        &demo.media,
        console.logged(outcome, "nothing was signed")?,
    )?;
    write_exported(&exported, false)?;

    writeln!(
        stdout,
        "\ndemo: 2. verify the media on the disconnected side"
    )?;
    writeln!(
        stdout,
        "$ wsus-airgap verify --media {} --trust {} --content {} --state {}",
        demo.media.display(),
        demo.public.display(),
        demo.disconnected_content.display(),
        demo.state.display()
    )?;
    stdout.flush()?;
    let outcome = transfer::verify(&demo.verify_options(), &Console::bars(args.quiet))?;
    write_ready(&done("verify", &demo.media, outcome)?, None, false)?;

    writeln!(stdout, "\ndemo: 3. import on the disconnected side")?;
    writeln!(
        stdout,
        "$ wsus-airgap import --media {} --trust {} --content {} --state {} --wsusutil {} \
         --powershell {} --approvals apply --wait --log {}",
        demo.media.display(),
        demo.public.display(),
        demo.disconnected_content.display(),
        demo.state.display(),
        demo.wsusutil.display(),
        demo.disconnected_powershell.display(),
        demo.log.display()
    )?;
    stdout.flush()?;
    let console = Console::new(args.quiet, StepLog::open(Some(&demo.log), "import")?);
    let outcome = transfer::import(&demo.import_options(), &console);
    let outcome = console.logged(outcome, "the trust state is unchanged")?;
    let imported = done("import", &demo.media, outcome)?;
    let stage = wsus::stage::after_import(&imported, &demo.stage_options(), &console);
    write_imported(&imported, &stage, false)?;
    if let Some(error) = &stage.failure {
        bail!("the demo's WSUS step failed: {error}");
    }

    write_files_worth_opening(&mut stdout, &demo)?;
    Ok(Exit::Success)
}

/// Where to look after the demo, and what to try next.
fn write_files_worth_opening(out: &mut impl Write, demo: &Demo) -> std::io::Result<()> {
    writeln!(out, "\ndemo: done. Files worth opening:")?;
    for (path, what) in [
        (
            demo.media.join("README.txt"),
            "the note for whoever carries the media",
        ),
        (
            demo.media.join("manifest.json"),
            "what the media carries, signed",
        ),
        (
            demo.media.join("manifest.json.minisig"),
            "the signature (minisign's format)",
        ),
        (
            demo.disconnected.join("wsus-airgap-receipt.json"),
            "what the disconnected side now holds, for the next export's --since",
        ),
        (demo.state.clone(), "the last sequence imported per key"),
        (demo.log.clone(), "the step log of both sides"),
    ] {
        writeln!(out, "  {}  {what}", path.display())?;
    }
    writeln!(
        out,
        "demo: next, change a byte of a file under {} and check the media as a server that \
         never imported it would; it refuses, naming the file:",
        demo.media.join(wsus_airgap::content::FOLDER_NAME).display()
    )?;
    writeln!(
        out,
        "$ wsus-airgap verify --media {} --trust {} --state {} --powershell {}",
        demo.media.display(),
        demo.public.display(),
        demo.dir.join("another-server-state.json").display(),
        demo.disconnected_powershell.display()
    )?;
    Ok(())
}

/// What a step did; a refusal is reported as the command would report it, and ends the demo.
fn done<T>(name: &str, media: &Path, outcome: Outcome<T>) -> Result<T> {
    match outcome {
        Outcome::Done(value) => Ok(value),
        Outcome::Refused(refusal) => {
            report_refusal(Subject::Media(media), &refusal, None, false)?;
            bail!("the demo's {name} step did not succeed");
        }
    }
}
