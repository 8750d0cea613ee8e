//! Completeness: does a WsusContent folder hold every file an export package's updates need?
//!
//! This is the check that prevents "Failed to download" after an import: metadata arrived,
//! files did not. It joins a [`Package`] with an [`Audit`] of the content folder. For each
//! update (its latest revision, which is what an approval installs), the files it needs are
//! its own and, through bundles, those of the updates it bundles. Each needed file is present
//! and intact (SHA-1 from its name, size from the metadata), missing, corrupt or unreadable.
//! Gaps are grouped by update; updates bundled by another are reported through their bundle,
//! as WSUS shows and approves the bundle. Given the approved list, only approved updates with
//! gaps fail the check; the rest is information. A bundled update the package lacks is a
//! gap of its bundle, since its content cannot be known. Content files no update references
//! are orphans.

mod approved;
pub mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;

use serde::Serialize;

pub use approved::{Approved, ApprovedError, read_approved};

use crate::content::audit::judge;
use crate::content::layout::classify;
use crate::content::{Audit, ContentName, Entry, FindingKind, Placement, Severity, Sha1Digest};
use crate::package::{Container, FileRef, Package, Update};
use crate::relpath::fold_case;

/// What was found for one needed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum FileState {
    /// Present, and its SHA-1 and size are the ones the metadata gives.
    Present,
    /// An `.esd` file whose SHA-1 differs from its name: WSUS may decrypt `.esd` files in
    /// place, so this is a warning, as in the audit.
    EsdMismatch { actual_sha1: Sha1Digest },
    /// Not where WSUS looks; `misplaced_at` names a copy found elsewhere in the folder.
    Missing { misplaced_at: Option<String> },
    /// Present with other bytes: the SHA-1 or the size differs (an empty file is corrupt).
    Corrupt {
        actual_sha1: Sha1Digest,
        actual_size: u64,
    },
    /// Present but could not be read.
    Unreadable { error: String },
}

impl FileState {
    /// True when WSUS would fail to serve the file.
    pub fn is_gap(&self) -> bool {
        matches!(
            self,
            FileState::Missing { .. } | FileState::Corrupt { .. } | FileState::Unreadable { .. }
        )
    }

    /// The short name used in reports (`missing`, `corrupt`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            FileState::Present => "present",
            FileState::EsdMismatch { .. } => "esd-mismatch",
            FileState::Missing { .. } => "missing",
            FileState::Corrupt { .. } => "corrupt",
            FileState::Unreadable { .. } => "unreadable",
        }
    }
}

/// One file some update needs, and what the content folder holds for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// Where WSUS looks for it: `XX/<SHA-1>.<ext>`.
    pub path: String,
    pub sha1: Sha1Digest,
    /// The file name in the metadata.
    pub name: String,
    /// The size in the metadata, if given.
    pub size: Option<u64>,
    #[serde(flatten)]
    pub state: FileState,
}

/// `state: path (name, N bytes)`, and what was found where it says more.
impl std::fmt::Display for FileCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::HumanCount;
        let size = self.size.map_or(String::new(), |size| {
            format!(", {} bytes", HumanCount(size))
        });
        write!(
            f,
            "{}: {} ({}{size})",
            self.state.name(),
            self.path,
            self.name
        )?;
        match &self.state {
            FileState::Missing {
                misplaced_at: Some(at),
            } => write!(f, ": a copy sits at {at}, outside the folder WSUS looks in"),
            FileState::Corrupt {
                actual_sha1,
                actual_size,
            } => write!(
                f,
                ": found SHA-1 {actual_sha1}, {} bytes",
                HumanCount(*actual_size)
            ),
            FileState::Unreadable { error } => write!(f, ": {error}"),
            _ => Ok(()),
        }
    }
}

/// An update some of whose needed files are not served intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateGap {
    pub id: String,
    pub revision: u32,
    pub kb: Option<String>,
    pub title: Option<String>,
    /// Paths of its needed files that are missing, corrupt or unreadable, sorted.
    pub files: Vec<String>,
    /// Bundled updates (at any depth) the package does not contain, so their content cannot
    /// be known; sorted.
    pub absent_updates: Vec<String>,
}

