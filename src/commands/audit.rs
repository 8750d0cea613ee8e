//! `wsus-airgap audit`: the text and JSON faces of `content::audit`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use serde::Serialize;
use wsus_airgap::content::{Audit, AuditOptions, Finding, Severity, Totals};

use super::printable::{Printable, printable};
use super::progress_bar::Bar;
use super::{Exit, plural};
use crate::cli::AuditArgs;

pub fn run(args: &AuditArgs) -> Result<Exit> {
    let options = AuditOptions { jobs: args.jobs };
    let bar = Bar::new(args.output.quiet);
    let result = wsus_airgap::content::audit(&args.content, &options, &bar);
    bar.finish();
    let audit = result?;
    let mut stdout = super::stdout::lock();
    if args.output.json {
        write_json(&audit, &mut stdout)?;
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
    writeln!(out, "{}", timing_line(totals))?;
    writeln!(out, "{}", verdict_line(audit))
}

fn timing_line(totals: &Totals) -> String {
    format!(
        "hashed in {:.2} s ({}/s)",
        totals.seconds,
        HumanBytes(totals.bytes_per_second as u64)
    )
}

/// `result: clean` or `result: 3 problems (1 corrupt, 2 misplaced)`, plus warnings if any.
fn verdict_line(audit: &Audit) -> String {
    let tally = |severity: Severity| {
        let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for finding in audit
            .findings
            .iter()
            .filter(|f| f.kind.severity() == severity)
        {
            *by_kind.entry(finding.kind.name()).or_default() += 1;
        }
        let total: usize = by_kind.values().sum();
        let parts: Vec<String> = by_kind
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        (total, parts.join(", "))
    };
    let (problems, problem_kinds) = tally(Severity::Error);
    let (warnings, warning_kinds) = tally(Severity::Warning);
    let mut line = if problems == 0 {
        "result: clean".to_owned()
    } else {
        format!(
            "result: {problems} {} ({problem_kinds})",
            plural(problems, "problem")
        )
    };
    if warnings > 0 {
        line += &format!(
            "; {warnings} {} ({warning_kinds})",
            plural(warnings, "warning")
        );
    }
    line
}

/// The JSON document: stable field order, findings sorted by path.
pub fn write_json(audit: &Audit, out: &mut impl Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Document<'a> {
        root: String,
        result: &'static str,
        errors: usize,
        warnings: usize,
        findings: &'a [Finding],
        totals: &'a Totals,
    }
    let document = Document {
        root: audit.root.display().to_string(),
        result: if audit.is_clean() {
            "clean"
        } else {
            "problems"
        },
        errors: audit.count(Severity::Error),
        warnings: audit.count(Severity::Warning),
        findings: &audit.findings,
        totals: &audit.totals,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
