//! Deciding whether a manifest on media can be trusted, before anything in it is used.
//!
//! The order matters. Both files are size-capped before they are read, so hostile media cannot
//! exhaust memory. The signature is checked over the exact bytes read, and only signed bytes
//! are parsed. Then the format version, every path, the internal consistency (order,
//! duplicates, names colliding on Windows, totals, the trusted comment), the expiry and the
//! sequence against the trust state. Any failure rejects the whole manifest.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use super::keys::{KeyId, PublicKey};
use super::signature::{self, SignatureError};
use super::trust::{Accepted, TrustState};
use super::{FORMAT_VERSION, MANIFEST_FILE, Manifest, SIGNATURE_FILE, Timestamp, trusted_comment};
use crate::capped_read::{self, CappedError};

/// The largest manifest read: about a million entries.
pub const MANIFEST_MAX: u64 = 256 * 1024 * 1024;
/// The largest signature file read; a minisign signature is a few hundred bytes.
pub const SIGNATURE_MAX: u64 = 8 * 1024;

/// What the verifier may let through, and what it compares with.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub now: SystemTime,
    /// Accept a manifest past its expiry (recorded in [`Verified::expired`]).
    pub allow_expired: bool,
    /// Accept a sequence not newer than the last accepted one (recorded in
    /// [`Verified::rollback`]).
    pub allow_rollback: bool,
    /// The disconnected side's trust state; `None` skips the sequence check.
    pub state: Option<TrustState>,
}

/// Why a manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {size} bytes, more than the {limit} bytes allowed", path.display())]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{}: {source}", path.display())]
    Signature {
        path: PathBuf,
        source: SignatureError,
    },
    #[error("{}: unfinished or altered media: no signature", path.display())]
    Unsigned { path: PathBuf },
    #[error("{}: format version {found}; this version of wsus-airgap reads version {FORMAT_VERSION}", path.display())]
    UnsupportedVersion { path: PathBuf, found: u64 },
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
    #[error("{}: expired at {expires} (now {now})", path.display())]
    Expired {
        path: PathBuf,
        expires: Timestamp,
        now: Timestamp,
    },
    #[error(
        "{}: sequence {sequence} is not newer than sequence {accepted} already accepted from key {key}: old or replayed media",
        path.display()
    )]
    Replayed {
        path: PathBuf,
        sequence: u64,
        accepted: u64,
        key: KeyId,
    },
}

impl VerifyError {
    /// True when the media was looked at and refused, false when it could not be read.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, VerifyError::Io { .. })
    }
}

/// A manifest that passed every check, with what the operator allowed on the way.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Manifest,
    pub key_id: KeyId,
    pub trusted_comment: String,
    pub manifest_bytes: u64,
    /// The manifest had expired and `allow_expired` let it through.
    pub expired: bool,
    /// What the trust state held for this key, if it was given and knew the key.
    pub previous: Option<Accepted>,
    /// The sequence was not newer than `previous` and `allow_rollback` let it through.
    pub rollback: bool,
}