/// `KB5040034 Title [update <id>, revision 1]`: how every report names an update.
impl std::fmt::Display for UpdateGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(kb) = &self.kb {
            write!(f, "KB{kb} ")?;
        }
        let title = self.title.as_deref().unwrap_or("(no title)");
        write!(
            f,
            "{title} [update {}, revision {}]",
            self.id, self.revision
        )
    }
}

/// A content file that no update in the package references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orphan {
    pub path: String,
    pub size: u64,
}

/// Counts for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckTotals {
    /// Distinct update ids in the package.
    pub updates: usize,
    /// Updates (latest revisions) that need at least one file, directly or through bundles.
    pub updates_needing_content: usize,
    /// Distinct files those updates need, and their size per the metadata.
    pub files: usize,
    pub bytes: u64,
    pub present: usize,
    pub missing: usize,
    pub corrupt: usize,
    pub unreadable: usize,
    pub esd_mismatch: usize,
    pub orphans: usize,
    pub orphan_bytes: u64,
    /// Audit errors about files the package does not need (corrupt orphans, misplaced
    /// files, unreadable entries): `wsus-airgap audit` lists them.
    pub other_content_problems: usize,
}

/// The result of a completeness check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Whether the package had `metadata.txt`. Without it, file names, sizes and bundles are
    /// unknown and files are matched by SHA-1 alone.
    pub metadata: bool,
    /// Whether an approved list was given; it changes what fails.
    pub approved_list: bool,
    /// Updates that will show "Failed to download" once approved: every update with a gap,
    /// or, with an approved list, the approved ones.
    pub failing: Vec<UpdateGap>,
    /// With an approved list: updates with gaps that are not approved (information).
    pub not_approved: Vec<UpdateGap>,
    /// Approved ids the package does not contain (they cannot be checked).
    pub approved_not_in_package: Vec<String>,
    /// Every needed file, sorted by path.
    pub files: Vec<FileCheck>,
    pub orphans: Vec<Orphan>,
    pub totals: CheckTotals,
}

/// The verdict: complete, or how many updates lack content.
impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::HumanCount;
        let lacking = |count: usize, one: &str, many: &str| {
            if count == 1 {
                format!("1 {one} lacks content")
            } else {
                format!("{} {many} lack content", HumanCount(count as u64))
            }
        };
        let (failing, other) = (self.failing.len(), self.not_approved.len());
        let unchecked = self.approved_not_in_package.len();
        let text: String = match (self.approved_list, failing, other) {
            (true, 0, 0) if unchecked > 0 => format!(
                "complete for the approved updates in the package; {} approved {} not in it",
                HumanCount(unchecked as u64),
                if unchecked == 1 {
                    "update is"
                } else {
                    "updates are"
                }
            ),
            (false, 0, _) | (true, 0, 0) => {
                "complete: every update's content is present and intact".into()
            }
            (false, _, _) => lacking(failing, "update", "updates"),
            (true, 0, _) => format!(
                "complete for the approved updates{}; {}",
                if unchecked > 0 { " in the package" } else { "" },
                lacking(other, "update not approved", "updates not approved")
            ),
            (true, _, 0) => lacking(failing, "approved update", "approved updates"),
            (true, _, _) => format!(
                "{}; {}",
                lacking(failing, "approved update", "approved updates"),
                lacking(other, "update not approved", "updates not approved")
            ),
        };
        f.write_str(&text)
    }
}

/// The end of `check`'s report: what was checked against what, the counts, notes, and the
/// verdict.
pub struct Summary<'a> {
    pub check: &'a Check,
    pub package: &'a std::path::Path,
    pub content: &'a std::path::Path,
}

