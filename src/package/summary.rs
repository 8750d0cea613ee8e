//! What `inspect` reports of an export package: who exported it, when, in which languages,
//! and how many updates and files it references, before anyone imports it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::{Language, Package};

/// The facts `inspect` reports, in the order it reports them.
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    pub package: String,
    /// Always `read`: the package was read whole.
    pub result: &'static str,
    pub container: &'static str,
    pub server_id: &'a str,
    pub creation_time: &'a str,
    pub format_version: &'a str,
    pub protocol_version: &'a str,
    pub languages: &'a [Language],
    pub enabled_languages: Vec<&'a str>,
    pub updates: u64,
    pub updates_by_type: BTreeMap<&'a str, u64>,
    pub file_references: u64,
    pub distinct_files: u64,
    pub distinct_file_bytes: u64,
}

impl<'a> Summary<'a> {
    /// The summary of `package`, read from `path`.
    pub fn of(path: &Path, package: &'a Package) -> Self {
        let mut updates_by_type: BTreeMap<&str, u64> = BTreeMap::new();
        for update in &package.updates {
            let kind = if update.kind.is_empty() {
                "unknown"
            } else {
                &update.kind
            };
            *updates_by_type.entry(kind).or_default() += 1;
        }
        let references = package.updates.iter().flat_map(|u| &u.files);
        let mut distinct = BTreeSet::new();
        let mut distinct_file_bytes = 0;
        for file in references.clone() {
            if distinct.insert(file.sha1) {
                distinct_file_bytes += file.size.unwrap_or(0);
            }
        }
        Summary {
            package: path.display().to_string(),
            result: "read",
            container: package.container.describe(),
            server_id: &package.export.server_id,
            creation_time: &package.export.creation_time,
            format_version: &package.export.format_version,
            protocol_version: &package.export.protocol_version,
            languages: &package.export.languages,
            enabled_languages: package
                .export
                .languages
                .iter()
                .filter(|l| l.enabled)
                .map(|l| l.short_name.as_str())
                .collect(),
            updates: package.updates.len() as u64,
            updates_by_type,
            file_references: references.count() as u64,
            distinct_files: distinct.len() as u64,
            distinct_file_bytes,
        }
    }
}
