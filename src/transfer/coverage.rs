//! Which updates a set of absent content files would break: the names an operator needs
//! instead of file hashes.
//!
//! WSUS shows "Failed to download" for an approved update when any file it needs, its own or
//! those of the updates it bundles, is not in the content folder.

use std::collections::HashSet;

use serde::Serialize;

use crate::manifest::FileEntry;
use crate::manifest::relpath::fold_case;
use crate::package::{Package, Update};

/// An update that would fail to download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateAtRisk {
    pub id: String,
    pub kb: Option<String>,
    pub title: Option<String>,
    /// The absent files it needs, sorted.
    pub files: Vec<String>,
}

/// The updates of `package` that need any of `absent` (content paths), latest revision of
/// each, sorted by title then id.
pub fn updates_needing(package: &Package, absent: &[String]) -> Vec<UpdateAtRisk> {
    let absent: HashSet<String> = absent.iter().map(|path| fold_case(path)).collect();
    let mut seen = HashSet::new();
    let mut at_risk = Vec::new();
    // Latest revisions come last in the package: walk backwards, keep the first of each id.
    for update in package.updates.iter().rev() {
        if !seen.insert(update.id.as_str()) {
            continue;
        }
        let mut files: Vec<String> = needed_files(package, update, &mut HashSet::new())
            .into_iter()
            .filter(|path| absent.contains(&fold_case(path)))
            .collect();
        if files.is_empty() {
            continue;
        }
        files.sort();
        files.dedup();
        at_risk.push(UpdateAtRisk {
            id: update.id.clone(),
            kb: update.kb.clone(),
            title: update.title.clone(),
            files,
        });
    }
    at_risk.sort_by(|a, b| (&a.title, &a.id).cmp(&(&b.title, &b.id)));
    at_risk
}

/// Content paths the package references that the manifest does not list.
pub fn unlisted_references(package: &Package, entries: &[FileEntry]) -> Vec<String> {
    let listed: HashSet<String> = entries.iter().map(|entry| entry.path.folded()).collect();
    let mut unlisted: Vec<String> = package
        .updates
        .iter()
        .flat_map(|update| &update.files)
        .map(|file| file.content_path())
        .filter(|path| !listed.contains(&fold_case(path)))
        .collect();
    unlisted.sort();
    unlisted.dedup();
    unlisted
}

/// The content paths `update` needs: its own files and, at any depth, its bundled updates'.
fn needed_files<'a>(
    package: &'a Package,
    update: &'a Update,
    visited: &mut HashSet<&'a str>,
) -> Vec<String> {
    if !visited.insert(update.id.as_str()) {
        return Vec::new();
    }
    let mut files: Vec<String> = update
        .files
        .iter()
        .map(|file| file.content_path())
        .collect();
    for id in &update.bundled {
        if let Some(bundled) = package.updates.iter().rev().find(|u| &u.id == id) {
            files.extend(needed_files(package, bundled, visited));
        }
    }
    files
}
