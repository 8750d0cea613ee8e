//! What a transfer carries of the connected WSUS server: its facts (version, languages,
//! express files), its computer groups, its approvals and its declined updates. It travels
//! inside the signed manifest (`wsus`), or is given to `export --approvals FILE` in the same
//! format (`manifests/wsus-state.schema.json`). Everything read here is data from another
//! machine: it is checked whole (GUIDs, names, references) before anything is decided on it.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::manifest::Timestamp;

/// The only format of the state this version reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The largest state file `--approvals FILE` reads.
pub const STATE_FILE_MAX: u64 = 64 * 1024 * 1024;
/// The longest computer group name accepted (WSUS allows 256 characters).
const NAME_MAX: usize = 256;

/// A GUID, lower case: `a0a08746-4dbe-4a37-9adf-9e7652c0b421`. Read in any case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Guid(String);

impl Guid {
    /// `text` as a GUID, if it is one (8-4-4-4-12 hex digits, any case).
    pub fn parse(text: &str) -> Result<Self, String> {
        let shaped = text.len() == 36
            && text.char_indices().all(|(index, c)| match index {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if shaped {
            Ok(Guid(text.to_ascii_lowercase()))
        } else {
            Err(format!("`{}` is not a GUID", text.escape_debug()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Guid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Guid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::serde_str::parse(deserializer, "a GUID", Guid::parse)
    }
}

/// The connected server's WSUS state, as carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsusState {
    pub format_version: u32,
    pub server: ServerFacts,
    /// Every computer group, built-in ones included.
    pub groups: Vec<Group>,
    /// Every approval (Install or Uninstall) per update and group.
    pub approvals: Vec<Approval>,
    /// Every declined update.
    pub declines: Vec<Decline>,
}

/// What a WSUS server is and how it is set up, as far as content depends on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFacts {
    /// The server's name, for reports.
    #[serde(default)]
    pub name: String,
    /// The WSUS version, such as `10.0.17763.678`.
    pub version: String,
    /// True when the server downloads updates in every language.
    pub all_languages: bool,
    /// The languages it downloads updates in (`en`, `de`, ...), when not all.
    pub languages: Vec<String>,
    /// True when it downloads express installation files.
    pub express_files: bool,
    /// The products it synchronises.
    #[serde(default)]
    pub products: Vec<Category>,
    /// The update classifications it synchronises.
    #[serde(default)]
    pub classifications: Vec<Category>,
}

/// A product or an update classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: Guid,
    pub title: String,
}

/// A computer group; built-in groups are known by their fixed ids ([`super::groups`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub id: Guid,
    pub name: String,
    /// The parent group; `None` for All Computers.
    pub parent: Option<Guid>,
}

/// What an approval tells WSUS to do with an update for a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApprovalAction {
    Install,
    Uninstall,
}

impl ApprovalAction {
    /// The action named as WSUS names it (`Install`, `Uninstall`); other actions
    /// (`NotApproved`) are not approvals.
    pub fn from_wsus(name: &str) -> Option<Self> {
        match name {
            "Install" => Some(ApprovalAction::Install),
            "Uninstall" => Some(ApprovalAction::Uninstall),
            _ => None,
        }
    }
}

impl fmt::Display for ApprovalAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApprovalAction::Install => "Install",
            ApprovalAction::Uninstall => "Uninstall",
        })
    }
}

/// One approval of an update for a computer group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub update_id: Guid,
    pub revision: u32,
    pub group_id: Guid,
    /// The group's names from All Computers down (`["All Computers", "Servers", "SQL"]`), so
    /// that the group can be found on a server where it has another id.
    pub group_path: Vec<String>,
    pub action: ApprovalAction,
    /// The installation deadline, in UTC; `None`: no deadline.
    #[serde(default)]
    pub deadline: Option<Timestamp>,
    /// Approved for optional installation.
    #[serde(default)]
    pub optional: bool,
}

/// A declined update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decline {
    pub update_id: Guid,
    pub revision: u32,
}

/// Why a WSUS state cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {size} bytes, more than the {limit} bytes allowed", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{}: not a WSUS state (manifests/wsus-state.schema.json): {problem}", path.display())]
    Format { path: PathBuf, problem: String },
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: String },
}

impl WsusState {
    /// Reads and checks the state file at `path` (`export --approvals FILE`).
    pub fn read(path: &Path) -> Result<Self, StateError> {
        use crate::capped_read::{CappedError, read_capped};
        let bytes = read_capped(path, STATE_FILE_MAX).map_err(|error| match error {
            CappedError::TooLarge { size } => StateError::TooLarge {
                path: path.to_owned(),
                size,
                limit: STATE_FILE_MAX,
            },
            CappedError::Io(source) => StateError::Io {
                path: path.to_owned(),
                source,
            },
        })?;
        let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let state: WsusState =
            serde_json::from_slice(text).map_err(|error| StateError::Format {
                path: path.to_owned(),
                problem: error.to_string(),
            })?;
        state.check().map_err(|problem| StateError::Invalid {
            path: path.to_owned(),
            problem,
        })?;
        Ok(state)
    }

