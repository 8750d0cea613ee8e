//! The decisions: which carried approvals and declines the receiving server gets, and which
//! are held back, and why.
//!
//! An approval is applied only when the update is in the imported metadata (the package),
//! the receiving server has it, its content and its bundled updates' content are proven
//! present and intact (the import's completeness check), and its computer group exists or
//! can be created under the same parent. A licence is accepted only for an update that is
//! being approved. Approvals already there are left alone; an update approved differently,
//! or declined, here is held back: nothing is ever unapproved or changed behind the
//! operator's back. Declines follow the same rules, without the content.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::groups::{self, Groups, Placed};
use super::server::{ApproveStep, CreateGroup, ScriptPlan, ServerRead};
use super::state::{ApprovalAction, Guid, WsusState};
use crate::check::UpdateGap;
use crate::manifest::Timestamp;
use crate::package::{Package, Update};

/// What a plan is made of.
#[derive(Debug, Clone, Copy)]
pub struct PlanInputs<'a> {
    /// What the media carries of the connected server.
    pub carried: &'a WsusState,
    /// The imported metadata.
    pub package: &'a Package,
    /// The updates whose content, or a bundled update's, the import did not prove present:
    /// updates needing acknowledged gaps, or bundling updates the package lacks.
    pub incomplete: &'a [UpdateGap],
    /// The receiving server, read after the import.
    pub server: &'a ServerRead,
}

/// A group the plan makes: under an existing group, or under one it makes first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupToCreate {
    /// How the plan refers to it until it has an id.
    pub key: String,
    pub name: String,
    /// Its path of names from the top.
    pub path: Vec<String>,
    pub parent: GroupRef,
}

/// A group of the receiving server, or one the plan makes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "group", content = "ref", rename_all = "kebab-case")]
pub enum GroupRef {
    Existing(Guid),
    Created(String),
}

/// An approval the plan makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedApproval {
    pub update: UpdateGap,
    pub group_path: Vec<String>,
    pub group: GroupRef,
    pub action: ApprovalAction,
    pub deadline: Option<Timestamp>,
    pub optional: bool,
    /// The update's licence is accepted first.
    pub accept_licence: bool,
}

/// What a held-back approval or decline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeldKind {
    Approval,
    Decline,
}

/// Why an approval or a decline is held back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum HoldReason {
    /// Files it needs (its own or its bundled updates') are not proven present, or it
    /// bundles updates the package lacks: see the update's `files` and `absent_updates`.
    ContentMissing,
    /// The imported metadata does not hold the update.
    UpdateAbsent,
    /// The receiving server does not have the update, although the package holds it.
    NotOnServer,
    /// The computer group is not on the receiving server and cannot be created there.
    GroupMissing,
    /// The receiving server approves it for that group otherwise.
    ApprovedDifferently { existing: String },
    /// The receiving server declines the update.
    DeclinedHere,
    /// The receiving server approves the update, so declining it would unapprove it.
    ApprovedHere,
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::ContentMissing => f.write_str("content missing"),
            HoldReason::UpdateAbsent => f.write_str("update absent from the imported metadata"),
            HoldReason::NotOnServer => f.write_str("update not on this server"),
            HoldReason::GroupMissing => {
                f.write_str("group missing, and it cannot be created under the same parent")
            }
            HoldReason::ApprovedDifferently { existing } => {
                write!(f, "already approved here for {existing}; left as it is")
            }
            HoldReason::DeclinedHere => f.write_str("declined on this server; left as it is"),
            HoldReason::ApprovedHere => {
                f.write_str("approved on this server; declining would unapprove it")
            }
        }
    }
}

/// An approval or a decline held back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    pub kind: HeldKind,
    pub update: UpdateGap,
    /// For an approval, its group's path of names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_path: Option<Vec<String>>,
    #[serde(flatten)]
    pub reason: HoldReason,
}

/// How many carried approvals and declines the receiving server already has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Present {
    pub approvals: usize,
    pub declines: usize,
}

/// What the receiving server gets, and what it does not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub create_groups: Vec<GroupToCreate>,
    pub approvals: Vec<PlannedApproval>,
    pub declines: Vec<UpdateGap>,
    pub held: Vec<Held>,
    pub present: Present,
}

