//! The settings both servers must share, or content goes missing: the update languages and
//! the express installation files. The receiving server expects the content its settings
//! ask for; content the source never downloaded never arrives, and the updates needing it
//! show "Failed to download". A receiving server older than the source gets a warning too:
//! Microsoft supports a downstream server of the same or an earlier version only.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::state::ServerFacts;
use crate::check::UpdateGap;
use crate::package::Package;

/// A setting that differs, and what it puts at risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "setting", rename_all = "kebab-case")]
pub enum SettingWarning {
    /// The receiving server downloads languages the source does not.
    Languages {
        source: String,
        destination: String,
        /// Languages the receiving server expects that the source did not download.
        missing: Vec<String>,
        /// Updates with content that would fail to download if any of their files is in
        /// one of the missing languages (the package does not say which files are).
        updates: Vec<UpdateGap>,
    },
    /// The receiving server expects express installation files the source did not download.
    ExpressFiles {
        source: bool,
        destination: bool,
        /// Updates with express files, which would fail to download.
        updates: Vec<UpdateGap>,
    },
    /// The receiving server runs an older WSUS than the source.
    OlderVersion { source: String, destination: String },
}

/// Lines of updates shown in text; `--json` lists them all.
const UPDATES_SHOWN: usize = 20;

impl fmt::Display for SettingWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let updates = match self {
            SettingWarning::Languages {
                source,
                destination,
                missing,
                updates,
            } => {
                writeln!(
                    f,
                    "setting differs: update languages: the source downloads {source}, this \
                     server {destination}; content in {} never arrives, and approved updates \
                     with files in {} would fail to download:",
                    missing.join(", "),
                    if missing.len() == 1 { "it" } else { "them" }
                )?;
                updates
            }
            SettingWarning::ExpressFiles {
                source,
                destination,
                updates,
            } => {
                let word = |on: &bool| if *on { "on" } else { "off" };
                writeln!(
                    f,
                    "setting differs: express installation files: {} on the source, {} on this \
                     server; these updates would fail to download:",
                    word(source),
                    word(destination)
                )?;
                updates
            }
            SettingWarning::OlderVersion {
                source,
                destination,
            } => {
                return writeln!(
                    f,
                    "setting differs: WSUS version: this server runs {destination}, older than \
                     the source's {source}; a receiving server must run the same version or a \
                     later one"
                );
            }
        };
        for update in updates.iter().take(UPDATES_SHOWN) {
            writeln!(f, "  would fail to download: {update}")?;
        }
        if updates.len() > UPDATES_SHOWN {
            let more = updates.len() - UPDATES_SHOWN;
            writeln!(f, "  ... and {more} more (--json lists them all)")?;
        }
        if updates.is_empty() {
            writeln!(f, "  (no update of the package is concerned)")?;
        }
        Ok(())
    }
}

/// Compares the source's settings with the receiving server's. `approved` are the updates
/// approved on the source (ids, lower case), which the language warning names.
pub fn compare(
    source: &ServerFacts,
    destination: &ServerFacts,
    package: &Package,
    approved: &BTreeSet<String>,
) -> Vec<SettingWarning> {
    let mut warnings = Vec::new();
    let missing: Vec<String> = match (source.all_languages, destination.all_languages) {
        (true, _) => Vec::new(),
        (false, true) => vec!["every language".to_owned()],
        (false, false) => {
            let had: BTreeSet<String> = source.languages.iter().map(|l| l.to_lowercase()).collect();
            let wanted: BTreeSet<String> = (destination.languages.iter())
                .map(|l| l.to_lowercase())
                .collect();
            wanted.difference(&had).cloned().collect()
        }
    };
    if !missing.is_empty() {
        warnings.push(SettingWarning::Languages {
            source: languages(source),
            destination: languages(destination),
            missing,
            updates: with_files(package, |update| approved.contains(&update.id)),
        });
    }
    if destination.express_files && !source.express_files {
        warnings.push(SettingWarning::ExpressFiles {
            source: source.express_files,
            destination: destination.express_files,
            updates: with_files(package, |update| {
                update.files.iter().any(|file| {
                    (file.patching_type.as_deref())
                        .is_some_and(|kind| kind.eq_ignore_ascii_case("express"))
                })
            }),
        });
    }
    if compare_versions(&destination.version, &source.version) == Ordering::Less {
        warnings.push(SettingWarning::OlderVersion {
            source: source.version.clone(),
            destination: destination.version.clone(),
        });
    }
    warnings
}

/// `en, de` or `every language`.
fn languages(facts: &ServerFacts) -> String {
    if facts.all_languages {
        "every language".to_owned()
    } else if facts.languages.is_empty() {
        "no language".to_owned()
    } else {
        facts.languages.join(", ")
    }
}

/// The package's updates (latest revisions) that have files and pass `keep`, named as
/// reports name them, in report order.
fn with_files(package: &Package, keep: impl Fn(&crate::package::Update) -> bool) -> Vec<UpdateGap> {
    let mut latest: std::collections::BTreeMap<&str, &crate::package::Update> = Default::default();
    for update in &package.updates {
        let slot = latest.entry(update.id.as_str()).or_insert(update);
        if update.revision > slot.revision {
            *slot = update;
        }
    }
    let mut updates: Vec<UpdateGap> = (latest.into_values())
        .filter(|update| !update.files.is_empty() && keep(update))
        .map(|update| UpdateGap {
            id: update.id.clone(),
            revision: update.revision,
            kb: update.kb.clone(),
            title: update.title.clone(),
            files: Vec::new(),
            absent_updates: Vec::new(),
        })
        .collect();
    updates.sort_by(|a, b| {
        let key = |gap: &UpdateGap| {
            (
                gap.kb.is_none(),
                gap.kb.as_ref().map(|kb| (kb.len(), kb.clone())),
                gap.title.clone(),
                gap.id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    updates
}

/// Dotted versions compared number by number (`10.0.14393.0` < `10.0.17763.1`); parts that
/// are not numbers compare as text.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |text: &str| -> Vec<(u64, String)> {
        text.split('.')
            .map(|part| {
                (
                    part.trim().parse().unwrap_or(u64::MAX),
                    part.trim().to_owned(),
                )
            })
            .collect()
    };
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_number() {
        assert_eq!(
            compare_versions("10.0.14393.0", "10.0.17763.1"),
            Ordering::Less
        );
        assert_eq!(compare_versions("10.0.9.0", "10.0.10.0"), Ordering::Less);
        assert_eq!(
            compare_versions("10.0.17763.1", "10.0.17763.1"),
            Ordering::Equal
        );
        assert_eq!(
            compare_versions("6.3.9600.18694", "6.2.9200.1"),
            Ordering::Greater
        );
    }
}
