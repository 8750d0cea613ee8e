//! A stand-in for Windows PowerShell running `powershell/wsus-airgap.ps1` on a WSUS server,
//! so that tests and the demo exercise every WSUS path without Windows. It runs as the
//! `wsus-airgap` binary itself when that is started under the name `powershell` (as the
//! stand-in wsusutil does), and keeps the "server" in a JSON file.
//!
//! ```text
//! powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <script>
//!            -Request <request.json> -Response <response.json> -Journal <journal.jsonl>
//! ```
//!
//! The script must be wsus-airgap's, byte for byte. The request is answered as the script
//! answers it: `read` describes the server, `apply` carries out a plan step by step, each
//! step appended to the journal and saved in the state file as it is done, and refused as
//! WSUS refuses it (an approval of an update whose licence is not accepted, of an update or
//! for a group the server does not have).
//!
//! Environment (a flag is set when non-empty and not `0`):
//! - `WSUS_STANDIN_STATE`: the state file (by default `wsus-server.json` beside the
//!   program). A missing file is a new server: WSUS 10.0.17763.678, English only, no express
//!   files, the built-in groups, no updates. `wsusutil import` of the stand-in wsusutil adds
//!   the package's updates to it (to the one beside wsusutil only if that file exists).
//! - `WSUS_STANDIN_FAIL`: fail at once, changing nothing.
//! - `WSUS_STANDIN_FAIL_AFTER=<n>`: fail an `apply` after carrying out its first n steps.
//! - `WSUS_STANDIN_READY_AFTER=<n>`: approvals are `Pending` (their files not ready) until
//!   the server has been read n times in all; by default they are `Active` at once.

use std::env;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};

use crate::package::Package;
use crate::wsus::groups::{ALL_COMPUTERS, DOWNSTREAM_SERVERS, UNASSIGNED_COMPUTERS};
use crate::wsus::script::SCRIPT;
use crate::wsus::server::{Applied, ServerApproval, ServerRead, UpdateFacts};
use crate::wsus::state::{Decline, FORMAT_VERSION, Group, Guid, ServerFacts};

/// The variable naming the state file.
pub const STATE_VARIABLE: &str = "WSUS_STANDIN_STATE";
/// The state file's name beside the program when the variable names none.
pub const STATE_FILE: &str = "wsus-server.json";

/// The stand-in server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandInServer {
    #[serde(default = "default_facts")]
    pub server: ServerFacts,
    #[serde(default = "built_in_groups")]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub approvals: Vec<ServerApproval>,
    #[serde(default)]
    pub declines: Vec<Decline>,
    #[serde(default)]
    pub updates: Vec<StandInUpdate>,
    /// How many times the server was read.
    #[serde(default)]
    pub reads: u64,
}

/// An update the stand-in server has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandInUpdate {
    pub id: Guid,
    #[serde(default = "one")]
    pub revision: u32,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub kb: Vec<String>,
    #[serde(default)]
    pub requires_licence: bool,
    #[serde(default)]
    pub licence_accepted: bool,
    /// The update's state as WSUS names it.
    #[serde(default = "ready")]
    pub state: String,
}

fn one() -> u32 {
    1
}

fn ready() -> String {
    "Ready".to_owned()
}

fn default_facts() -> ServerFacts {
    ServerFacts {
        name: "WSUS-STANDIN".to_owned(),
        version: "10.0.17763.678".to_owned(),
        all_languages: false,
        languages: vec!["en".to_owned()],
        express_files: false,
        products: Vec::new(),
        classifications: Vec::new(),
    }
}

/// All Computers with Unassigned Computers and Downstream Servers under it.
pub fn built_in_groups() -> Vec<Group> {
    let guid = |text: &str| Guid::parse(text).expect("a GUID");
    vec![
        Group {
            id: guid(ALL_COMPUTERS),
            name: "All Computers".to_owned(),
            parent: None,
        },
        Group {
            id: guid(UNASSIGNED_COMPUTERS),
            name: "Unassigned Computers".to_owned(),
            parent: Some(guid(ALL_COMPUTERS)),
        },
        Group {
            id: guid(DOWNSTREAM_SERVERS),
            name: "Downstream Servers".to_owned(),
            parent: Some(guid(ALL_COMPUTERS)),
        },
    ]
}

impl Default for StandInServer {
    fn default() -> Self {
        StandInServer {
            server: default_facts(),
            groups: built_in_groups(),
            approvals: Vec::new(),
            declines: Vec::new(),
            updates: Vec::new(),
            reads: 0,
        }
    }
}