impl Plan {
    /// True when the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.create_groups.is_empty() && self.approvals.is_empty() && self.declines.is_empty()
    }

    /// The plan as the script carries it out.
    pub fn to_script(&self) -> ScriptPlan {
        let reference = |group: &GroupRef| match group {
            GroupRef::Existing(id) => (Some(id.clone()), None),
            GroupRef::Created(key) => (None, Some(key.clone())),
        };
        ScriptPlan {
            create_groups: (self.create_groups.iter())
                .map(|group| {
                    let (parent_id, parent_key) = reference(&group.parent);
                    CreateGroup {
                        key: group.key.clone(),
                        name: group.name.clone(),
                        parent_id,
                        parent_key,
                    }
                })
                .collect(),
            accept_licences: (self.approvals.iter())
                .filter(|approval| approval.accept_licence)
                .map(|approval| Guid::parse(&approval.update.id).expect("a GUID"))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            approve: (self.approvals.iter())
                .map(|approval| {
                    let (group_id, group_key) = reference(&approval.group);
                    ApproveStep {
                        update_id: Guid::parse(&approval.update.id).expect("a GUID"),
                        group_id,
                        group_key,
                        action: approval.action,
                        deadline: approval.deadline,
                        optional: approval.optional,
                    }
                })
                .collect(),
            decline: (self.declines.iter())
                .map(|update| Guid::parse(&update.id).expect("a GUID"))
                .collect(),
        }
    }
}

/// Decides what the receiving server gets.
pub fn plan(inputs: &PlanInputs) -> Plan {
    let mut planner = Planner::new(inputs);
    for approval in &inputs.carried.approvals {
        planner.approval(approval);
    }
    for decline in &inputs.carried.declines {
        planner.decline(&decline.update_id);
    }
    let mut plan = planner.plan;
    plan.approvals
        .sort_by(|a, b| report_order(&a.update, &b.update).then(a.group_path.cmp(&b.group_path)));
    plan.declines.sort_by(report_order);
    plan.held.sort_by(|a, b| {
        (a.kind as u8)
            .cmp(&(b.kind as u8))
            .then(report_order(&a.update, &b.update))
            .then(a.group_path.cmp(&b.group_path))
    });
    plan
}

struct Planner<'a> {
    inputs: &'a PlanInputs<'a>,
    /// The package's latest revision of each update.
    latest: BTreeMap<String, &'a Update>,
    incomplete: BTreeMap<&'a str, &'a UpdateGap>,
    carried_groups: Groups<'a>,
    server_groups: Groups<'a>,
    /// The receiving server's approvals, by update and group.
    server_approvals: BTreeMap<(&'a Guid, &'a Guid), &'a str>,
    /// Groups the plan makes, by parent and name (lower case).
    created: BTreeMap<(GroupRef, String), String>,
    plan: Plan,
}

impl<'a> Planner<'a> {
    fn new(inputs: &'a PlanInputs<'a>) -> Self {
        let mut latest: BTreeMap<String, &Update> = BTreeMap::new();
        for update in &inputs.package.updates {
            let slot = latest
                .entry(update.id.to_ascii_lowercase())
                .or_insert(update);
            if update.revision > slot.revision {
                *slot = update;
            }
        }
        Planner {
            inputs,
            latest,
            incomplete: (inputs.incomplete.iter())
                .map(|gap| (gap.id.as_str(), gap))
                .collect(),
            carried_groups: Groups::new(&inputs.carried.groups),
            server_groups: Groups::new(&inputs.server.groups),
            server_approvals: (inputs.server.approvals.iter())
                .filter(|approval| ApprovalAction::from_wsus(&approval.action).is_some())
                .map(|a| ((&a.update_id, &a.group_id), a.action.as_str()))
                .collect(),
            created: BTreeMap::new(),
            plan: Plan::default(),
        }
    }

    /// How reports name update `id`: from the package, else from the server, else by id.
    fn name(&self, id: &Guid) -> UpdateGap {
        if let Some(update) = self.latest.get(id.as_str()) {
            return named(&update.id, update.revision, &update.kb, &update.title);
        }
        match self.inputs.server.update(id) {
            Some(facts) => named(
                id.as_str(),
                facts.revision.unwrap_or_default(),
                &facts.kb.first().cloned(),
                &facts.title,
            ),
            None => named(id.as_str(), 0, &None, &None),
        }
    }

