//! Computer groups across two servers. The same group has another id on each server, so a
//! group is found by its path of names from All Computers down; the built-in groups have the
//! same fixed ids on every server and are named in the server's language, so they are found
//! by id. A group the receiving server lacks can be created under the same parent, where
//! WSUS allows child groups: under All Computers and under groups of the operator's own.

use std::collections::BTreeMap;

use super::state::{Group, Guid};

/// All Computers, in every language.
pub const ALL_COMPUTERS: &str = "a0a08746-4dbe-4a37-9adf-9e7652c0b421";
/// Unassigned Computers, in every language.
pub const UNASSIGNED_COMPUTERS: &str = "b73ca6ed-5727-47f3-84de-015e03f6a88a";
/// Downstream Servers, in every language.
pub const DOWNSTREAM_SERVERS: &str = "d374f42a-9be2-4163-a0fa-3c86a401b7a7";

/// True for the id of a built-in group.
pub fn is_built_in(id: &Guid) -> bool {
    [ALL_COMPUTERS, UNASSIGNED_COMPUTERS, DOWNSTREAM_SERVERS].contains(&id.as_str())
}

/// True when WSUS lets groups be created under the group `id`: All Computers and groups that
/// are not built in.
pub fn takes_children(id: &Guid) -> bool {
    id.as_str() == ALL_COMPUTERS || !is_built_in(id)
}

/// One server's groups, by id.
#[derive(Debug, Clone)]
pub struct Groups<'a> {
    by_id: BTreeMap<&'a Guid, &'a Group>,
}

impl<'a> Groups<'a> {
    pub fn new(groups: &'a [Group]) -> Self {
        Groups {
            by_id: groups.iter().map(|group| (&group.id, group)).collect(),
        }
    }

    pub fn get(&self, id: &Guid) -> Option<&'a Group> {
        self.by_id.get(id).copied()
    }

    /// The names from the top group down to `id`, or `None` when the group or one of its
    /// ancestors is not listed (or the parents loop).
    pub fn path(&self, id: &Guid) -> Option<Vec<String>> {
        let mut names = Vec::new();
        let mut current = self.get(id)?;
        loop {
            names.push(current.name.clone());
            if names.len() > self.by_id.len() {
                return None; // a loop
            }
            match &current.parent {
                None => break,
                Some(parent) => current = self.get(parent)?,
            }
        }
        names.reverse();
        Some(names)
    }

    /// The child of `parent` named `name` (compared as WSUS compares names, ignoring case).
    pub fn child(&self, parent: &Guid, name: &str) -> Option<&'a Group> {
        self.by_id.values().copied().find(|group| {
            group.parent.as_ref() == Some(parent)
                && group.name.to_lowercase() == name.to_lowercase()
        })
    }
}

/// Where a carried group is on the receiving server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// It is there, with this id.
    Exists(Guid),
    /// It is not there, and can be made: its names, starting with the first one missing
    /// under the group `under` (which exists).
    Creatable { under: Guid, names: Vec<String> },
    /// It is not there and cannot be made here.
    Missing,
}

/// Places the carried group `id` (whose path of names is `path` if the carried groups do
/// not describe it) among the `destination` groups.
pub fn place(id: &Guid, carried: &Groups, path: &[String], destination: &Groups) -> Placed {
    if is_built_in(id) {
        return match destination.get(id) {
            Some(_) => Placed::Exists(id.clone()),
            None => Placed::Missing,
        };
    }
    // The chain of carried ids from the top down; the top must be a built-in group.
    let chain = carried_chain(id, carried);
    let (top, names): (Guid, Vec<String>) = match chain {
        Some(chain) => {
            let (top, rest) = chain.split_first().expect("a chain has its group");
            (
                top.id.clone(),
                rest.iter().map(|g| g.name.clone()).collect(),
            )
        }
        // Described only by the approval's path: it must start at All Computers.
        None => match path.split_first() {
            Some((_, rest)) if !rest.is_empty() => {
                (Guid::parse(ALL_COMPUTERS).expect("a GUID"), rest.to_vec())
            }
            _ => return Placed::Missing,
        },
    };
    if !is_built_in(&top) || destination.get(&top).is_none() {
        return Placed::Missing;
    }
    let mut at = top;
    for (index, name) in names.iter().enumerate() {
        match destination.child(&at, name) {
            Some(child) => at = child.id.clone(),
            None if takes_children(&at) => {
                return Placed::Creatable {
                    under: at,
                    names: names[index..].to_vec(),
                };
            }
            None => return Placed::Missing,
        }
    }
    Placed::Exists(at)
}