impl std::fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        let check = self.check;
        let totals = &check.totals;
        writeln!(
            f,
            "checked {}: {} updates, {} need content: {} files, {}",
            self.package.display(),
            HumanCount(totals.updates as u64),
            HumanCount(totals.updates_needing_content as u64),
            HumanCount(totals.files as u64),
            HumanBytes(totals.bytes)
        )?;
        let mut states = vec![format!(
            "{} present and intact",
            HumanCount(totals.present as u64)
        )];
        for (count, name) in [
            (totals.missing, "missing"),
            (totals.corrupt, "corrupt"),
            (totals.unreadable, "unreadable"),
            (totals.esd_mismatch, "esd-mismatch"),
        ] {
            if count > 0 {
                states.push(format!("{} {name}", HumanCount(count as u64)));
            }
        }
        writeln!(
            f,
            "against {}: {}; {} {} ({})",
            self.content.display(),
            states.join(", "),
            HumanCount(totals.orphans as u64),
            if totals.orphans == 1 {
                "orphan"
            } else {
                "orphans"
            },
            HumanBytes(totals.orphan_bytes)
        )?;
        if !check.metadata {
            writeln!(
                f,
                "note: the package holds no metadata.txt: file names, sizes and bundles are \
                 unknown, so files are matched by SHA-1 alone"
            )?;
        }
        if totals.other_content_problems > 0 {
            writeln!(
                f,
                "note: the folder has {} other {} that this package does not need; \
                 `wsus-airgap audit {}` lists {}",
                totals.other_content_problems,
                if totals.other_content_problems == 1 {
                    "problem"
                } else {
                    "problems"
                },
                self.content.display(),
                if totals.other_content_problems == 1 {
                    "it"
                } else {
                    "them"
                }
            )?;
        }
        writeln!(f, "result: {check}")
    }
}

impl Check {
    /// True when no update that matters lacks content.
    pub fn passed(&self) -> bool {
        self.failing.is_empty()
    }

    /// The check of the file WSUS looks for at `path`.
    pub fn file(&self, path: &str) -> Option<&FileCheck> {
        self.files
            .binary_search_by(|file| file.path.as_str().cmp(path))
            .ok()
            .map(|index| &self.files[index])
    }
}