    /// Why the update `id` cannot be touched at all, if it cannot.
    fn update_problem(&self, id: &Guid) -> Option<HoldReason> {
        if !self.latest.contains_key(id.as_str()) {
            return Some(HoldReason::UpdateAbsent);
        }
        if self.inputs.server.update(id).is_none() {
            return Some(HoldReason::NotOnServer);
        }
        None
    }

    fn hold(
        &mut self,
        kind: HeldKind,
        update: UpdateGap,
        path: Option<Vec<String>>,
        reason: HoldReason,
    ) {
        self.plan.held.push(Held {
            kind,
            update,
            group_path: path,
            reason,
        });
    }

    fn approval(&mut self, approval: &super::state::Approval) {
        let id = &approval.update_id;
        let path = (self.carried_groups.path(&approval.group_id))
            .unwrap_or_else(|| approval.group_path.clone());
        let name = self.name(id);
        let kind = HeldKind::Approval;
        if let Some(reason) = self.update_problem(id) {
            return self.hold(kind, name, Some(path), reason);
        }
        if let Some(gap) = self.incomplete.get(id.as_str()) {
            let gap = (*gap).clone();
            return self.hold(kind, gap, Some(path), HoldReason::ContentMissing);
        }
        let facts = self.inputs.server.update(id).expect("checked above");
        if facts.declined {
            return self.hold(kind, name, Some(path), HoldReason::DeclinedHere);
        }
        let placed = groups::place(
            &approval.group_id,
            &self.carried_groups,
            &approval.group_path,
            &self.server_groups,
        );
        let group = match placed {
            Placed::Missing => return self.hold(kind, name, Some(path), HoldReason::GroupMissing),
            Placed::Exists(group_id) => {
                if let Some(existing) = self.existing(id, &group_id) {
                    if ApprovalAction::from_wsus(existing) == Some(approval.action) {
                        self.plan.present.approvals += 1;
                        return;
                    }
                    let existing = existing.to_owned();
                    let reason = HoldReason::ApprovedDifferently { existing };
                    return self.hold(kind, name, Some(path), reason);
                }
                GroupRef::Existing(group_id)
            }
            Placed::Creatable { under, names } => self.create(under, &names, &path),
        };
        self.plan.approvals.push(PlannedApproval {
            update: name,
            group_path: path,
            group,
            action: approval.action,
            deadline: approval.deadline,
            optional: approval.optional,
            accept_licence: facts.requires_licence,
        });
    }

    /// The receiving server's approval action of update `id` for group `group`, if any.
    fn existing(&self, id: &Guid, group: &Guid) -> Option<&'a str> {
        self.server_approvals.get(&(id, group)).copied()
    }

    /// The groups to make so that `names` exist under `under`: the last one's reference.
    fn create(&mut self, under: Guid, names: &[String], path: &[String]) -> GroupRef {
        let mut parent = GroupRef::Existing(under);
        let first = path.len() - names.len();
        for (index, name) in names.iter().enumerate() {
            let slot = (parent.clone(), name.to_lowercase());
            let key = match self.created.get(&slot) {
                Some(key) => key.clone(),
                None => {
                    let key = format!("group-{}", self.created.len() + 1);
                    self.plan.create_groups.push(GroupToCreate {
                        key: key.clone(),
                        name: name.clone(),
                        path: path[..=first + index].to_vec(),
                        parent: parent.clone(),
                    });
                    self.created.insert(slot, key.clone());
                    key
                }
            };
            parent = GroupRef::Created(key);
        }
        parent
    }

    fn decline(&mut self, id: &Guid) {
        let name = self.name(id);
        let kind = HeldKind::Decline;
        if let Some(reason) = self.update_problem(id) {
            return self.hold(kind, name, None, reason);
        }
        let facts = self.inputs.server.update(id).expect("checked above");
        if facts.declined {
            self.plan.present.declines += 1;
            return;
        }
        let approved = (self.server_approvals.keys()).any(|(update, _)| *update == id);
        if approved {
            return self.hold(kind, name, None, HoldReason::ApprovedHere);
        }
        self.plan.declines.push(name);
    }
}

/// By KB number (as a number), then title, then id; updates without a KB number last: the
/// order `check` lists updates in.
fn report_order(a: &UpdateGap, b: &UpdateGap) -> std::cmp::Ordering {
    let key = |gap: &UpdateGap| {
        (
            gap.kb.is_none(),
            gap.kb.as_ref().map(|kb| (kb.len(), kb.clone())),
            gap.title.clone(),
            gap.id.clone(),
        )
    };
    key(a).cmp(&key(b))
}

