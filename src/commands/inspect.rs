//! `wsus-airgap inspect`: what an export package holds, before anyone imports it.

use std::io::{self, Write};

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use wsus_airgap::package::{self, Summary};

use super::Exit;
use crate::cli::InspectArgs;
use wsus_airgap::printable::Printable;

pub fn run(args: &InspectArgs) -> Result<Exit> {
    let package = package::open(&args.package)?;
    let summary = Summary::of(&args.package, &package);
    let mut stdout = super::stdout::report();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &summary)?;
        writeln!(stdout)?;
    } else {
        write_text(&summary, &mut Printable(&mut stdout))?;
    }
    stdout.flush()?;
    Ok(Exit::Success)
}

fn write_text(summary: &Summary, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "package: {} ({})", summary.package, summary.container)?;
    writeln!(out, "server id: {}", summary.server_id)?;
    writeln!(out, "created: {}", summary.creation_time)?;
    writeln!(
        out,
        "format version: {}, protocol version: {}",
        summary.format_version, summary.protocol_version
    )?;
    writeln!(
        out,
        "languages: {} known, {} enabled: {}",
        summary.languages.len(),
        summary.enabled_languages.len(),
        if summary.enabled_languages.is_empty() {
            "none".to_owned()
        } else {
            summary.enabled_languages.join(", ")
        }
    )?;
    let by_type: Vec<String> = summary
        .updates_by_type
        .iter()
        .map(|(kind, count)| format!("{} {kind}", HumanCount(*count)))
        .collect();
    writeln!(
        out,
        "updates: {} ({})",
        HumanCount(summary.updates),
        by_type.join(", ")
    )?;
    writeln!(
        out,
        "file references: {}, {} distinct files, {}",
        HumanCount(summary.file_references),
        HumanCount(summary.distinct_files),
        HumanBytes(summary.distinct_file_bytes)
    )
}
