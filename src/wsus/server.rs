//! The JSON the script and this program exchange: the request written for it, and what it
//! answers: a server read, or the steps of a plan it applied. The script's answers are data
//! from a program this one does not control: parsed strictly, and every GUID checked.

use serde::{Deserialize, Serialize};

use super::groups::Groups;
use super::state::{
    Approval, ApprovalAction, Decline, FORMAT_VERSION, Group, Guid, ServerFacts, WsusState,
};
use crate::manifest::Timestamp;

/// What the script is asked to do. Every field is always written (the script runs in strict
/// mode, where reading a field that is not there is an error).
#[derive(Debug, Clone, Serialize)]
pub struct Request<'a> {
    pub format_version: u32,
    /// `read` or `apply`.
    pub action: &'static str,
    /// `read`: the updates to describe.
    pub updates: &'a [Guid],
    /// `read`: describe every approved update too.
    pub include_approved: bool,
    /// `apply`: the plan.
    pub plan: Option<&'a ScriptPlan>,
}

impl<'a> Request<'a> {
    /// A read of the server, describing `updates` and, if asked, every approved update.
    pub fn read(updates: &'a [Guid], include_approved: bool) -> Self {
        Request {
            format_version: FORMAT_VERSION,
            action: "read",
            updates,
            include_approved,
            plan: None,
        }
    }

    pub fn apply(plan: &'a ScriptPlan) -> Self {
        Request {
            format_version: FORMAT_VERSION,
            action: "apply",
            updates: &[],
            include_approved: false,
            plan: Some(plan),
        }
    }
}

/// What a server read returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerRead {
    pub format_version: u32,
    pub server: ServerFacts,
    pub groups: Vec<Group>,
    pub approvals: Vec<ServerApproval>,
    pub declines: Vec<Decline>,
    /// The updates asked about.
    #[serde(default)]
    pub updates: Vec<UpdateFacts>,
}

/// An approval as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerApproval {
    pub update_id: Guid,
    pub revision: u32,
    pub group_id: Guid,
    /// `Install`, `Uninstall`, `NotApproved`, ...
    pub action: String,
    pub deadline: Option<Timestamp>,
    #[serde(default)]
    pub optional: bool,
    /// `Active` (the content is there) or `Pending` (still downloading).
    #[serde(default)]
    pub state: String,
}

/// One update as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateFacts {
    pub id: Guid,
    /// False when the server does not have the update.
    pub found: bool,
    #[serde(default)]
    pub revision: Option<u32>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub kb: Vec<String>,
    #[serde(default)]
    pub requires_licence: bool,
    #[serde(default)]
    pub declined: bool,
    /// The update's state as WSUS names it (`Ready`, `NotReady`, `Failed`, ...).
    #[serde(default)]
    pub state: Option<String>,
}

impl ServerRead {
    /// Checks what cannot be left to the types: the format version.
    pub fn check(&self) -> Result<(), String> {
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "format version {} is not {FORMAT_VERSION}",
                self.format_version
            ));
        }
        Ok(())
    }

    /// What a transfer carries of this server: its facts, groups, approvals (with each
    /// group's path of names; approvals that are not Install or Uninstall left out) and
    /// declines, sorted.
    pub fn to_state(&self) -> WsusState {
        let groups = Groups::new(&self.groups);
        let mut approvals: Vec<Approval> = self
            .approvals
            .iter()
            .filter_map(|approval| {
                Some(Approval {
                    update_id: approval.update_id.clone(),
                    revision: approval.revision,
                    group_id: approval.group_id.clone(),
                    group_path: groups.path(&approval.group_id).unwrap_or_default(),
                    action: ApprovalAction::from_wsus(&approval.action)?,
                    deadline: approval.deadline,
                    optional: approval.optional,
                })
            })
            .collect();
        approvals.sort_by(|a, b| (&a.update_id, &a.group_id).cmp(&(&b.update_id, &b.group_id)));
        approvals.dedup_by(|a, b| (&a.update_id, &a.group_id) == (&b.update_id, &b.group_id));
        let mut declines = self.declines.clone();
        declines.sort_by(|a, b| a.update_id.cmp(&b.update_id));
        declines.dedup_by(|a, b| a.update_id == b.update_id);
        let mut groups = self.groups.clone();
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        WsusState {
            format_version: FORMAT_VERSION,
            server: self.server.clone(),
            groups,
            approvals,
            declines,
        }
    }

    /// The facts of update `id`, if asked about and found.
    pub fn update(&self, id: &Guid) -> Option<&UpdateFacts> {
        self.updates
            .iter()
            .find(|update| &update.id == id && update.found)
    }
}

/// A plan as the script carries it out: groups to create (each known by a key until it has
/// an id), licences to accept, approvals, declines, in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScriptPlan {
    pub create_groups: Vec<CreateGroup>,
    pub accept_licences: Vec<Guid>,
    pub approve: Vec<ApproveStep>,
    pub decline: Vec<Guid>,
}

/// A group to create: under an existing group (`parent_id`) or one created before it
/// (`parent_key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateGroup {
    pub key: String,
    pub name: String,
    pub parent_id: Option<Guid>,
    pub parent_key: Option<String>,
}

/// An approval to make, for an existing group (`group_id`) or one created by the plan
/// (`group_key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApproveStep {
    pub update_id: Guid,
    pub group_id: Option<Guid>,
    pub group_key: Option<String>,
    pub action: ApprovalAction,
    pub deadline: Option<Timestamp>,
    pub optional: bool,
}

/// A step the script carried out, as its journal and its answer record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Applied {
    CreateGroup {
        key: String,
        id: Guid,
        name: String,
    },
    AcceptLicence {
        update_id: Guid,
    },
    Approve {
        update_id: Guid,
        group_id: Guid,
        action: ApprovalAction,
    },
    Decline {
        update_id: Guid,
    },
    /// A journal line that could not be read: something was done that is not known.
    #[serde(skip_deserializing)]
    Unreadable {
        line: String,
    },
}

/// What an apply returns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyResponse {
    pub format_version: u32,
    pub applied: Vec<Applied>,
}

/// The journal's lines, each step done; a line that is not a step is kept as it is.
pub fn read_journal(text: &str) -> Vec<Applied> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| Applied::Unreadable {
                line: line.chars().take(200).collect(),
            })
        })
        .collect()
}

/// `approved: <update> for <group id> (Install)` and the like; updates are named by id here,
/// the report names them by KB number and title.
impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Applied::CreateGroup { id, name, .. } => write!(f, "created group {name} ({id})"),
            Applied::AcceptLicence { update_id } => {
                write!(f, "accepted the licence of update {update_id}")
            }
            Applied::Approve {
                update_id,
                group_id,
                action,
            } => write!(
                f,
                "approved update {update_id} for group {group_id} ({action})"
            ),
            Applied::Decline { update_id } => write!(f, "declined update {update_id}"),
            Applied::Unreadable { line } => {
                write!(
                    f,
                    "did something its journal records as `{}`",
                    line.escape_debug()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_keeps_every_line_even_those_it_cannot_read() {
        let journal = "\u{feff}{\"step\":\"decline\",\"update_id\":\"22222222-2222-2222-2222-222222222222\"}\n\
                       {\"step\":\"approve\",\"update_id\":\"2222\n";
        let applied = read_journal(journal);
        assert_eq!(applied.len(), 2);
        assert_eq!(
            applied[0],
            Applied::Decline {
                update_id: Guid::parse("22222222-2222-2222-2222-222222222222").unwrap()
            }
        );
        assert!(matches!(applied[1], Applied::Unreadable { .. }));
    }
}