/// An update named as reports name it, with no files.
fn named(id: &str, revision: u32, kb: &Option<String>, title: &Option<String>) -> UpdateGap {
    UpdateGap {
        id: id.to_ascii_lowercase(),
        revision,
        kb: kb.clone(),
        title: title.clone(),
        files: Vec::new(),
        absent_updates: Vec::new(),
    }
}

/// Which way the plan's lines are worded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// Shown, not carried out: `would approve`.
    Planned,
    /// Carried out: `approved`.
    Applied,
}

/// The plan in lines: groups, approvals, declines, then what is held back and why.
#[derive(Debug, Clone, Copy)]
pub struct PlanLines<'a> {
    pub plan: &'a Plan,
    pub wording: Wording,
}

impl fmt::Display for PlanLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let planned = self.wording == Wording::Planned;
        let verb = |planned_verb: &'static str, done: &'static str| {
            if planned { planned_verb } else { done }
        };
        for group in &self.plan.create_groups {
            writeln!(
                f,
                "{}: {}",
                verb("would create group", "created group"),
                group.path.join("/")
            )?;
        }
        for approval in &self.plan.approvals {
            write!(
                f,
                "{}: {} for {} ({}",
                verb("would approve", "approved"),
                approval.update,
                approval.group_path.join("/"),
                approval.action
            )?;
            if let Some(deadline) = approval.deadline {
                write!(f, ", deadline {deadline}")?;
            }
            if approval.optional {
                f.write_str(", optional")?;
            }
            if approval.accept_licence {
                f.write_str(verb(", licence to accept", ", licence accepted"))?;
            }
            writeln!(f, ")")?;
        }
        for update in &self.plan.declines {
            writeln!(f, "{}: {update}", verb("would decline", "declined"))?;
        }
        for held in &self.plan.held {
            let what = match held.kind {
                HeldKind::Approval => "approval",
                HeldKind::Decline => "decline",
            };
            write!(f, "held back: {what} of {}", held.update)?;
            if let Some(path) = held.group_path.as_ref().filter(|path| !path.is_empty()) {
                write!(f, " for {}", path.join("/"))?;
            }
            writeln!(f, ": {}", held.reason)?;
            for file in &held.update.files {
                writeln!(f, "  lacks {file}")?;
            }
            for update in &held.update.absent_updates {
                writeln!(f, "  bundles update {update}, which the package lacks")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{Container, Export, FileRef};
    use crate::wsus::server::{ServerApproval, UpdateFacts};
    use crate::wsus::state::{Approval, Group, ServerFacts};

    const ALL: &str = "a0a08746-4dbe-4a37-9adf-9e7652c0b421";
    const KIOSKS: &str = "11111111-1111-4111-8111-111111111111";

    fn guid(text: &str) -> Guid {
        Guid::parse(text).unwrap()
    }

    /// Update number `n`: id `0000000n-...`, KB `500000n`, one file.
    fn id(n: u8) -> String {
        format!("0000000{n}-0000-4000-8000-000000000000")
    }

    fn package(updates: &[u8]) -> Package {
        Package {
            container: Container::Cab,
            export: Export::default(),
            updates: (updates.iter())
                .map(|&n| Update {
                    id: id(n),
                    revision: 1,
                    kind: "Software".to_owned(),
                    kb: Some(format!("500000{n}")),
                    title: Some(format!("Update {n}")),
                    files: vec![FileRef {
                        sha1: crate::content::Sha1Digest([n; 20]),
                        name: format!("update{n}.cab"),
                        size: Some(10),
                        modified: None,
                        patching_type: None,
                        sha256: None,
                    }],
                    bundled: Vec::new(),
                })
                .collect(),
        }
    }

    fn facts() -> ServerFacts {
        ServerFacts {
            name: String::new(),
            version: "10.0.17763.678".to_owned(),
            all_languages: false,
            languages: vec!["en".to_owned()],
            express_files: false,
            products: Vec::new(),
            classifications: Vec::new(),
        }
    }

    fn all_computers() -> Group {
        Group {
            id: guid(ALL),
            name: "All Computers".to_owned(),
            parent: None,
        }
    }

    fn carried(approvals: &[(u8, &str)]) -> WsusState {
        WsusState {
            format_version: 1,
            server: facts(),
            groups: vec![
                all_computers(),
                Group {
                    id: guid(KIOSKS),
                    name: "Kiosks".to_owned(),
                    parent: Some(guid(ALL)),
                },
            ],
            approvals: (approvals.iter())
                .map(|&(n, group)| Approval {
                    update_id: guid(&id(n)),
                    revision: 1,
                    group_id: guid(group),
                    group_path: Vec::new(),
                    action: ApprovalAction::Install,
                    deadline: None,
                    optional: false,
                })
                .collect(),
            declines: Vec::new(),
        }
    }

    /// The receiving server: All Computers, updates `have` (`licensed` ones needing their
    /// licence accepted, `declined` ones declined), and `approved` (update, action) for All
    /// Computers.
    fn server(
        have: &[u8],
        licensed: &[u8],
        declined: &[u8],
        approved: &[(u8, &str)],
    ) -> ServerRead {
        ServerRead {
            format_version: 1,
            server: facts(),
            groups: vec![all_computers()],
            approvals: (approved.iter())
                .map(|&(n, action)| ServerApproval {
                    update_id: guid(&id(n)),
                    revision: 1,
                    group_id: guid(ALL),
                    action: action.to_owned(),
                    deadline: None,
                    optional: false,
                    state: "Active".to_owned(),
                })
                .collect(),
            declines: Vec::new(),
            updates: (have.iter())
                .map(|&n| UpdateFacts {
                    id: guid(&id(n)),
                    found: true,
                    revision: Some(1),
                    title: None,
                    kb: Vec::new(),
                    requires_licence: licensed.contains(&n),
                    declined: declined.contains(&n),
                    state: None,
                })
                .collect(),
        }
    }

    fn reasons(plan: &Plan) -> Vec<(String, HoldReason)> {
        (plan.held.iter())
            .map(|held| (held.update.id.clone(), held.reason.clone()))
            .collect()
    }

    #[test]
    fn approvals_present_are_left_alone_and_no_approval_is_changed_or_undeclined() {
        let carried = carried(&[(1, ALL), (2, ALL), (3, ALL), (4, ALL)]);
        let package = package(&[1, 2, 3, 4]);
        // 1 approved alike, 2 approved for removal, 3 declined here, 4 not on the server.
        let server = server(&[1, 2, 3], &[], &[3], &[(1, "Install"), (2, "Uninstall")]);
        let inputs = PlanInputs {
            carried: &carried,
            package: &package,
            incomplete: &[],
            server: &server,
        };
        let plan = plan(&inputs);
        assert!(plan.is_empty(), "{plan:#?}");
        assert_eq!(plan.present.approvals, 1);
        assert_eq!(
            reasons(&plan),
            [
                (
                    id(2),
                    HoldReason::ApprovedDifferently {
                        existing: "Uninstall".to_owned()
                    }
                ),
                (id(3), HoldReason::DeclinedHere),
                (id(4), HoldReason::NotOnServer),
            ]
        );
    }

    #[test]
    fn licences_are_accepted_for_approved_updates_only_and_a_group_is_made_once() {
        let carried = carried(&[(1, KIOSKS), (2, KIOSKS), (3, ALL)]);
        let package = package(&[1, 2, 3]);
        let server = server(&[1, 2, 3], &[1, 3], &[], &[]);
        let incomplete = [UpdateGap {
            id: id(3),
            revision: 1,
            kb: None,
            title: None,
            files: vec!["03/x.cab".to_owned()],
            absent_updates: Vec::new(),
        }];
        let inputs = PlanInputs {
            carried: &carried,
            package: &package,
            incomplete: &incomplete,
            server: &server,
        };
        let plan = plan(&inputs);
        assert_eq!(plan.create_groups.len(), 1, "{plan:#?}");
        assert_eq!(plan.create_groups[0].path, ["All Computers", "Kiosks"]);
        let script = plan.to_script();
        // 3 needs its licence too, but is held back for its content: not accepted.
        assert_eq!(script.accept_licences, [guid(&id(1))]);
        assert_eq!(script.approve.len(), 2);
        for step in &script.approve {
            assert_eq!(step.group_key.as_deref(), Some("group-1"));
        }
        assert_eq!(reasons(&plan), [(id(3), HoldReason::ContentMissing)]);
        assert_eq!(plan.held[0].update.files, ["03/x.cab"]);
    }
}
