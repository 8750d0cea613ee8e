//! Reading what `wsusutil export` wrote.
//!
//! An export package is a container (a Microsoft Cabinet, or gzip) holding `package.xml`
//! (the server, its languages, and the files and updates in the export) and `metadata.txt`
//! (one XML record per update: identity, type, KB number, titles, files and bundled updates).
//! This module decides the container by its magic bytes, streams both members, and returns a
//! [`Package`]: the updates and the content files they need, each mapped to the path WSUS
//! stores it under. Bad input of any shape is an error that names the file, the member and the
//! problem; nothing here panics on input.

mod cabinet;
mod container;
mod limits;
mod metadata;
mod package_xml;
mod summary;
mod xml;

use std::io::{self, BufRead, Read, Seek};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::content::{Sha1Digest, content_path};

pub use container::Container;
pub use limits::MAX_DEPTH;
pub use summary::Summary;

/// An export package, read whole except for text the tool does not use.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub container: Container,
    #[serde(flatten)]
    pub export: Export,
    /// Every update, in the order of `metadata.txt`.
    pub updates: Vec<Update>,
}

/// What `package.xml` says about the export as a whole.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Export {
    pub server_id: String,
    pub creation_time: String,
    pub format_version: String,
    pub protocol_version: String,
    pub languages: Vec<Language>,
    /// The package-level file list (digest, download address, name).
    pub files: Vec<PackageFile>,
}

/// A language the exporting server knows, and whether it downloads content for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Language {
    pub id: String,
    pub short_name: String,
    pub long_name: String,
    pub enabled: bool,
}

/// An entry of `package.xml`'s top-level `Files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageFile {
    pub sha1: Sha1Digest,
    pub name: String,
    pub mu_url: String,
}

/// One update of the package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Update {
    /// The update GUID, lower case.
    pub id: String,
    pub revision: u32,
    /// `Software`, `Driver`, `Category`, `Detectoid`, ...
    pub kind: String,
    pub kb: Option<String>,
    /// The English title, else the first one given.
    pub title: Option<String>,
    pub files: Vec<FileRef>,
    /// GUIDs (lower case) of the updates this one bundles; its content is theirs.
    pub bundled: Vec<String>,
}

/// A content file an update needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    pub sha1: Sha1Digest,
    pub name: String,
    pub size: Option<u64>,
    pub modified: Option<String>,
    pub patching_type: Option<String>,
    /// The `AdditionalDigest` with algorithm SHA256, base64 as in the metadata.
    pub sha256: Option<String>,
}

impl FileRef {
    /// Where WSUS stores this file: `XX/<SHA-1>.<extension of the file name>`.
    pub fn content_path(&self) -> String {
        content_path(&self.sha1, self.extension())
    }

    /// The extension of the file name (after its last `.`), or `""`.
    pub fn extension(&self) -> &str {
        self.name
            .rsplit_once('.')
            .map_or("", |(_, extension)| extension)
    }
}

/// Why a package could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: the package is empty (0 bytes)", path.display())]
    Empty { path: PathBuf },
    #[error(
        "{}: not a WSUS export package: expected a Microsoft Cabinet (4D 53 43 46) or gzip (1F 8B), found {found}",
        path.display()
    )]
    UnknownFormat { path: PathBuf, found: String },
    #[error("{}: {member}: {detail}", path.display())]
    Invalid {
        path: PathBuf,
        member: String,
        detail: String,
    },
}

/// The fix for wsusutil's known empty-package failure.
pub const EMPTY_PACKAGE_HINT: &str = "wsusutil export is known to write an empty package when \
    the export exceeds the 2 GB limit of the CAB format (fixed by KB2819484 on Windows Server \
    2012 and KB2828185 on WSUS 3.0 SP2): install the fix and export again";

impl PackageError {
    /// The next step, where the fix is known.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            PackageError::Empty { .. } => Some(EMPTY_PACKAGE_HINT),
            PackageError::UnknownFormat { .. } => {
                Some("give the file written by `wsusutil export <package> <logfile>`")
            }
            PackageError::Io { .. } | PackageError::Invalid { .. } => None,
        }
    }
}

impl PackageError {
    /// Wraps an I/O error on the package file.
    fn io(path: &Path) -> impl Fn(io::Error) -> Self + Copy + '_ {
        move |source| PackageError::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn invalid(path: &Path, member: &str, detail: impl Into<String>) -> Self {
        PackageError::Invalid {
            path: path.to_owned(),
            member: member.to_owned(),
            detail: detail.into(),
        }
    }
}

/// Reads the export package at `path`.
pub fn open(path: &Path) -> Result<Package, PackageError> {
    container::read(path)
}

/// Reads the export package `input` holds (a file, or bytes in memory), exactly as [`open`]
/// reads a file; `path` only names it in errors.
pub fn read_from(path: &Path, input: impl Read + Seek) -> Result<Package, PackageError> {
    container::read_from(path, input)
}

/// Reads `package.xml` alone, as a package of gzip holding package XML: the updates it lists,
/// with the names of their files from its package-level file list. `path` names it in errors.
pub fn read_package_xml(path: &Path, input: impl BufRead) -> Result<Package, PackageError> {
    container::read_package_xml(path, "package.xml", input)
}

/// Reads `metadata.txt` alone: every update it describes, in its order. `path` names it in
/// errors.
pub fn read_metadata(path: &Path, input: impl BufRead) -> Result<Vec<Update>, PackageError> {
    container::read_metadata(path, input)
}

/// Decodes a base64 SHA-1 digest as WSUS writes it (`+woVBgFHAZXEe06Nh/yz9QKSvrI=`).
pub fn decode_sha1(base64_digest: &str) -> Result<Sha1Digest, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(base64_digest.trim())
        .map_err(|error| format!("digest {base64_digest:?} is not base64: {error}"))?;
    let bytes: [u8; 20] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        format!(
            "digest {base64_digest:?} holds {} bytes, a SHA-1 has 20",
            bytes.len()
        )
    })?;
    Ok(Sha1Digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_digest_example_decodes_to_its_content_path() {
        let sha1 = decode_sha1("+woVBgFHAZXEe06Nh/yz9QKSvrI=").unwrap();
        let file = FileRef {
            sha1,
            name: "windows-kb.exe".into(),
            size: None,
            modified: None,
            patching_type: None,
            sha256: None,
        };
        assert_eq!(
            file.content_path(),
            "B2/FB0A150601470195C47B4E8D87FCB3F50292BEB2.exe"
        );
    }

    #[test]
    fn digests_of_the_wrong_length_or_alphabet_are_refused() {
        assert!(decode_sha1("AAAA").unwrap_err().contains("holds 3 bytes"));
        assert!(
            decode_sha1("not base64!")
                .unwrap_err()
                .contains("not base64")
        );
    }
}