impl StandInServer {
    /// The server in `path`; a new one if there is no file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).with_context(|| format!("{}", path.display()))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(error).with_context(|| format!("{}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let json = serde_json::to_vec_pretty(self).expect("the state serialises");
        crate::atomic_file::write(
            path,
            &json,
            crate::atomic_file::Access::Shared,
            crate::atomic_file::Existing::Replace,
        )
        .with_context(|| format!("{}", path.display()))
    }

    /// Adds the updates of an imported `package` (keeping what it knows of those it has).
    pub fn import(&mut self, package: &Package) {
        for update in &package.updates {
            let Ok(id) = Guid::parse(&update.id) else {
                continue;
            };
            match self.updates.iter_mut().find(|known| known.id == id) {
                Some(known) => known.revision = known.revision.max(update.revision),
                None => self.updates.push(StandInUpdate {
                    id,
                    revision: update.revision,
                    title: update.title.clone(),
                    kb: update.kb.iter().cloned().collect(),
                    requires_licence: false,
                    licence_accepted: false,
                    state: ready(),
                }),
            }
        }
    }

    /// Adds the updates of a generated package, as an import of it would.
    pub fn import_synthetic(&mut self, exported: &super::SyntheticExport) {
        for update in &exported.updates {
            let Ok(id) = Guid::parse(&update.id) else {
                continue;
            };
            self.updates.retain(|known| known.id != id);
            self.updates.push(StandInUpdate {
                id,
                revision: update.revision,
                title: Some(update.title.clone()),
                kb: update.kb.iter().cloned().collect(),
                requires_licence: false,
                licence_accepted: false,
                state: ready(),
            });
        }
    }

    fn update(&self, id: &Guid) -> Option<&StandInUpdate> {
        self.updates.iter().find(|update| &update.id == id)
    }

    fn facts(&self, id: &Guid) -> UpdateFacts {
        match self.update(id) {
            None => UpdateFacts {
                id: id.clone(),
                found: false,
                revision: None,
                title: None,
                kb: Vec::new(),
                requires_licence: false,
                declined: false,
                state: None,
            },
            Some(update) => UpdateFacts {
                id: id.clone(),
                found: true,
                revision: Some(update.revision),
                title: update.title.clone(),
                kb: update.kb.clone(),
                requires_licence: update.requires_licence && !update.licence_accepted,
                declined: self.declines.iter().any(|decline| &decline.update_id == id),
                state: Some(update.state.clone()),
            },
        }
    }

    /// Answers a read, as the script does.
    fn read(&mut self, ids: &[Guid], include_approved: bool, ready_after: u64) -> ServerRead {
        self.reads += 1;
        if self.reads >= ready_after {
            for approval in &mut self.approvals {
                approval.state = "Active".to_owned();
            }
        }
        let mut wanted: Vec<Guid> = ids.to_vec();
        if include_approved {
            wanted.extend(
                self.approvals
                    .iter()
                    .map(|approval| approval.update_id.clone()),
            );
        }
        wanted.sort();
        wanted.dedup();
        ServerRead {
            format_version: FORMAT_VERSION,
            server: self.server.clone(),
            groups: self.groups.clone(),
            approvals: self.approvals.clone(),
            declines: self.declines.clone(),
            updates: wanted.iter().map(|id| self.facts(id)).collect(),
        }
    }
}

/// The request, as the script reads it: in strict mode, so every field must be there.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    format_version: u32,
    action: String,
    updates: Vec<Guid>,
    include_approved: bool,
    plan: Option<Plan>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    create_groups: Vec<CreateGroup>,
    accept_licences: Vec<Guid>,
    approve: Vec<Approve>,
    decline: Vec<Guid>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateGroup {
    key: String,
    name: String,
    parent_id: Option<Guid>,
    parent_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Approve {
    update_id: Guid,
    group_id: Option<Guid>,
    group_key: Option<String>,
    action: String,
    deadline: Option<String>,
    optional: bool,
}

/// The files the command line names.
struct Files {
    request: PathBuf,
    response: PathBuf,
    journal: PathBuf,
}

/// Runs the stand-in with `args` (the program name left out); returns the exit code.
pub fn run(args: &[OsString]) -> u8 {
    match run_inner(args) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("wsus-airgap.ps1: {error:#}");
            1
        }
    }
}

