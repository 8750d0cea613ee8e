//! The data of `audit`'s report: what `--json` serialises, so that the HTML report reads the
//! same structure and the two never disagree.

use serde::Serialize;

use super::{Audit, Finding, Severity, Totals};

/// The report (`result`: `clean`, or `problems`): stable field order, findings sorted by path.
#[derive(Debug, Serialize)]
pub struct AuditReport<'a> {
    pub root: String,
    pub result: &'static str,
    pub errors: usize,
    pub warnings: usize,
    pub findings: &'a [Finding],
    pub totals: &'a Totals,
}

impl<'a> AuditReport<'a> {
    pub fn new(audit: &'a Audit) -> Self {
        AuditReport {
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
        }
    }
}
