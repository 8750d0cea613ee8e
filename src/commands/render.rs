//! The lines several reports share, written in one place: media problems, updates at risk,
//! and wsusutil's failure.

use std::io::{self, Write};

use wsus_airgap::check::UpdateGap;
use wsus_airgap::manifest::contents::ContentsCheck;
use wsus_airgap::package::EMPTY_PACKAGE_HINT;
use wsus_airgap::transfer::wsusutil::WsusutilError;

use wsus_airgap::printable::{Printable, printable};
use wsus_airgap::wsus::ScriptError;

/// One line per file that is not as the manifest lists it.
pub fn write_problems(check: &ContentsCheck, out: &mut impl Write) -> io::Result<()> {
    for path in &check.missing {
        writeln!(out, "missing: {path}")?;
    }
    for changed in &check.changed {
        writeln!(out, "changed: {}", printable(&changed.to_string()))?;
    }
    for extra in &check.extra {
        writeln!(
            out,
            "extra: {}: not in the manifest",
            printable(&extra.path)
        )?;
    }
    for (path, error) in &check.unlisted {
        writeln!(out, "unreadable: {}: {}", printable(path), printable(error))?;
    }
    Ok(())
}

/// One line per update that would show "Failed to download", then the files it lacks.
pub fn write_updates_at_risk(out: &mut impl Write, updates: &[UpdateGap]) -> io::Result<()> {
    for update in updates {
        writeln!(
            out,
            "would fail to download: {}",
            printable(&update.to_string())
        )?;
        for file in &update.files {
            writeln!(out, "  lacks {}", printable(file))?;
        }
    }
    Ok(())
}

/// Exit 3's message: the failure, the tail of wsusutil's log, and the fix where it is known.
pub fn report_wsusutil(error: &WsusutilError) {
    stderr_line!(
        "wsus-airgap: wsusutil failed: {}",
        printable(&error.to_string())
    );
    if let WsusutilError::Failed { log_tail, .. } = error
        && !log_tail.is_empty()
    {
        stderr_line!("the log ends:");
        for line in log_tail {
            stderr_line!("  {}", printable(line));
        }
    }
    if let WsusutilError::EmptyPackage { .. } = error {
        stderr_line!("hint: {EMPTY_PACKAGE_HINT}");
    }
}

/// Exit 3's message for PowerShell: the failure, what it wrote last, and every step it
/// carried out before it failed.
pub fn report_powershell(error: &ScriptError) {
    stderr_line!(
        "wsus-airgap: PowerShell failed: {}",
        printable(&error.to_string())
    );
    let _ = write!(Printable(io::stderr().lock()), "{}", error.details());
}
