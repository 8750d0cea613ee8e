//! The WSUS steps of a transfer, in their order.
//!
//! Connected side ([`carried_state`]): the server read (or the file given) into the state the
//! manifest carries. Disconnected side ([`after_import`]), only once `wsusutil import`
//! succeeded: the receiving server read, its settings compared with the source's, the plan
//! made, applied if asked, and, if asked, the server polled until the approved updates'
//! files are ready. A PowerShell failure ends the steps; what it applied before failing is
//! kept in the result, so that nothing changed goes unreported. [`settings_check`] is the
//! part `verify` runs: read and compare, nothing changed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use super::plan::{self, Plan, PlanInputs, PlanLines, Wording};
use super::script::{PowerShell, ScriptError};
use super::server::Applied;
use super::settings::{self, SettingWarning};
use super::state::{StateError, WsusState};
use super::wait::{self, WaitOptions, Waited};
use crate::check;
use crate::transfer::events::{Events, Step};
use crate::transfer::gate::MediaCheck;
use crate::transfer::volumes::VolumesImport;
use crate::transfer::{Imported, Outcome};

/// Where `export` takes the WSUS state from.
#[derive(Debug, Clone)]
pub enum StateSource {
    /// The server, read through this PowerShell.
    Server(PathBuf),
    /// A file in the format of `manifests/wsus-state.schema.json`.
    File(PathBuf),
    /// Nowhere: the transfer carries no WSUS state.
    Skip,
}

/// Why the state could not be had on the connected side.
#[derive(Debug, thiserror::Error)]
pub enum CarryError {
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the WSUS server's answer is inconsistent: {0}")]
    Inconsistent(String),
}

/// The state the transfer carries, from `source`.
pub fn carried_state(source: &StateSource) -> Result<Option<WsusState>, CarryError> {
    match source {
        StateSource::Skip => Ok(None),
        StateSource::File(path) => Ok(Some(WsusState::read(path)?)),
        StateSource::Server(program) => {
            let read = PowerShell::new(program.clone()).read(&[], false)?;
            let state = read.to_state();
            state.check().map_err(CarryError::Inconsistent)?;
            Ok(Some(state))
        }
    }
}

/// What `import` does with the carried approvals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalsMode {
    /// Apply the plan.
    Apply,
    /// Show the plan; change nothing.
    Plan,
    /// Neither read nor change the server (unless asked to wait).
    Skip,
}

/// The disconnected side's WSUS options.
#[derive(Debug, Clone)]
pub struct StageOptions {
    pub powershell: PathBuf,
    pub approvals: ApprovalsMode,
    pub wait: Option<WaitOptions>,
}

/// What the WSUS steps after an import did.
#[derive(Debug, Serialize)]
pub struct Stage {
    pub mode: ApprovalsMode,
    /// Why the server was not read at all, if it was not.
    pub not_run: Option<&'static str>,
    /// What the media carries: approvals, declines, groups.
    pub carried: Option<Carried>,
    pub settings: Vec<SettingWarning>,
    pub plan: Option<Plan>,
    /// The steps carried out, in order (also those before a failure).
    pub applied: Vec<Applied>,
    pub wait: Option<Waited>,
    /// The PowerShell failure that ended the steps.
    #[serde(serialize_with = "as_text")]
    pub failure: Option<ScriptError>,
}

fn as_text<S: Serializer>(error: &Option<ScriptError>, serializer: S) -> Result<S::Ok, S::Error> {
    match error {
        Some(error) => serializer.collect_str(error),
        None => serializer.serialize_none(),
    }
}

/// Counts of what the media carries.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Carried {
    pub approvals: usize,
    pub declines: usize,
    pub groups: usize,
}

impl Carried {
    pub fn of(state: &WsusState) -> Self {
        Carried {
            approvals: state.approvals.len(),
            declines: state.declines.len(),
            groups: state.groups.len(),
        }
    }
}

/// `N approvals, N declines, N computer groups`.
impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} approvals, {} declines, {} computer groups",
            self.approvals, self.declines, self.groups
        )
    }
}

impl Stage {
    fn not_run(mode: ApprovalsMode, reason: &'static str) -> Self {
        Stage {
            not_run: Some(reason),
            ..Stage::new(mode)
        }
    }

    fn new(mode: ApprovalsMode) -> Self {
        Stage {
            mode,
            not_run: None,
            carried: None,
            settings: Vec::new(),
            plan: None,
            applied: Vec::new(),
            wait: None,
            failure: None,
        }
    }

    /// True when a wait ended with updates not ready.
    pub fn not_ready(&self) -> bool {
        self.wait.as_ref().is_some_and(|waited| !waited.is_ready())
    }
}