    /// Proves the state consistent: the format version, group ids unique, parents known,
    /// names printable, approvals of known actions once per update and group. The first
    /// problem found, in words.
    pub fn check(&self) -> Result<(), String> {
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "format version {} is not {FORMAT_VERSION}, the one this version reads",
                self.format_version
            ));
        }
        let mut ids = BTreeSet::new();
        for group in &self.groups {
            check_name(&group.name).map_err(|problem| format!("group {}: {problem}", group.id))?;
            if !ids.insert(&group.id) {
                return Err(format!("group {} is listed twice", group.id));
            }
        }
        for group in &self.groups {
            if let Some(parent) = &group.parent
                && !ids.contains(parent)
                && !super::groups::is_built_in(parent)
            {
                return Err(format!(
                    "group {} ({}) names parent {parent}, which is not listed",
                    group.id, group.name
                ));
            }
        }
        let mut approved = BTreeSet::new();
        for approval in &self.approvals {
            for name in &approval.group_path {
                check_name(name).map_err(|problem| {
                    format!("approval of update {}: {problem}", approval.update_id)
                })?;
            }
            if !approved.insert((&approval.update_id, &approval.group_id)) {
                return Err(format!(
                    "update {} is approved twice for group {}",
                    approval.update_id, approval.group_id
                ));
            }
        }
        Ok(())
    }

    /// The update ids the state names (approved or declined), sorted, each once.
    pub fn update_ids(&self) -> Vec<Guid> {
        let ids: BTreeSet<&Guid> = (self.approvals.iter().map(|a| &a.update_id))
            .chain(self.declines.iter().map(|d| &d.update_id))
            .collect();
        ids.into_iter().cloned().collect()
    }
}

/// A group name must be non-empty, of at most [`NAME_MAX`] characters, without control
/// characters.
fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("a group name is empty".to_owned());
    }
    if name.chars().count() > NAME_MAX {
        return Err(format!("a group name is longer than {NAME_MAX} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "group name `{}` holds control characters",
            name.escape_debug()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_read_in_any_case_and_kept_lower_case() {
        let guid = Guid::parse("A0A08746-4DBE-4A37-9ADF-9E7652C0B421").unwrap();
        assert_eq!(guid.as_str(), "a0a08746-4dbe-4a37-9adf-9e7652c0b421");
        for bad in [
            "",
            "a0a08746-4dbe-4a37-9adf-9e7652c0b42",
            "a0a08746x4dbe-4a37-9adf-9e7652c0b421",
            "g0a08746-4dbe-4a37-9adf-9e7652c0b421",
            "{a0a08746-4dbe-4a37-9adf-9e7652c0b421}",
        ] {
            assert!(Guid::parse(bad).is_err(), "{bad}");
        }
    }

    fn state() -> WsusState {
        serde_json::from_str(
            r#"{"format_version":1,
                "server":{"version":"10.0.17763.1","all_languages":false,"languages":["en"],
                          "express_files":false},
                "groups":[{"id":"a0a08746-4dbe-4a37-9adf-9e7652c0b421","name":"All Computers","parent":null},
                          {"id":"11111111-1111-1111-1111-111111111111","name":"Servers",
                           "parent":"a0a08746-4dbe-4a37-9adf-9e7652c0b421"}],
                "approvals":[{"update_id":"22222222-2222-2222-2222-222222222222","revision":1,
                              "group_id":"11111111-1111-1111-1111-111111111111",
                              "group_path":["All Computers","Servers"],"action":"Install"}],
                "declines":[]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_consistent_state_passes_and_each_inconsistency_is_named() {
        assert_eq!(state().check(), Ok(()));
        let mut twice = state();
        twice.groups.push(twice.groups[1].clone());
        assert!(twice.check().unwrap_err().contains("listed twice"));
        let mut orphan = state();
        orphan.groups[1].parent =
            Some(Guid::parse("33333333-3333-3333-3333-333333333333").unwrap());
        assert!(orphan.check().unwrap_err().contains("which is not listed"));
        let mut control = state();
        control.groups[1].name = "Ser\u{1b}vers".to_owned();
        assert!(control.check().unwrap_err().contains("control characters"));
        let mut repeated = state();
        repeated.approvals.push(repeated.approvals[0].clone());
        assert!(repeated.check().unwrap_err().contains("approved twice"));
        let mut version = state();
        version.format_version = 2;
        assert!(version.check().unwrap_err().contains("format version 2"));
    }
}
