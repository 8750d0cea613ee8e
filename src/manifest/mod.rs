//! The signed manifest: what a transfer carries, who vouches for it, and whether it is new.
//!
//! A manifest (format version 1, JSON) names the export package and every content file of a
//! transfer with its size and BLAKE3 hash, and carries a sequence number, a creation and an
//! expiry time, the source server and the transfer mode. It is signed with a detached
//! minisign signature. On the disconnected side [`verify`] checks the signature over the exact
//! bytes before parsing anything, then the format, the paths, the expiry and the sequence
//! against the [`trust`] state; [`contents`] then proves the files themselves. The format is
//! documented in `manifests/README.md` and `manifests/manifest.schema.json`.

pub mod contents;
pub mod create;
pub mod keys;
pub mod report;
pub mod signature;
pub mod trust;
pub mod verify;
pub mod volumes;

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::content::Sha1Digest;
use crate::package::Container;
use crate::relpath::RelPath;

/// The only manifest format this version reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's file name in a transfer folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The detached signature's file name in a transfer folder.
pub const SIGNATURE_FILE: &str = "manifest.json.minisig";

/// A transfer, as its manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    /// The program that wrote it, such as `wsus-airgap 0.1.0`.
    pub tool: String,
    /// Strictly increasing per signing key: the disconnected side refuses anything not newer
    /// than what it last imported.
    pub sequence: u64,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub mode: TransferMode,
    pub source: Source,
    /// The export package, stored beside the manifest; absent for content-only transfers.
    pub package: Option<PackageEntry>,
    pub totals: ManifestTotals,
    /// Every content file, sorted by path.
    pub entries: Vec<FileEntry>,
    /// Content files the package references that the connected side lacked, exported anyway
    /// with `--allow-gaps`: the signer's acknowledgment; written only when there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<RelPath>,
    /// The volumes of a transfer split over several; written only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<volumes::VolumeSet>,
    /// The connected WSUS server's approvals, declines, computer groups and settings;
    /// written only when the export carries them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wsus: Option<crate::wsus::WsusState>,
}

/// The trusted comment signed with a manifest: what `minisign -V` prints, so that an operator
/// sees the sequence, expiry and source without opening the manifest.
pub fn trusted_comment(manifest: &Manifest) -> String {
    // One line whatever the fields hold: control characters would break the signature file.
    let one_line = |text: &str| text.replace(|c: char| c.is_control(), "\u{fffd}");
    format!(
        "wsus-airgap manifest\tsequence:{}\texpires:{}\tserver:{}\thost:{}",
        manifest.sequence,
        manifest.expires,
        one_line(manifest.source.server_id.as_deref().unwrap_or("-")),
        one_line(&manifest.source.host),
    )
}

/// What the importer does with files of its content folder that the manifest does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferMode {
    /// Keep them (like robocopy /E).
    Incremental,
    /// Remove them: the manifest is the whole content (like robocopy /MIR).
    Mirror,
}

impl fmt::Display for TransferMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransferMode::Incremental => "incremental",
            TransferMode::Mirror => "mirror",
        })
    }
}

/// Where the transfer comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The exporting WSUS server's `ServerID`, from the package; absent without a package.
    pub server_id: Option<String>,
    /// The name of the machine that wrote the manifest.
    pub host: String,
}

/// The export package a transfer carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageEntry {
    /// The file name, beside the manifest: one path component.
    pub name: RelPath,
    pub size: u64,
    pub blake3: Blake3Digest,
    pub container: Container,
}

/// One content file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to the content folder, with `/` separators.
    pub path: RelPath,
    pub size: u64,
    pub blake3: Blake3Digest,
    /// The SHA-1 of content files (`XX/<SHA-1>.<ext>`), which WSUS names them by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<Sha1Digest>,
    /// False when the file is not on the media because the receiving side already holds it
    /// (an export `--since` its last receipt); written only when false.
    #[serde(default = "carried", skip_serializing_if = "is_carried")]
    pub carried: bool,
    /// In a split transfer, the volume that holds the file whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<u32>,
    /// In a split transfer, the chunks a file is cut into, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<volumes::Chunk>,
}

fn carried() -> bool {
    true
}

fn is_carried(carried: &bool) -> bool {
    *carried
}

/// Sums over the entries, so that a reader can size the transfer before reading them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTotals {
    pub files: u64,
    pub bytes: u64,
}

/// A BLAKE3 hash, written as 64 lower-case hex digits as `b3sum` prints it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blake3Digest(pub blake3::Hash);

impl fmt::Display for Blake3Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.to_hex().as_str())
    }
}

impl fmt::Debug for Blake3Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blake3Digest({self})")
    }
}

impl Serialize for Blake3Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.to_hex().as_str())
    }
}

impl<'de> Deserialize<'de> for Blake3Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::serde_str::parse(deserializer, "a BLAKE3 hash", |hex| {
            let valid =
                hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            match blake3::Hash::from_hex(hex) {
                Ok(hash) if valid => Ok(Blake3Digest(hash)),
                _ => Err(format!(
                    "`{hex}` is not a BLAKE3 hash (64 lower-case hex digits)"
                )),
            }
        })
    }
}

/// A moment in UTC, whole seconds, written in RFC 3339 (`2026-11-22T09:30:00Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    /// `time`, with the fraction of a second dropped.
    pub fn new(time: SystemTime) -> Self {
        let seconds = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
    }

    pub fn time(self) -> SystemTime {
        self.0
    }

    /// This moment plus `days` days.
    pub fn plus_days(self, days: u16) -> Self {
        Timestamp(self.0 + Duration::from_secs(u64::from(days) * 86_400))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_seconds(self.0))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Exactly `YYYY-MM-DDTHH:MM:SSZ`, as written: no offsets, no fractions.
        let shaped = text.len() == 20 && text.ends_with('Z');
        match humantime::parse_rfc3339(&text) {
            Ok(time) if shaped => Ok(Timestamp(time)),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not a UTC time in the form 2026-11-22T09:30:00Z"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_rfc3339_utc() {
        let time: Timestamp = serde_json::from_str(r#""2026-11-22T09:30:00Z""#).unwrap();
        assert_eq!(time.to_string(), "2026-11-22T09:30:00Z");
        assert_eq!(time.plus_days(30).to_string(), "2026-12-22T09:30:00Z");
        for bad in [
            r#""2026-11-22T09:30:00+01:00""#,
            r#""2026-11-22T09:30:00.5Z""#,
            r#""2026-11-22""#,
            r#""2026-13-22T09:30:00Z""#,
        ] {
            assert!(serde_json::from_str::<Timestamp>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn blake3_digests_are_lower_case_hex() {
        let digest = Blake3Digest(blake3::hash(b"abc"));
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{}\"", blake3::hash(b"abc").to_hex()));
        assert_eq!(serde_json::from_str::<Blake3Digest>(&json).unwrap(), digest);
        let upper = json.to_uppercase();
        assert!(serde_json::from_str::<Blake3Digest>(&upper).is_err());
    }
}