/// [`after_import`] of an import that completed; `None` for one still waiting for volumes,
/// or refused.
pub fn after(
    outcome: &Outcome<VolumesImport>,
    options: &StageOptions,
    events: &dyn Events,
) -> Option<Stage> {
    match outcome {
        Outcome::Done(VolumesImport::Complete(imported)) => {
            Some(after_import(imported, options, events))
        }
        _ => None,
    }
}

/// The WSUS steps after `imported`, telling `events` each.
pub fn after_import(imported: &Imported, options: &StageOptions, events: &dyn Events) -> Stage {
    let mode = options.approvals;
    if imported.receipt.is_none() && imported.already_imported.is_none() {
        return Stage::not_run(mode, "a dry run neither reads nor changes WSUS");
    }
    let carried = imported.check.verified.manifest.wsus.as_ref();
    // Media imported already (a rerun, to apply what an earlier run only planned): its
    // package is taken off the media again, as the gate takes it, and read if intact.
    let reread = match (&imported.check.package, imported.already_imported, carried) {
        (None, Some(_), Some(_)) => package_again(imported),
        _ => None,
    };
    let package = imported.check.package.as_ref().or(reread.as_ref());
    let plan_wanted = mode != ApprovalsMode::Skip && carried.is_some();
    if !plan_wanted && options.wait.is_none() {
        return Stage::not_run(
            mode,
            match carried {
                None => "the media carries no WSUS state (exported with --no-approvals)",
                Some(_) => "--approvals skip",
            },
        );
    }
    if plan_wanted && package.is_none() {
        let mut stage = Stage::not_run(
            mode,
            "the package could not be read (on this volume, or intact) to check the approvals \
             against",
        );
        stage.carried = carried.map(Carried::of);
        return stage;
    }
    let mut stage = Stage::new(mode);
    stage.carried = carried.map(Carried::of);
    let powershell = PowerShell::new(options.powershell.clone());
    if let (true, Some(carried), Some(package)) = (plan_wanted, carried, package)
        && let Err(error) =
            plan_and_apply(&mut stage, imported, carried, package, &powershell, events)
    {
        events.step(&Step::Wsus(WsusStep::Failed(&error)));
        stage.applied.extend(error.applied().iter().cloned());
        stage.failure = Some(error);
        return stage;
    }
    if let Some(wait_options) = options.wait {
        let polled = |waited: &Waited| events.step(&Step::Wsus(WsusStep::Polled(waited)));
        match wait::wait(&powershell, package, wait_options, &polled) {
            Ok(waited) => stage.wait = Some(waited),
            Err(error) => {
                events.step(&Step::Wsus(WsusStep::Failed(&error)));
                stage.failure = Some(error);
            }
        }
    }
    stage
}

/// The package of media imported already, taken off the media into a private folder while
/// hashed, and read if it is the signed one; `None` otherwise (for a volume not holding it).
fn package_again(imported: &Imported) -> Option<crate::package::Package> {
    use crate::transfer::private::{self, PrivateFolder, Taken};
    let entry = imported.check.verified.manifest.package.as_ref()?;
    let folder = PrivateFolder::temporary().ok()?;
    let source = entry.name.under(&imported.media);
    match private::take(&source, folder.path(), entry.size).ok()? {
        Taken::Copied { path, size, blake3 } if size == entry.size && blake3 == entry.blake3 => {
            crate::package::open(&path).ok()
        }
        _ => None,
    }
}

/// Reads the receiving server, compares its settings, plans, and applies if asked.
fn plan_and_apply(
    stage: &mut Stage,
    imported: &Imported,
    carried: &WsusState,
    package: &crate::package::Package,
    powershell: &PowerShell,
    events: &dyn Events,
) -> Result<(), ScriptError> {
    let server = powershell.read(&carried.update_ids(), false)?;
    events.step(&Step::Wsus(WsusStep::Read {
        version: &server.server.version,
        groups: server.groups.len(),
        approvals: server.approvals.len(),
    }));
    stage.settings = compare(carried, &server.server, package);
    for warning in &stage.settings {
        events.step(&Step::Wsus(WsusStep::Setting(warning)));
    }
    // Media imported already was not checked again: the gaps are those its manifest
    // acknowledges.
    let gaps: Vec<String> = match imported.already_imported {
        None => imported.check.acknowledged_gaps.clone(),
        Some(_) => (imported.check.verified.manifest.gaps.iter())
            .map(ToString::to_string)
            .collect(),
    };
    let incomplete = check::updates_incomplete(package, &gaps);
    let plan = plan::plan(&PlanInputs {
        carried,
        package,
        incomplete: &incomplete,
        server: &server,
    });
    events.step(&Step::Wsus(WsusStep::Planned(&plan)));
    let apply = stage.mode == ApprovalsMode::Apply && !plan.is_empty();
    stage.plan = Some(plan);
    if apply {
        let plan = stage.plan.as_ref().expect("set above");
        let applied = powershell.apply(&plan.to_script())?;
        for step in &applied {
            events.step(&Step::Wsus(WsusStep::Applied(step)));
        }
        stage.applied = applied;
    }
    Ok(())
}