/// Checks the audited content folder against the package.
pub fn compare(package: &Package, audit: &Audit, approved: Option<&Approved>) -> Check {
    let latest = latest_revisions(package);
    let content = ContentIndex::new(audit);

    // What every update needs, following bundles.
    let needs: BTreeMap<&str, Needed> = latest
        .keys()
        .map(|&id| (id, files_needed(id, &latest)))
        .collect();
    let files = check_needed_files(&needs, &content);
    let gaps = gaps_by_update(&needs, &files);
    let reported = reported_gaps(&gaps, &latest, approved);
    let (failing, not_approved) = split_by_approval(reported, &latest, approved);
    let approved_not_in_package = approved
        .map(|a| {
            a.ids
                .iter()
                .filter(|id| !latest.contains_key(id.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let orphans = find_orphans(package, &content);
    let files: Vec<FileCheck> = files.into_values().collect();
    let count = |name: &str| files.iter().filter(|f| f.state.name() == name).count();
    let totals = CheckTotals {
        updates: latest.len(),
        updates_needing_content: needs.values().filter(|n| !n.files.is_empty()).count(),
        files: files.len(),
        bytes: files.iter().filter_map(|f| f.size).sum(),
        present: count("present"),
        missing: count("missing"),
        corrupt: count("corrupt"),
        unreadable: count("unreadable"),
        esd_mismatch: count("esd-mismatch"),
        orphans: orphans.len(),
        orphan_bytes: orphans.iter().map(|o| o.size).sum(),
        other_content_problems: other_content_problems(audit, &files),
    };
    Check {
        metadata: package.container != Container::GzipXml,
        approved_list: approved.is_some(),
        failing,
        not_approved,
        approved_not_in_package,
        files,
        orphans,
        totals,
    }
}

/// True when the approved list, if there is one, approves the update `id`.
fn is_approved(approved: Option<&Approved>, id: &str) -> bool {
    approved.is_some_and(|a| a.ids.contains(id))
}

/// Every file some update needs, by content path, with what the content folder holds for it.
fn check_needed_files<'n>(
    needs: &'n BTreeMap<&str, Needed>,
    content: &ContentIndex,
) -> BTreeMap<&'n str, FileCheck> {
    let mut files: BTreeMap<&str, FileCheck> = BTreeMap::new();
    for (path, reference) in needs.values().flat_map(|needed| needed.files.iter()) {
        files.entry(path.as_str()).or_insert_with(|| FileCheck {
            path: path.clone(),
            sha1: reference.sha1,
            name: reference.name.clone(),
            size: reference.size,
            state: content.state_of(path, reference),
        });
    }
    files
}

/// The gaps of every update that has any. A gap is a needed file not served intact, or a
/// bundled update the package lacks (its content cannot be known, so it counts against the
/// bundle).
fn gaps_by_update<'a, 'n>(
    needs: &'n BTreeMap<&'a str, Needed>,
    files: &BTreeMap<&str, FileCheck>,
) -> BTreeMap<&'a str, Vec<Gap<'n>>> {
    needs
        .iter()
        .map(|(&id, needed)| {
            // Files, then absent updates, each sorted and once: in `Gap`'s order already.
            let files = (needed.files.iter())
                .filter(|(path, _)| files[path.as_str()].state.is_gap())
                .map(|(path, _)| Gap::File(path));
            let updates = needed.absent_updates.iter().map(|id| Gap::Update(id));
            (id, files.chain(updates).collect::<Vec<Gap>>())
        })
        .filter(|(_, gaps)| !gaps.is_empty())
        .collect()
}

/// The updates through which `gaps` are reported. Bundled updates are reported through their
/// bundle, unless approved by name. A gap no reported update covers (bundles that bundle each
/// other) is reported through every update that has it, so that no gap ever goes unreported.
fn reported_gaps<'a, 'g, 'n>(
    gaps: &'g BTreeMap<&'a str, Vec<Gap<'n>>>,
    latest: &BTreeMap<&str, &Update>,
    approved: Option<&Approved>,
) -> BTreeMap<&'a str, &'g [Gap<'n>]> {
    let bundled: BTreeSet<&str> = latest
        .values()
        .flat_map(|update| update.bundled.iter().map(String::as_str))
        .collect();
    let mut reported: BTreeMap<&str, &[Gap<'n>]> = gaps
        .iter()
        .filter(|(id, _)| !bundled.contains(**id) || is_approved(approved, id))
        .map(|(&id, gaps)| (id, gaps.as_slice()))
        .collect();
    let covered: BTreeSet<&Gap> = reported.values().copied().flatten().collect();
    for (&id, gaps) in gaps {
        if gaps.iter().any(|gap| !covered.contains(gap)) {
            reported.entry(id).or_insert(gaps.as_slice());
        }
    }
    reported
}

/// The reported updates with their gaps, as failing and (with an approved list, for updates
/// it does not approve) not approved, each in report order.
fn split_by_approval(
    reported: BTreeMap<&str, &[Gap<'_>]>,
    latest: &BTreeMap<&str, &Update>,
    approved: Option<&Approved>,
) -> (Vec<UpdateGap>, Vec<UpdateGap>) {
    let (mut failing, mut not_approved) = (Vec::new(), Vec::new());
    for (id, gaps) in reported {
        let update = latest[id];
        let mut gap = UpdateGap {
            id: update.id.clone(),
            revision: update.revision,
            kb: update.kb.clone(),
            title: update.title.clone(),
            files: Vec::new(),
            absent_updates: Vec::new(),
        };
        for item in gaps {
            match item {
                Gap::File(path) => gap.files.push((*path).to_owned()),
                Gap::Update(id) => gap.absent_updates.push((*id).to_owned()),
            }
        }
        if approved.is_none() || is_approved(approved, id) {
            failing.push(gap);
        } else {
            not_approved.push(gap);
        }
    }
    failing.sort_by(report_order);
    not_approved.sort_by(report_order);
    (failing, not_approved)
}

/// In-place content files whose SHA-1 no update of the package references, sorted by path.
fn find_orphans(package: &Package, content: &ContentIndex) -> Vec<Orphan> {
    let referenced: BTreeSet<Sha1Digest> = package
        .updates
        .iter()
        .flat_map(|update| update.files.iter().map(|file| file.sha1))
        .collect();
    let mut orphans: Vec<Orphan> = content
        .in_place
        .iter()
        .filter(|(sha1, _)| !referenced.contains(sha1))
        .flat_map(|(_, entries)| entries.iter())
        .map(|(_, entry)| Orphan {
            path: entry.path.clone(),
            size: entry.digests.size,
        })
        .collect();
    orphans.sort_by(|a, b| a.path.cmp(&b.path));
    orphans
}

/// Audit errors about anything but the needed `files`: problems at needed paths, or with
/// misplaced copies of needed files, are reported with the files themselves.
fn other_content_problems(audit: &Audit, files: &[FileCheck]) -> usize {
    let errors =
        || (audit.findings.iter()).filter(|finding| finding.kind.severity() == Severity::Error);
    if errors().next().is_none() {
        return 0;
    }
    let needed_paths: BTreeSet<String> = files
        .iter()
        .flat_map(|file| {
            let misplaced_at = match &file.state {
                FileState::Missing {
                    misplaced_at: Some(at),
                } => Some(fold_case(at)),
                _ => None,
            };
            std::iter::once(fold_case(&file.path)).chain(misplaced_at)
        })
        .collect();
    errors()
        .filter(|finding| !needed_paths.contains(&fold_case(&finding.path)))
        .count()
}

/// Content paths the package's updates reference that are not among `listed` (compared
/// ignoring case, as NTFS does: [`fold_case`]), sorted: what a transfer listing only `listed` would leave out.
pub fn unlisted_references<'a>(
    package: &Package,
    listed: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let listed: BTreeSet<String> = listed.into_iter().map(fold_case).collect();
    let unlisted: BTreeSet<String> = package
        .updates
        .iter()
        .flat_map(|update| &update.files)
        .map(FileRef::content_path)
        .filter(|path| !listed.contains(&fold_case(path)))
        .collect();
    unlisted.into_iter().collect()
}

/// The updates (latest revisions) that need any of the content paths `absent`, through
/// bundles too, each with the absent files it needs: the updates that would show "Failed to
/// download" if those files never arrived. Sorted as [`Check::failing`] is.
pub fn updates_needing(package: &Package, absent: &[String]) -> Vec<UpdateGap> {
    let absent: BTreeSet<String> = absent.iter().map(|path| fold_case(path)).collect();
    let latest = latest_revisions(package);
    let mut gaps: Vec<UpdateGap> = latest
        .iter()
        .filter_map(|(&id, update)| {
            let files: Vec<String> = (files_needed(id, &latest).files.into_iter())
                .map(|(path, _)| path)
                .filter(|path| absent.contains(&fold_case(path)))
                .collect();
            (!files.is_empty()).then(|| UpdateGap {
                id: update.id.clone(),
                revision: update.revision,
                kb: update.kb.clone(),
                title: update.title.clone(),
                files,
                absent_updates: Vec::new(),
            })
        })
        .collect();
    gaps.sort_by(report_order);
    gaps
}

/// The updates (latest revisions) whose content is not proven complete: those that need any
/// of the content paths `absent` (through bundles too), and those that bundle, at any depth,
/// updates the package lacks. Each with what it lacks; sorted as [`updates_needing`] sorts.
pub fn updates_incomplete(package: &Package, absent: &[String]) -> Vec<UpdateGap> {
    let absent: BTreeSet<String> = absent.iter().map(|path| fold_case(path)).collect();
    let latest = latest_revisions(package);
    let mut gaps: Vec<UpdateGap> = latest
        .iter()
        .filter_map(|(&id, update)| {
            let needed = files_needed(id, &latest);
            let files: Vec<String> = (needed.files.into_iter())
                .map(|(path, _)| path)
                .filter(|path| absent.contains(&fold_case(path)))
                .collect();
            let absent_updates: Vec<String> = needed
                .absent_updates
                .into_iter()
                .map(str::to_owned)
                .collect();
            (!files.is_empty() || !absent_updates.is_empty()).then(|| UpdateGap {
                id: update.id.clone(),
                revision: update.revision,
                kb: update.kb.clone(),
                title: update.title.clone(),
                files,
                absent_updates,
            })
        })
        .collect();
    gaps.sort_by(report_order);
    gaps
}

/// By KB number, then title, then id; updates without a KB number last.
fn report_order(a: &UpdateGap, b: &UpdateGap) -> std::cmp::Ordering {
    // Borrowed, not cloned: a sort compares each update many times.
    fn key(gap: &UpdateGap) -> (bool, Option<usize>, Option<&str>, Option<&str>, &str) {
        let kb = gap.kb.as_deref();
        (
            kb.is_none(),
            kb.map(str::len),
            kb,
            gap.title.as_deref(),
            gap.id.as_str(),
        )
    }
    key(a).cmp(&key(b))
}

/// The highest revision of every update id.
fn latest_revisions(package: &Package) -> BTreeMap<&str, &Update> {
    let mut latest: BTreeMap<&str, &Update> = BTreeMap::new();
    for update in &package.updates {
        let slot = latest.entry(update.id.as_str()).or_insert(update);
        if update.revision > slot.revision {
            *slot = update;
        }
    }
    latest
}

/// One thing an update lacks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Gap<'n> {
    /// A needed file, by content path.
    File(&'n str),
    /// A bundled update the package does not contain.
    Update(&'n str),
}

/// What one update needs. Sorted vectors rather than maps: a package holds tens of thousands
/// of updates, most needing a file or two.
struct Needed<'a> {
    /// Files by content path, sorted, each once: its own and its bundled updates',
    /// recursively.
    files: Vec<(String, &'a FileRef)>,
    /// Ids of bundled updates (at any depth) the package does not contain, sorted, each once.
    absent_updates: Vec<&'a str>,
}

fn files_needed<'a>(id: &'a str, latest: &BTreeMap<&'a str, &'a Update>) -> Needed<'a> {
    let mut needed = Needed {
        files: Vec::new(),
        absent_updates: Vec::new(),
    };
    let mut visited: BTreeSet<&str> = BTreeSet::new();
    let mut pending: Vec<&str> = vec![id];
    while let Some(id) = pending.pop() {
        if !visited.insert(id) {
            continue; // a bundle cycle, or a diamond
        }
        let update = latest[id];
        for file in &update.files {
            needed.files.push((file.content_path(), file));
        }
        for bundled in &update.bundled {
            match latest.get_key_value(bundled.as_str()) {
                Some((&bundled, _)) => pending.push(bundled),
                None => needed.absent_updates.push(bundled),
            }
        }
    }
    // The first reference to a path stands for it (a stable sort keeps their order).
    needed.files.sort_by(|a, b| a.0.cmp(&b.0));
    needed.files.dedup_by(|later, first| later.0 == first.0);
    needed.absent_updates.sort_unstable();
    needed.absent_updates.dedup();
    needed
}

/// The audited content, looked up the way WSUS looks (case-insensitively, as on NTFS:
/// [`fold_case`]).
struct ContentIndex<'a> {
    /// In-place content files by the SHA-1 in their name, with their parsed name.
    in_place: BTreeMap<Sha1Digest, Vec<(ContentName, &'a Entry)>>,
    /// Content-shaped files outside their folder, by the SHA-1 in their name.
    misplaced: BTreeMap<Sha1Digest, &'a str>,
    /// Entries that could not be read, by path folded as NTFS compares names.
    unreadable: BTreeMap<String, &'a str>,
}

impl<'a> ContentIndex<'a> {
    fn new(audit: &'a Audit) -> Self {
        let mut in_place: BTreeMap<Sha1Digest, Vec<(ContentName, &Entry)>> = BTreeMap::new();
        let mut misplaced = BTreeMap::new();
        for entry in &audit.inventory {
            let components: Vec<&OsStr> = entry.path.split('/').map(OsStr::new).collect();
            match classify(&components) {
                Placement::Content { name, .. } => {
                    in_place.entry(name.sha1).or_default().push((name, entry))
                }
                Placement::Misplaced { name } => {
                    misplaced.entry(name.sha1).or_insert(entry.path.as_str());
                }
                Placement::Other => {}
            }
        }
        let unreadable = audit
            .findings
            .iter()
            .filter_map(|finding| match &finding.kind {
                FindingKind::Unreadable { error } => {
                    Some((fold_case(&finding.path), error.as_str()))
                }
                _ => None,
            })
            .collect();
        ContentIndex {
            in_place,
            misplaced,
            unreadable,
        }
    }

    fn state_of(&self, path: &str, reference: &FileRef) -> FileState {
        // The extension must match (in any case); only a file whose name is unknown (a package
        // without metadata.txt) matches on its SHA-1 alone.
        let name_known = !reference.name.is_empty();
        let found = self.in_place.get(&reference.sha1).and_then(|entries| {
            entries.iter().find(|(name, _)| {
                !name_known || fold_case(&name.extension) == fold_case(reference.extension())
            })
        });
        if let Some((name, entry)) = found {
            let digests = &entry.digests;
            let corrupt = FileState::Corrupt {
                actual_sha1: digests.sha1,
                actual_size: digests.size,
            };
            // The audit's rule decides SHA-1 against name; the metadata adds the size.
            return match judge(name, digests) {
                None if reference.size.is_some_and(|size| size != digests.size) => corrupt,
                None => FileState::Present,
                Some(FindingKind::EsdMismatch { actual_sha1, .. }) => {
                    FileState::EsdMismatch { actual_sha1 }
                }
                Some(_) => corrupt,
            };
        }
        if let Some(error) = self.unreadable.get(&fold_case(path)) {
            return FileState::Unreadable {
                error: (*error).to_owned(),
            };
        }
        FileState::Missing {
            misplaced_at: self
                .misplaced
                .get(&reference.sha1)
                .map(|path| (*path).to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::content::{ContentDigests, Totals};
    use crate::package::{Container, Export};
    use crate::relpath::RelPath;

    fn sha1(byte: u8) -> Sha1Digest {
        Sha1Digest([byte; 20])
    }

    #[test]
    fn an_unreadable_file_is_shown_with_the_error_that_stopped_its_reading() {
        let check = FileCheck {
            path: "0A/0A0A.cab".into(),
            sha1: sha1(10),
            name: "windows10.0-kb1-x64.cab".into(),
            size: Some(1234),
            state: FileState::Unreadable {
                error: "Access is denied. (os error 5)".into(),
            },
        };
        assert_eq!(
            check.to_string(),
            "unreadable: 0A/0A0A.cab (windows10.0-kb1-x64.cab, 1,234 bytes): \
             Access is denied. (os error 5)"
        );
    }

    fn file(byte: u8) -> FileRef {
        FileRef {
            sha1: sha1(byte),
            name: format!("f{byte}.cab"),
            size: Some(10),
            modified: None,
            patching_type: None,
            sha256: None,
        }
    }

    fn update(id: &str, revision: u32, files: &[u8], bundled: &[&str]) -> Update {
        Update {
            id: id.into(),
            revision,
            kind: "Software".into(),
            kb: Some(id.len().to_string()),
            files: files.iter().map(|&b| file(b)).collect(),
            bundled: bundled.iter().map(|s| s.to_string()).collect(),
            ..Update::default()
        }
    }

    /// A content folder holding intact copies of the files with these digest bytes.
    fn audit_holding(present: &[u8]) -> Audit {
        let inventory = present
            .iter()
            .map(|&byte| Entry {
                path: file(byte).content_path(),
                digests: ContentDigests {
                    size: 10,
                    sha1: sha1(byte),
                },
            })
            .collect();
        Audit {
            root: PathBuf::from("content"),
            findings: Vec::new(),
            inventory,
            totals: Totals {
                files: 0,
                content_files: 0,
                bytes: 0,
                seconds: 0.0,
                bytes_per_second: 0.0,
            },
        }
    }

    fn package(updates: Vec<Update>) -> Package {
        Package {
            container: Container::Cab,
            export: Export::default(),
            updates,
        }
    }

    #[test]
    fn only_the_latest_revision_counts() {
        // Revision 1 needed file 1, revision 2 needs file 2; only file 2 is absent.
        let package = package(vec![update("a", 1, &[1], &[]), update("a", 2, &[2], &[])]);
        let check = compare(&package, &audit_holding(&[1]), None);
        assert_eq!(check.failing.len(), 1);
        assert_eq!(check.failing[0].revision, 2);
        assert_eq!(check.files.len(), 1);
        assert_eq!(check.totals.updates, 1);
        // File 1 is referenced by the package, so it is not an orphan.
        assert!(check.orphans.is_empty());
    }

    /// What a transfer leaving out `absent` paths would leave incomplete: the updates needing
    /// them, directly or through a bundle (matched ignoring case), and a bundle of an update
    /// the package lacks even with all its files there; never an update with all it needs.
    #[test]
    fn updates_incomplete_names_the_absent_files_and_bundled_updates() {
        let package = package(vec![
            update("leaf", 1, &[3], &[]),
            update("whole", 1, &[4], &[]),
            update("bundle", 1, &[], &["leaf"]),
            update("orphaned", 1, &[4], &["gone"]),
        ]);
        let path = file(3).content_path();
        let gaps = updates_incomplete(&package, &[path.to_lowercase()]);
        let found: Vec<(&str, &[String], &[String])> = gaps
            .iter()
            .map(|gap| (gap.id.as_str(), &gap.files[..], &gap.absent_updates[..]))
            .collect();
        let (files, none, gone) = ([path.clone()], [] as [String; 0], ["gone".to_owned()]);
        assert_eq!(
            found,
            [
                ("leaf", &files[..], &none[..]),
                ("bundle", &files[..], &none[..]),
                ("orphaned", &none[..], &gone[..]),
            ]
        );
        assert_eq!(updates_incomplete(&package, &[]).len(), 1);
    }

    #[test]
    fn bundle_cycles_end_and_unknown_bundled_updates_are_named() {
        let package = package(vec![
            update("bundle", 1, &[], &["leaf", "inner", "gone"]),
            update("inner", 1, &[], &["bundle", "leaf"]),
            update("leaf", 1, &[3], &[]),
        ]);
        let check = compare(&package, &audit_holding(&[]), None);
        // "bundle" and "inner" bundle each other, so no update is top level; the gap is still
        // reported, through every update that needs it (in KB order: 4, 5, 6).
        let failing: Vec<&str> = check.failing.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(failing, ["leaf", "inner", "bundle"]);
        assert!(check.failing[0].absent_updates.is_empty());
        assert_eq!(check.failing[2].absent_updates, ["gone"]);
        assert_eq!(check.totals.missing, 1);

        // With every file present, the absent bundled update alone fails its bundle.
        let check = compare(&package, &audit_holding(&[3]), None);
        let failing: Vec<&str> = check.failing.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(failing, ["inner", "bundle"]);
        assert!(check.failing.iter().all(|g| g.files.is_empty()));

        let approved = Approved {
            ids: ["bundle".to_owned()].into(),
        };
        let check = compare(&package, &audit_holding(&[]), Some(&approved));
        assert_eq!(check.failing.len(), 1);
        assert_eq!(check.failing[0].files, vec![file(3).content_path()]);
    }

    #[test]
    fn the_extension_must_match_and_an_empty_esd_is_corrupt() {
        let mut audit = audit_holding(&[5, 6]);
        audit.inventory[0].path = audit.inventory[0].path.replace(".cab", ".tmp");
        let mut esd = file(6);
        esd.name = "install.esd".into();
        audit.inventory[1].path = esd.content_path();
        audit.inventory[1].digests.size = 0;
        audit.inventory[1].digests.sha1 = sha1(7);
        let mut package = package(vec![update("a", 1, &[5], &[])]);
        package.updates[0].files.push(esd);
        let check = compare(&package, &audit, None);
        let states: Vec<&str> = check.files.iter().map(|f| f.state.name()).collect();
        assert_eq!(states, ["missing", "corrupt"]);
    }

    #[test]
    fn names_differing_in_case_beyond_ascii_are_one_file_as_in_the_mirror() {
        let mut referenced = file(8);
        referenced.name = "update.café".into();
        let package = package(vec![Update {
            files: vec![referenced.clone()],
            ..update("a", 1, &[], &[])
        }]);
        let path = referenced.content_path();
        let other_spelling = path.replace("café", "CAFÉ");
        // The mirror takes the two spellings for one file on NTFS...
        let folded = |path: &str| RelPath::new(path).unwrap().folded();
        assert_eq!(folded(&path), folded(&other_spelling));
        // ...and so does the check, wherever it compares names.
        assert!(unlisted_references(&package, [other_spelling.as_str()]).is_empty());
        let needing = updates_needing(&package, std::slice::from_ref(&other_spelling));
        assert_eq!(needing[0].files, [path]);
        let mut audit = audit_holding(&[8]);
        audit.inventory[0].path = other_spelling;
        let check = compare(&package, &audit, None);
        assert_eq!(check.files[0].state, FileState::Present);
    }

    #[test]
    fn a_size_other_than_the_metadata_says_is_corrupt() {
        let mut audit = audit_holding(&[4]);
        audit.inventory[0].digests.size = 11;
        let check = compare(&package(vec![update("a", 1, &[4], &[])]), &audit, None);
        assert_eq!(
            check.files[0].state,
            FileState::Corrupt {
                actual_sha1: sha1(4),
                actual_size: 11
            }
        );
    }
}