/// The carried groups from the top down to `id`, or `None` if one is not described.
fn carried_chain<'a>(id: &Guid, carried: &Groups<'a>) -> Option<Vec<&'a Group>> {
    let mut chain = vec![carried.get(id)?];
    while let Some(parent) = &chain.last().expect("not empty").parent {
        if chain.len() > carried.by_id.len() {
            return None;
        }
        chain.push(carried.get(parent)?);
    }
    chain.reverse();
    Some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guid(text: &str) -> Guid {
        Guid::parse(text).unwrap()
    }

    fn group(id: &str, name: &str, parent: Option<&str>) -> Group {
        Group {
            id: guid(id),
            name: name.to_owned(),
            parent: parent.map(guid),
        }
    }

    const SERVERS_HERE: &str = "11111111-1111-1111-1111-111111111111";
    const SERVERS_THERE: &str = "22222222-2222-2222-2222-222222222222";
    const SQL_HERE: &str = "33333333-3333-3333-3333-333333333333";

    #[test]
    fn built_in_groups_match_by_id_whatever_their_names() {
        let carried = [group(ALL_COMPUTERS, "All Computers", None)];
        let destination = [
            group(ALL_COMPUTERS, "Alle Computer", None),
            group(
                UNASSIGNED_COMPUTERS,
                "Nicht zugewiesene Computer",
                Some(ALL_COMPUTERS),
            ),
        ];
        let (carried, destination) = (Groups::new(&carried), Groups::new(&destination));
        assert_eq!(
            place(&guid(ALL_COMPUTERS), &carried, &[], &destination),
            Placed::Exists(guid(ALL_COMPUTERS))
        );
        assert_eq!(
            place(&guid(UNASSIGNED_COMPUTERS), &carried, &[], &destination),
            Placed::Exists(guid(UNASSIGNED_COMPUTERS))
        );
        assert_eq!(
            place(&guid(DOWNSTREAM_SERVERS), &carried, &[], &destination),
            Placed::Missing
        );
    }

    #[test]
    fn other_groups_match_by_path_or_are_created_under_the_same_parent() {
        let carried = [
            group(ALL_COMPUTERS, "All Computers", None),
            group(SERVERS_HERE, "Servers", Some(ALL_COMPUTERS)),
            group(SQL_HERE, "SQL", Some(SERVERS_HERE)),
        ];
        let destination = [
            group(ALL_COMPUTERS, "All Computers", None),
            group(SERVERS_THERE, "servers", Some(ALL_COMPUTERS)),
        ];
        let (carried, destination) = (Groups::new(&carried), Groups::new(&destination));
        assert_eq!(
            place(&guid(SERVERS_HERE), &carried, &[], &destination),
            Placed::Exists(guid(SERVERS_THERE))
        );
        assert_eq!(
            place(&guid(SQL_HERE), &carried, &[], &destination),
            Placed::Creatable {
                under: guid(SERVERS_THERE),
                names: vec!["SQL".to_owned()]
            }
        );
        assert_eq!(
            carried.path(&guid(SQL_HERE)).unwrap(),
            ["All Computers", "Servers", "SQL"]
        );
    }

    #[test]
    fn no_group_is_created_under_unassigned_computers_or_for_an_undescribed_group() {
        let carried = [
            group(ALL_COMPUTERS, "All Computers", None),
            group(
                UNASSIGNED_COMPUTERS,
                "Unassigned Computers",
                Some(ALL_COMPUTERS),
            ),
            group(SQL_HERE, "SQL", Some(UNASSIGNED_COMPUTERS)),
        ];
        let destination = [
            group(ALL_COMPUTERS, "All Computers", None),
            group(
                UNASSIGNED_COMPUTERS,
                "Unassigned Computers",
                Some(ALL_COMPUTERS),
            ),
        ];
        let (carried, destination) = (Groups::new(&carried), Groups::new(&destination));
        assert_eq!(
            place(&guid(SQL_HERE), &carried, &[], &destination),
            Placed::Missing
        );
        // Not among the carried groups, and no path: nowhere to make it.
        assert_eq!(
            place(&guid(SERVERS_HERE), &carried, &[], &destination),
            Placed::Missing
        );
        // Not among the carried groups, but its path is known.
        let path = ["All Computers".to_owned(), "Kiosks".to_owned()];
        assert_eq!(
            place(&guid(SERVERS_HERE), &carried, &path, &destination),
            Placed::Creatable {
                under: guid(ALL_COMPUTERS),
                names: vec!["Kiosks".to_owned()]
            }
        );
    }
}
