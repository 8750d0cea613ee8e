//! The data of the `mirror` command's report: what `--json` serialises, built from the plan
//! and what the run did.

use serde::Serialize;

use super::{Action, Applied, Deletions, Plan, Rejected};

/// The report (`result`: `planned` for a dry run, `done`, `refused` when files were rejected
/// or deletions braked, `error` when the run stopped).
#[derive(Debug, Serialize)]
pub struct MirrorReport<'a> {
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub plan: &'a Plan,
    pub dry_run: bool,
    pub run: Option<RunReport<'a>>,
}

/// What the run did.
#[derive(Debug, Serialize)]
pub struct RunReport<'a> {
    pub done: &'a [Action],
    pub rejected: &'a [Rejected],
    pub deletions: &'a Deletions,
    pub stopped: Option<String>,
    pub complete: bool,
}

impl<'a> MirrorReport<'a> {
    /// The report of `plan`, and of its run if it was `applied`.
    pub fn new(plan: &'a Plan, applied: Option<&'a Applied>) -> Self {
        let stopped = applied.and_then(|applied| applied.stopped.as_ref());
        MirrorReport {
            result: match applied {
                None => "planned",
                Some(_) if stopped.is_some() => "error",
                Some(applied) if applied.is_complete() => "done",
                Some(_) => "refused",
            },
            error: stopped.map(ToString::to_string),
            plan,
            dry_run: applied.is_none(),
            run: applied.map(|applied| RunReport {
                done: &applied.done,
                rejected: &applied.rejected,
                deletions: &applied.deletions,
                stopped: stopped.map(ToString::to_string),
                complete: applied.is_complete(),
            }),
        }
    }
}
