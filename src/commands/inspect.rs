//! `wsus-airgap inspect`: what an export package holds, before anyone imports it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use serde::Serialize;
use wsus_airgap::package::{self, Language, Package};

use super::Exit;
use super::printable::Printable;
use crate::cli::InspectArgs;

/// The facts `inspect` reports, in the order it reports them.
#[derive(Serialize)]
struct Summary<'a> {
    package: String,
    /// Always `read`: the package was read whole.
    result: &'static str,
    container: &'static str,
    server_id: &'a str,
    creation_time: &'a str,
    format_version: &'a str,
    protocol_version: &'a str,
    languages: &'a [Language],
    enabled_languages: Vec<&'a str>,
    updates: u64,
    updates_by_type: BTreeMap<&'a str, u64>,
    file_references: u64,
    distinct_files: u64,
    distinct_file_bytes: u64,
}

fn summarize<'a>(args: &InspectArgs, package: &'a Package) -> Summary<'a> {
    let mut updates_by_type: BTreeMap<&str, u64> = BTreeMap::new();
    for update in &package.updates {
        let kind = if update.kind.is_empty() {
            "unknown"
        } else {
            &update.kind
        };
        *updates_by_type.entry(kind).or_default() += 1;
    }
    let references = package.updates.iter().flat_map(|u| &u.files);
    let mut distinct = BTreeSet::new();
    let mut distinct_file_bytes = 0;
    for file in references.clone() {
        if distinct.insert(file.sha1) {
            distinct_file_bytes += file.size.unwrap_or(0);
        }
    }
    Summary {
        package: args.package.display().to_string(),
        result: "read",
        container: package.container.describe(),
        server_id: &package.export.server_id,
        creation_time: &package.export.creation_time,
        format_version: &package.export.format_version,
        protocol_version: &package.export.protocol_version,
        languages: &package.export.languages,
        enabled_languages: package
            .export
            .languages
            .iter()
            .filter(|l| l.enabled)
            .map(|l| l.short_name.as_str())
            .collect(),
        updates: package.updates.len() as u64,
        updates_by_type,
        file_references: references.count() as u64,
        distinct_files: distinct.len() as u64,
        distinct_file_bytes,
    }
}

pub fn run(args: &InspectArgs) -> Result<Exit> {
    let package = package::open(&args.package)?;
    let summary = summarize(args, &package);
    let mut stdout = super::stdout::lock();
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