/// The source's settings against the receiving server's.
fn compare(
    carried: &WsusState,
    server: &super::state::ServerFacts,
    package: &crate::package::Package,
) -> Vec<SettingWarning> {
    let approved: BTreeSet<String> = (carried.approvals.iter())
        .map(|approval| approval.update_id.to_string())
        .collect();
    settings::compare(&carried.server, server, package, &approved)
}

/// `verify`'s part: the receiving server's settings against those the media carries;
/// `None` when it carries none (or no package to name updates from), or without a
/// `powershell` to read the server with.
pub fn settings_check(
    check: &MediaCheck,
    powershell: Option<&PowerShell>,
) -> Result<Option<Vec<SettingWarning>>, ScriptError> {
    let carried = (check.verified.manifest.wsus.as_ref()).zip(check.package.as_ref());
    let (Some((carried, package)), Some(powershell)) = (carried, powershell) else {
        return Ok(None);
    };
    let server = powershell.read(&[], false)?;
    Ok(Some(compare(carried, &server.server, package)))
}

/// A WSUS step, for the step log.
#[derive(Debug)]
pub enum WsusStep<'a> {
    /// The receiving server was read.
    Read {
        version: &'a str,
        groups: usize,
        approvals: usize,
    },
    Setting(&'a SettingWarning),
    Planned(&'a Plan),
    Applied(&'a Applied),
    Polled(&'a Waited),
    Failed(&'a ScriptError),
    /// The connected server's state, carried in the manifest.
    Carried {
        approvals: usize,
        declines: usize,
        groups: usize,
    },
}

impl std::fmt::Display for WsusStep<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsusStep::Read {
                version,
                groups,
                approvals,
            } => write!(
                f,
                "WSUS read: version {version}, {groups} computer groups, {approvals} approvals"
            ),
            WsusStep::Setting(warning) => {
                write!(f, "{}", warning.to_string().trim_end())
            }
            WsusStep::Planned(plan) => write!(
                f,
                "approvals planned: {} to approve, {} to decline, {} groups to create, {} held \
                 back, {} approvals and {} declines already there",
                plan.approvals.len(),
                plan.declines.len(),
                plan.create_groups.len(),
                plan.held.len(),
                plan.present.approvals,
                plan.present.declines
            ),
            WsusStep::Applied(step) => write!(f, "WSUS: {step}"),
            WsusStep::Polled(waited) => write!(
                f,
                "WSUS: {} of {} approved updates not ready",
                waited.not_ready.len(),
                waited.approved
            ),
            WsusStep::Failed(error) => write!(f, "WSUS: {error}"),
            WsusStep::Carried {
                approvals,
                declines,
                groups,
            } => write!(
                f,
                "WSUS state carried: {approvals} approvals, {declines} declines, {groups} \
                 computer groups"
            ),
        }
    }
}

/// The WSUS steps' lines of an import's report (the settings' warnings go to stderr as
/// they happen).
impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not run when nothing was asked of WSUS (no state carried, --approvals skip): no
        // line; when approvals were carried but could not be planned, why.
        if let Some(reason) = self.not_run {
            if self.carried.is_some() {
                writeln!(f, "approvals: not applied: {reason}")?;
            }
            return Ok(());
        }
        if let Some(plan) = &self.plan {
            let applied = self.mode == ApprovalsMode::Apply && self.failure.is_none();
            let wording = if applied {
                Wording::Applied
            } else {
                Wording::Planned
            };
            write!(f, "{}", PlanLines { plan, wording })?;
            let carried = self.carried.expect("a plan has carried approvals");
            let (approve, decline) = match wording {
                Wording::Applied => ("approved", "declined"),
                Wording::Planned => ("to approve", "to decline"),
            };
            write!(
                f,
                "approvals: {} approvals and {} declines carried: {} {approve}, {} {decline}, {} \
                 held back, {} already here",
                carried.approvals,
                carried.declines,
                plan.approvals.len(),
                plan.declines.len(),
                plan.held.len(),
                plan.present.approvals + plan.present.declines,
            )?;
            match (self.mode, &self.failure) {
                (ApprovalsMode::Plan, _) => {
                    writeln!(f, "; nothing changed (--approvals apply applies them)")?
                }
                (_, Some(_)) => writeln!(f, "; PowerShell failed (see below)")?,
                _ => writeln!(f)?,
            }
        }
        if let Some(waited) = &self.wait {
            write!(f, "{waited}")?;
        }
        Ok(())
    }
}