/// Verifies `folder/manifest.json` against `folder/manifest.json.minisig` and `trusted`.
pub fn verify(
    folder: &Path,
    trusted: &PublicKey,
    options: &VerifyOptions,
) -> Result<Verified, VerifyError> {
    let manifest_path = folder.join(MANIFEST_FILE);
    let signature_path = folder.join(SIGNATURE_FILE);
    // The small signature first; media without it (or no media at all where it was said to
    // be) is unfinished or altered: a refusal, not a system error.
    let signature_bytes = match read_capped(&signature_path, SIGNATURE_MAX) {
        Err(VerifyError::Io { path, source }) if source.kind() == io::ErrorKind::NotFound => {
            return Err(VerifyError::Unsigned { path });
        }
        read => read?,
    };
    let bytes = read_capped(&manifest_path, MANIFEST_MAX)?;

    let signed = signature::parse(&signature_bytes)
        .and_then(|signed| signature::verify(trusted, &bytes, &signed).map(|()| signed))
        .map_err(|source| VerifyError::Signature {
            path: signature_path.clone(),
            source,
        })?;

    // Only signed bytes get here.
    let invalid = |detail: String| VerifyError::Invalid {
        path: manifest_path.clone(),
        detail,
    };
    #[derive(Deserialize)]
    struct VersionProbe {
        format_version: u64,
    }
    let probe: VersionProbe =
        serde_json::from_slice(&bytes).map_err(|error| invalid(error.to_string()))?;
    if probe.format_version != u64::from(FORMAT_VERSION) {
        return Err(VerifyError::UnsupportedVersion {
            path: manifest_path,
            found: probe.format_version,
        });
    }
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|error| invalid(error.to_string()))?;
    check_consistency(&manifest).map_err(invalid)?;
    if signed.trusted_comment != trusted_comment(&manifest) {
        return Err(invalid(format!(
            "the trusted comment `{}` does not describe this manifest",
            signed.trusted_comment
        )));
    }

    let now = Timestamp::new(options.now);
    let expired = now > manifest.expires;
    if expired && !options.allow_expired {
        return Err(VerifyError::Expired {
            path: manifest_path,
            expires: manifest.expires,
            now,
        });
    }
    let previous = options
        .state
        .as_ref()
        .and_then(|state| state.accepted(signed.key_id));
    let rollback = previous.is_some_and(|previous| manifest.sequence <= previous.sequence);
    if let Some(previous) = previous.filter(|_| rollback && !options.allow_rollback) {
        return Err(VerifyError::Replayed {
            path: manifest_path,
            sequence: manifest.sequence,
            accepted: previous.sequence,
            key: signed.key_id,
        });
    }
    Ok(Verified {
        manifest,
        key_id: signed.key_id,
        trusted_comment: signed.trusted_comment,
        manifest_bytes: bytes.len() as u64,
        expired,
        previous,
        rollback,
    })
}

/// What serde cannot check: order, duplicates, collisions on Windows, files that are also
/// folders, totals, times, and the package's name.
pub(crate) fn check_consistency(manifest: &Manifest) -> Result<(), String> {
    if manifest.sequence == 0 {
        return Err("the sequence is 0; sequences start at 1".to_owned());
    }
    let entries = &manifest.entries;
    for pair in entries.windows(2) {
        let (before, after) = (&pair[0].path, &pair[1].path);
        if before == after {
            return Err(format!("entry `{after}` is listed twice"));
        }
        if before > after {
            return Err(format!(
                "entries are not sorted by path: `{before}` comes before `{after}`"
            ));
        }
    }
    let mut folded: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    for (position, entry) in entries.iter().enumerate() {
        if let Some(first) = folded.insert(entry.path.folded(), position) {
            return Err(format!(
                "entries `{}` and `{}` differ only in case: one file on Windows",
                entries[first].path, entry.path
            ));
        }
    }
    for entry in entries {
        let path = entry.path.folded();
        for (end, _) in path.match_indices('/') {
            if let Some(&file) = folded.get(&path[..end]) {
                return Err(format!(
                    "entry `{}` lies below `{}`, which is listed as a file",
                    entry.path, entries[file].path
                ));
            }
        }
    }
    let files = entries.len() as u64;
    let bytes = entries
        .iter()
        .try_fold(0u64, |sum, entry| sum.checked_add(entry.size));
    if manifest.totals.files != files || bytes != Some(manifest.totals.bytes) {
        return Err(format!(
            "the totals ({} files, {} bytes) do not add up to the entries",
            manifest.totals.files, manifest.totals.bytes
        ));
    }
    if manifest.expires < manifest.created {
        return Err(format!(
            "expires ({}) before it was created ({})",
            manifest.expires, manifest.created
        ));
    }
    if let Some(package) = &manifest.package {
        let name = package.name.as_str();
        if name.contains('/') {
            return Err(format!(
                "the package name `{name}` must be a file name, not a path"
            ));
        }
        if [MANIFEST_FILE, SIGNATURE_FILE]
            .iter()
            .any(|own| own.eq_ignore_ascii_case(name))
        {
            return Err(format!(
                "the package name `{name}` is the manifest's own file"
            ));
        }
    }
    super::volumes::check(manifest)
}

/// Reads at most `limit` bytes of `path`, refusing larger files before reading them.
fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    capped_read::read_capped(path, limit).map_err(|error| match error {
        CappedError::Io(source) => VerifyError::Io {
            path: path.to_owned(),
            source,
        },
        CappedError::TooLarge { size } => VerifyError::TooLarge {
            path: path.to_owned(),
            size,
            limit,
        },
    })
}