fn run_inner(args: &[OsString]) -> anyhow::Result<()> {
    let files = parse(args)?;
    if flag("WSUS_STANDIN_FAIL") {
        bail!("the stand-in was told to fail");
    }
    let state_path = state_path().context("cannot find this program's folder")?;
    let text =
        std::fs::read(&files.request).with_context(|| format!("{}", files.request.display()))?;
    let request: Request = serde_json::from_slice(&text).context("the request")?;
    if request.format_version != FORMAT_VERSION {
        bail!(
            "request format {} is not {FORMAT_VERSION}",
            request.format_version
        );
    }
    let mut server = StandInServer::load(&state_path)?;
    let answer = match request.action.as_str() {
        "read" => {
            let read = server.read(
                &request.updates,
                request.include_approved,
                number("WSUS_STANDIN_READY_AFTER")?,
            );
            server.save(&state_path)?;
            serde_json::to_vec_pretty(&read)?
        }
        "apply" => {
            let plan = request.plan.context("an apply without a plan")?;
            let applied = apply(&mut server, &plan, &files.journal, &state_path)?;
            serde_json::to_vec_pretty(&serde_json::json!({
                "format_version": FORMAT_VERSION,
                "applied": applied,
            }))?
        }
        other => bail!("unknown action '{other}'"),
    };
    std::fs::write(&files.response, answer).with_context(|| format!("{}", files.response.display()))
}

/// The command line wsus-airgap gives PowerShell, exactly; the script must be its own.
fn parse(args: &[OsString]) -> anyhow::Result<Files> {
    let args: Vec<&str> = args
        .iter()
        .map(|arg| arg.to_str().context("an argument is not Unicode"))
        .collect::<anyhow::Result<_>>()?;
    let [
        "-NoProfile",
        "-NonInteractive",
        "-ExecutionPolicy",
        "Bypass",
        "-File",
        script,
        "-Request",
        request,
        "-Response",
        response,
        "-Journal",
        journal,
    ] = args.as_slice()
    else {
        bail!("unexpected command line: {}", args.join(" "));
    };
    let text = std::fs::read_to_string(script).with_context(|| script.to_string())?;
    if text != SCRIPT {
        bail!("{script} is not wsus-airgap's script");
    }
    Ok(Files {
        request: request.into(),
        response: response.into(),
        journal: journal.into(),
    })
}

/// Carries out `plan` step by step, each saved and journalled as it is done.
fn apply(
    server: &mut StandInServer,
    plan: &Plan,
    journal: &Path,
    state_path: &Path,
) -> anyhow::Result<Vec<Applied>> {
    let fail_after = env::var("WSUS_STANDIN_FAIL_AFTER")
        .ok()
        .filter(|v| !v.is_empty());
    let fail_after: Option<usize> = fail_after
        .map(|value| {
            value
                .parse()
                .context("WSUS_STANDIN_FAIL_AFTER is not a number")
        })
        .transpose()?;
    let mut created: std::collections::BTreeMap<String, Guid> = Default::default();
    let mut applied = Vec::new();
    let mut done = |server: &StandInServer, step: Applied| -> anyhow::Result<()> {
        if fail_after == Some(applied.len()) {
            bail!(
                "the stand-in was told to fail after {} steps",
                applied.len()
            );
        }
        server.save(state_path)?;
        let mut file = OpenOptions::new().create(true).append(true).open(journal)?;
        writeln!(file, "{}", serde_json::to_string(&step)?)?;
        applied.push(step);
        Ok(())
    };
    for (index, group) in plan.create_groups.iter().enumerate() {
        let (next, step) = create_group(server, &created, group, index)?;
        if let Applied::CreateGroup { key, id, .. } = &step {
            created.insert(key.clone(), id.clone());
        }
        done(&next, step)?;
        *server = next;
    }
    for id in &plan.accept_licences {
        let mut next = server.clone();
        let update = next.updates.iter_mut().find(|update| &update.id == id);
        update
            .with_context(|| format!("update {id} is not on this server"))?
            .licence_accepted = true;
        done(
            &next,
            Applied::AcceptLicence {
                update_id: id.clone(),
            },
        )?;
        *server = next;
    }
    for step in &plan.approve {
        let next = approve(server, &created, step)?;
        let group_id = next
            .approvals
            .last()
            .expect("just approved")
            .group_id
            .clone();
        let action = crate::wsus::state::ApprovalAction::from_wsus(&step.action).expect("checked");
        done(
            &next,
            Applied::Approve {
                update_id: step.update_id.clone(),
                group_id,
                action,
            },
        )?;
        *server = next;
    }
    for id in &plan.decline {
        let next = decline(server, id)?;
        done(
            &next,
            Applied::Decline {
                update_id: id.clone(),
            },
        )?;
        *server = next;
    }
    Ok(applied)
}

