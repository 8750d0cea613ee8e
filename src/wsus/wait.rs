//! Waiting for WSUS to see the content: after an import, WSUS checks the files its approved
//! updates need and marks each approval active once they are there. This polls the server
//! until every approved update is ready, or a time limit passes, and names those that are
//! not, as `check` names updates.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::script::{PowerShell, ScriptError};
use super::server::ServerRead;
use super::state::{ApprovalAction, Guid};
use crate::check::UpdateGap;
use crate::package::Package;

/// How long to wait, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub timeout: Duration,
    pub interval: Duration,
}

/// Where an approved update's files are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readiness {
    Ready,
    /// WSUS is still checking or fetching them.
    Downloading,
    /// WSUS failed to get them.
    Failed,
}

/// An approved update whose files are not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotReady {
    pub update: UpdateGap,
    pub state: Readiness,
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waited {
    /// Updates approved for installation on the server.
    pub approved: usize,
    /// Those whose files were not ready when the wait ended; empty: all ready.
    pub not_ready: Vec<NotReady>,
    /// How many times the server was read.
    pub polls: u32,
    pub seconds: u64,
}

impl Waited {
    pub fn is_ready(&self) -> bool {
        self.not_ready.is_empty()
    }
}

impl std::fmt::Display for Waited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for update in &self.not_ready {
            let state = match update.state {
                Readiness::Ready => "ready",
                Readiness::Downloading => "not ready",
                Readiness::Failed => "failed to download",
            };
            writeln!(f, "{state}: {}", update.update)?;
        }
        if self.is_ready() {
            writeln!(
                f,
                "wait: all {} approved updates ready after {} s",
                self.approved, self.seconds
            )
        } else {
            writeln!(
                f,
                "wait: {} of {} approved updates not ready after {} s",
                self.not_ready.len(),
                self.approved,
                self.seconds
            )
        }
    }
}

/// The approved updates (for installation) of `read` and those not ready, named from the
/// package where it has them.
pub fn readiness(read: &ServerRead, package: Option<&Package>) -> (usize, Vec<NotReady>) {
    let mut approved: BTreeMap<&Guid, bool> = BTreeMap::new();
    for approval in &read.approvals {
        if ApprovalAction::from_wsus(&approval.action) != Some(ApprovalAction::Install) {
            continue;
        }
        let active = approval.state.eq_ignore_ascii_case("active");
        *approved.entry(&approval.update_id).or_insert(true) &= active;
    }
    let mut not_ready: Vec<NotReady> = approved
        .iter()
        .filter_map(|(id, active)| {
            let facts = read.update(id);
            let failed = facts
                .and_then(|facts| facts.state.as_deref())
                .is_some_and(|state| state.to_ascii_lowercase().contains("fail"));
            let state = match (failed, active) {
                (true, _) => Readiness::Failed,
                (false, true) => return None,
                (false, false) => Readiness::Downloading,
            };
            Some(NotReady {
                update: name(id, read, package),
                state,
            })
        })
        .collect();
    not_ready.sort_by(|a, b| {
        (&a.update.kb, &a.update.title, &a.update.id).cmp(&(
            &b.update.kb,
            &b.update.title,
            &b.update.id,
        ))
    });
    (approved.len(), not_ready)
}

/// Update `id` named from the package's latest revision, else from the server.
fn name(id: &Guid, read: &ServerRead, package: Option<&Package>) -> UpdateGap {
    let in_package = package.and_then(|package| {
        (package.updates.iter())
            .filter(|update| update.id.eq_ignore_ascii_case(id.as_str()))
            .max_by_key(|update| update.revision)
    });
    let facts = read.update(id);
    UpdateGap {
        id: id.to_string(),
        revision: in_package
            .map(|update| update.revision)
            .or(facts.and_then(|facts| facts.revision))
            .unwrap_or_default(),
        kb: in_package
            .and_then(|update| update.kb.clone())
            .or(facts.and_then(|facts| facts.kb.first().cloned())),
        title: in_package
            .and_then(|update| update.title.clone())
            .or(facts.and_then(|facts| facts.title.clone())),
        files: Vec::new(),
        absent_updates: Vec::new(),
    }
}

/// Reads the server every `interval` until every approved update is ready or `timeout`
/// has passed; `polled` hears of each read.
pub fn wait(
    powershell: &PowerShell,
    package: Option<&Package>,
    options: WaitOptions,
    polled: &dyn Fn(&Waited),
) -> Result<Waited, ScriptError> {
    let started = Instant::now();
    let mut polls = 0;
    loop {
        let read = powershell.read(&[], true)?;
        polls += 1;
        let (approved, not_ready) = readiness(&read, package);
        let waited = Waited {
            approved,
            not_ready,
            polls,
            seconds: started.elapsed().as_secs(),
        };
        polled(&waited);
        if waited.is_ready() || started.elapsed() + options.interval > options.timeout {
            return Ok(waited);
        }
        std::thread::sleep(options.interval);
    }
}
