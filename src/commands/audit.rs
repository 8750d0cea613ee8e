//! `wsus-airgap audit`: the text, JSON and HTML faces of `content::audit`.

use std::io::{self, Write};

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use wsus_airgap::content::report::AuditReport;
use wsus_airgap::content::{Audit, AuditOptions};
use wsus_airgap::report;

use super::Exit;
use super::progress_bar::Bar;
use crate::cli::AuditArgs;
use wsus_airgap::printable::{Printable, printable};

pub fn run(args: &AuditArgs) -> Result<Exit> {
    let options = AuditOptions { jobs: args.jobs };
    let bar = Bar::new(args.output.quiet);
    let result = wsus_airgap::content::audit(&args.content, &options, &bar);
    bar.finish();
    let audit = result?;
    let document = AuditReport::new(&audit);
    report::write_html(args.html.as_deref(), |made| {
        report::html::audit(&document, made)
    })?;
    let mut stdout = super::stdout::report();
    if args.output.json {
        serde_json::to_writer_pretty(&mut stdout, &document)?;
        writeln!(stdout)?;
    } else {
        write_text(&audit, &mut Printable(&mut stdout))?;
    }
    stdout.flush()?;
    Ok(exit_for(&audit))
}

fn exit_for(audit: &Audit) -> Exit {
    if audit.is_clean() {
        Exit::Success
    } else {
        Exit::Problems
    }
}

/// One line per finding, `kind: path: detail`, then totals and the verdict.
pub fn write_text(audit: &Audit, out: &mut impl Write) -> io::Result<()> {
    for finding in &audit.findings {
        writeln!(out, "{}", printable(&finding.to_string()))?;
    }
    let totals = &audit.totals;
    writeln!(
        out,
        "audited {}: {} files, {} content files, {}",
        audit.root.display(),
        HumanCount(totals.files),
        HumanCount(totals.content_files),
        HumanBytes(totals.bytes),
    )?;
    writeln!(
        out,
        "hashed in {:.2} s ({}/s)",
        totals.seconds,
        HumanBytes(totals.bytes_per_second as u64)
    )?;
    writeln!(out, "result: {audit}")
}