/// The server with the group `group` made (the `index`th of the plan), and the step.
fn create_group(
    server: &StandInServer,
    created: &std::collections::BTreeMap<String, Guid>,
    group: &CreateGroup,
    index: usize,
) -> anyhow::Result<(StandInServer, Applied)> {
    let parent = group_id(
        server,
        created,
        group.parent_id.as_ref(),
        group.parent_key.as_deref(),
    )?;
    let id = format!(
        "00000000-0000-4000-8000-{:012x}",
        server.groups.len() * 100 + index
    );
    let id = Guid::parse(&id).map_err(|error| anyhow!(error))?;
    let mut next = server.clone();
    next.groups.push(Group {
        id: id.clone(),
        name: group.name.clone(),
        parent: Some(parent),
    });
    let step = Applied::CreateGroup {
        key: group.key.clone(),
        id,
        name: group.name.clone(),
    };
    Ok((next, step))
}

/// The server with update `id` declined (and so no longer approved), as WSUS declines.
fn decline(server: &StandInServer, id: &Guid) -> anyhow::Result<StandInServer> {
    let update = server
        .update(id)
        .with_context(|| format!("update {id} is not on this server"))?;
    let mut next = server.clone();
    next.declines.push(Decline {
        update_id: id.clone(),
        revision: update.revision,
    });
    next.approvals.retain(|approval| &approval.update_id != id);
    Ok(next)
}

/// The server after approving as `step` says, as WSUS would, or WSUS's refusal.
fn approve(
    server: &StandInServer,
    created: &std::collections::BTreeMap<String, Guid>,
    step: &Approve,
) -> anyhow::Result<StandInServer> {
    if crate::wsus::state::ApprovalAction::from_wsus(&step.action).is_none() {
        bail!("not an approval action: '{}'", step.action);
    }
    let update = server
        .update(&step.update_id)
        .with_context(|| format!("update {} is not on this server", step.update_id))?;
    if update.requires_licence && !update.licence_accepted {
        bail!(
            "update {} requires its licence agreement to be accepted before it is approved",
            step.update_id
        );
    }
    let group = group_id(
        server,
        created,
        step.group_id.as_ref(),
        step.group_key.as_deref(),
    )?;
    let deadline = step
        .deadline
        .as_deref()
        .map(|text| serde_json::from_value(serde_json::Value::String(text.to_owned())))
        .transpose()
        .context("the deadline")?;
    let mut next = server.clone();
    next.approvals
        .retain(|approval| !(approval.update_id == step.update_id && approval.group_id == group));
    next.approvals.push(ServerApproval {
        update_id: step.update_id.clone(),
        revision: update.revision,
        group_id: group,
        action: step.action.clone(),
        deadline,
        optional: step.optional,
        state: "Pending".to_owned(),
    });
    Ok(next)
}

/// The id of an existing group, or of one this plan created.
fn group_id(
    server: &StandInServer,
    created: &std::collections::BTreeMap<String, Guid>,
    id: Option<&Guid>,
    key: Option<&str>,
) -> anyhow::Result<Guid> {
    match (id, key) {
        (Some(id), _) => server
            .groups
            .iter()
            .find(|group| &group.id == id)
            .map(|group| group.id.clone())
            .with_context(|| format!("group {id} is not on this server")),
        (None, Some(key)) => created
            .get(key)
            .cloned()
            .with_context(|| format!("the plan names group '{key}', which it does not create")),
        (None, None) => bail!("a step names no group"),
    }
}

/// The stand-in server's state file: the one [`STATE_VARIABLE`] names, else [`STATE_FILE`]
/// beside this program.
pub fn state_path() -> Option<PathBuf> {
    match env::var_os(STATE_VARIABLE).filter(|value| !value.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => Some(env::current_exe().ok()?.parent()?.join(STATE_FILE)),
    }
}

/// Adds the updates of `package` to the stand-in server (see [`state_path`]; beside the
/// program only if a state file is there): what `wsusutil import` does to WSUS.
pub fn record_import(package: &Package) -> anyhow::Result<()> {
    let Some(path) = state_path().filter(|path| {
        env::var_os(STATE_VARIABLE).is_some_and(|value| !value.is_empty()) || path.is_file()
    }) else {
        return Ok(());
    };
    let mut server = StandInServer::load(&path)?;
    server.import(package);
    server.save(&path)
}

fn number(name: &str) -> anyhow::Result<u64> {
    match env::var(name) {
        Ok(value) if !value.is_empty() => value
            .parse()
            .with_context(|| format!("{name} is not a number")),
        _ => Ok(0),
    }
}

fn flag(name: &str) -> bool {
    env::var_os(name).is_some_and(|value| !value.is_empty() && value != "0")
}
