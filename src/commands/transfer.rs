//! What export, verify and import share on the command side: default locations, and how
//! updates at risk and wsusutil failures are shown.

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use wsus_airgap::check::{self, UpdateGap};
use wsus_airgap::manifest::contents::PackageState;
use wsus_airgap::manifest::keys::PublicKey;
use wsus_airgap::manifest::trust::TrustState;
use wsus_airgap::manifest::verify::VerifyOptions;
use wsus_airgap::mirror::{Applied, ApplyOptions, Listing, MirrorError, Plan, PlanOptions};
use wsus_airgap::transfer::Media;
use wsus_airgap::transfer::gate::{self, GateError, MediaCheck};
use wsus_airgap::transfer::wsusutil::{self, WsusutilError};

use super::manifest_verify::{package_line, verdict, write_problems};
use super::mirror::plan_and_apply;
use super::printable::{Printable, printable};
use super::progress_bar::Bar;
use super::{Exit, RefusedAt, plural, report_refused};

/// Media (or a copy from it) that did not pass: the reason, in one sentence. The details
/// (problem lines, updates at risk) are printed on stderr before it is returned.
pub struct Refused(pub String);

impl Refused {
    /// Says so: the `refused:` line on stderr and, with `--json`, a document on stdout, so
    /// that a script reading stdout sees the verdict too.
    pub fn report(&self, media: &Media, json: bool) -> anyhow::Result<Exit> {
        report_refused(RefusedAt::Media(&media.root), &self.0, json)
    }
}

/// The trust state when `--state` is not given: `%ProgramData%\wsus-airgap\trust-state.json`
/// on Windows, `$XDG_STATE_HOME/wsus-airgap/trust-state.json` (or `~/.local/state/...`)
/// elsewhere.
pub fn default_state(given: Option<&Path>) -> PathBuf {
    if let Some(path) = given {
        return path.to_owned();
    }
    let folder = if cfg!(windows) {
        std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
    } else {
        std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
            })
            .unwrap_or_else(|| PathBuf::from("/var/lib"))
    };
    folder.join("wsus-airgap").join("trust-state.json")
}

/// The program to run: `--wsusutil`, else where WSUS installs it.
pub fn program(given: Option<&Path>) -> PathBuf {
    given.map_or_else(wsusutil::default_program, Path::to_owned)
}

/// A file beside the content folder (`D:\WSUS\WsusContent` -> `D:\WSUS\<name>`).
pub fn beside_content(content: &Path, name: &str) -> PathBuf {
    let absolute = std::path::absolute(content).unwrap_or_else(|_| content.to_owned());
    absolute.with_file_name(name)
}

/// One line per update that would show "Failed to download", then its files.
pub fn write_updates_at_risk(out: &mut impl Write, updates: &[UpdateGap]) -> std::io::Result<()> {
    for update in updates {
        let kb = update
            .kb
            .as_deref()
            .map(|kb| format!(" KB{kb}"))
            .unwrap_or_default();
        let title = update.title.as_deref().unwrap_or("(no title)");
        writeln!(
            out,
            "would fail to download: {}{kb} {}",
            printable(title),
            update.id
        )?;
        for file in &update.files {
            writeln!(out, "  lacks {}", printable(file))?;
        }
    }
    Ok(())
}

/// Exit 3's message: the failure and the tail of wsusutil's log.
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
        stderr_line!(
            "hint: wsusutil export is known to write an empty package when the export exceeds \
             the 2 GB limit of the CAB format (fixed by KB2819484 on Windows Server 2012 and \
             KB2828185 on WSUS 3.0 SP2): install the fix and export again"
        );
    }
}

/// Verifies the media against the trust `state`; the problems of damaged media are printed
/// here, and a refusal returned.
pub fn pass_gate(
    media: &Media,
    trust: &Path,
    state: &TrustState,
    jobs: Option<NonZeroUsize>,
    quiet: bool,
) -> anyhow::Result<Result<MediaCheck, Refused>> {
    let trusted = PublicKey::read(trust)?;
    let options = VerifyOptions {
        now: SystemTime::now(),
        allow_expired: false,
        allow_rollback: false,
        state: Some(state.clone()),
    };
    let bar = Bar::new(quiet);
    let result = gate::check_media(media, &trusted, &options, jobs, &bar);
    bar.finish();
    let media_check = match result {
        Ok(media_check) => media_check,
        Err(GateError::Verify(error)) if error.is_refusal() => {
            return Ok(Err(Refused(error.to_string())));
        }
        Err(error) => return Err(error.into()),
    };
    if media_check.passed() {
        return Ok(Ok(media_check));
    }
    let mut stderr = std::io::stderr().lock();
    let contents = &media_check.contents;
    write_problems(contents, &mut Printable(&mut stderr))?;
    if let Some(package @ (PackageState::Missing { .. } | PackageState::Changed { .. })) =
        &contents.package
    {
        writeln!(stderr, "package: {}", package_line(package))?;
    }
    if let Some(package) = &media_check.package {
        let at_risk = check::updates_needing(package, &media_check.unlisted_references);
        write_updates_at_risk(&mut stderr, &at_risk)?;
    }
    let references = media_check.unlisted_references.len();
    Ok(Err(Refused(format!(
        "{}: {}; {references} package {} the manifest does not list",
        media.root.display(),
        verdict(contents),
        plural(references, "reference"),
    ))))
}

/// Plans (and with `apply`, carries out under `brakes`) the copy of the media's content into
/// the disconnected content folder. Listed files that neither side holds are printed with the
/// updates needing them, and returned as the exit.
pub fn plan_import(
    media: &Media,
    media_check: &MediaCheck,
    content: &Path,
    brakes: &ApplyOptions,
    apply: bool,
    jobs: Option<NonZeroUsize>,
    quiet: bool,
) -> anyhow::Result<Result<(Plan, Option<Applied>), Refused>> {
    let manifest = &media_check.verified.manifest;
    let options = PlanOptions {
        mode: manifest.mode,
        full: false,
        quarantine: brakes.quarantine.clone(),
        jobs,
    };
    let apply_options = apply.then_some(brakes);
    let listing = Listing::Manifest(manifest.entries.clone());
    match plan_and_apply(
        &media.content(),
        content,
        &listing,
        &options,
        apply_options,
        quiet,
    ) {
        Ok(planned) => Ok(Ok(planned)),
        Err(MirrorError::NotInSource { paths, .. }) => {
            let mut stderr = std::io::stderr().lock();
            if let Some(package) = &media_check.package {
                write_updates_at_risk(&mut stderr, &check::updates_needing(package, &paths))?;
            }
            for path in &paths {
                writeln!(stderr, "not covered: {}", printable(path))?;
            }
            Ok(Err(Refused(format!(
                "{} {} the manifest lists {} neither on the media nor in {}",
                paths.len(),
                plural(paths.len(), "file"),
                if paths.len() == 1 { "is" } else { "are" },
                content.display(),
            ))))
        }
        Err(error) => Err(error.into()),
    }
}
