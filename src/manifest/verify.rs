//! Deciding whether a manifest on media can be trusted, before anything in it is used.
//!
//! The order matters. Both files are size-capped before they are read, so hostile media cannot
//! exhaust memory. The signature is checked over the exact bytes read, and only signed bytes
//! are parsed. Then the format version, every path, the internal consistency (order,
//! duplicates, names colliding on Windows, totals, the trusted comment), the expiry and the
//! sequence against the trust state. Any failure rejects the whole manifest.

use rustc_hash::FxHashMap as HashMap;
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

use super::keys::{KeyId, PublicKey};
use super::signature::{self, SignatureError};
use super::trust::{Accepted, TrustState};
use super::{
    Blake3Digest, FORMAT_VERSION, FileEntry, MANIFEST_FILE, Manifest, SIGNATURE_FILE, Timestamp,
    trusted_comment,
};
use crate::capped_read::{self, CappedError};
use crate::content::layout::{Placement, classify};
use crate::content::{EntryType, Sha1Digest};
use crate::regular_file::{self, Opened};

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
    /// Accept the manifest the trust state last accepted from its key, byte for byte (the
    /// same sequence and BLAKE3), past its expiry too (recorded in
    /// [`Verified::already_accepted`]); any other manifest with that sequence stays
    /// replayed. An import of it does nothing but say so.
    pub allow_already_accepted: bool,
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
    #[error(
        "{}: {}, not a file of the media's own: links are never followed",
        path.display(),
        match found {
            EntryType::Link => "a link",
            _ => "a device, pipe or socket",
        }
    )]
    NotAFile { path: PathBuf, found: EntryType },
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
    /// The BLAKE3 of the manifest's bytes.
    pub manifest_blake3: Blake3Digest,
    /// The manifest is the one `previous` records, and `allow_already_accepted` let it
    /// through.
    pub already_accepted: bool,
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

    let manifest_blake3 = Blake3Digest(blake3::hash(&bytes));
    let previous = options
        .state
        .as_ref()
        .and_then(|state| state.accepted(signed.key_id));
    let already_accepted = options.allow_already_accepted
        && previous.is_some_and(|previous| {
            previous.sequence == manifest.sequence
                && previous.manifest_blake3 == Some(manifest_blake3)
        });
    let now = Timestamp::new(options.now);
    let expired = now > manifest.expires;
    if expired && !options.allow_expired && !already_accepted {
        return Err(VerifyError::Expired {
            path: manifest_path,
            expires: manifest.expires,
            now,
        });
    }
    let rollback = !already_accepted
        && previous.is_some_and(|previous| manifest.sequence <= previous.sequence);
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
        manifest_blake3,
        already_accepted,
    })
}

/// What serde cannot check: order, duplicates, collisions on Windows, files that are also
/// folders, totals, times, and the package's name.
pub(crate) fn check_consistency(manifest: &Manifest) -> Result<(), String> {
    if manifest.sequence == 0 {
        return Err("the sequence is 0; sequences start at 1".to_owned());
    }
    // Nothing could ever be newer, so the key could never be used again.
    if manifest.sequence == u64::MAX {
        return Err(format!(
            "the sequence is {}, the largest there is: no later media could be newer",
            u64::MAX
        ));
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
    // Each name folded once; the index borrows them.
    let folded: Vec<String> = entries.iter().map(|entry| entry.path.folded()).collect();
    let mut index: HashMap<&str, usize> =
        HashMap::with_capacity_and_hasher(entries.len(), Default::default());
    for (position, path) in folded.iter().enumerate() {
        if let Some(first) = index.insert(path, position) {
            return Err(format!(
                "entries `{}` and `{}` differ only in case: one file on Windows",
                entries[first].path, entries[position].path
            ));
        }
    }
    for (entry, path) in entries.iter().zip(&folded) {
        for (end, _) in path.match_indices('/') {
            if let Some(&file) = index.get(&path[..end]) {
                return Err(format!(
                    "entry `{}` lies below `{}`, which is listed as a file",
                    entry.path, entries[file].path
                ));
            }
        }
    }
    for entry in entries {
        if let Some(name_sha1) = contradicted_sha1(entry) {
            return Err(format!(
                "entry `{}` gives SHA-1 {} where its name says {name_sha1}",
                entry.path,
                entry.sha1.expect("only a given SHA-1 contradicts")
            ));
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

/// The SHA-1 a content file's name (`XX/<SHA-1>.<ext>`) gives, when the entry's `sha1` says
/// another. WSUS names content by its SHA-1, so a manifest that disagrees with a name lists a
/// file WSUS would take for damaged, except an `.esd` file, whose name is not the SHA-1 of
/// its bytes (audit warns of those, and manifests include them).
fn contradicted_sha1(entry: &FileEntry) -> Option<Sha1Digest> {
    let sha1 = entry.sha1?;
    // Most names agree: their stem is the digest's hex (in some case), which is cheap to see.
    let name = entry.path.as_str().rsplit('/').next().unwrap_or_default();
    let stem = name.split_once('.').map_or(name, |(stem, _)| stem);
    if stem.as_bytes().eq_ignore_ascii_case(&sha1.hex()) {
        return None;
    }
    // The name is not `sha1`'s: it contradicts it if it is a content file's name at all.
    let components: Vec<&OsStr> = entry.path.as_str().split('/').map(OsStr::new).collect();
    match classify(&components) {
        Placement::Content { name, .. } if !name.extension.eq_ignore_ascii_case("esd") => {
            Some(name.sha1)
        }
        _ => None,
    }
}

/// Reads at most `limit` bytes of the regular file at `path`, refusing larger files before
/// reading them, and a link (never followed) or a device.
fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    let io_error = |source| VerifyError::Io {
        path: path.to_owned(),
        source,
    };
    let file = match regular_file::open(path).map_err(io_error)? {
        Opened::File(file) => file,
        Opened::Not(found) => {
            return Err(VerifyError::NotAFile {
                path: path.to_owned(),
                found,
            });
        }
        Opened::Folder => return Err(io_error(io::ErrorKind::IsADirectory.into())),
    };
    capped_read::read_file_capped(file, limit).map_err(|error| match error {
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

#[cfg(test)]
mod tests {
    use std::fs;
    use std::time::Duration;

    use super::*;
    use crate::manifest::keys::{self, SecretKey};
    use crate::manifest::{FileEntry, create};
    use crate::relpath::RelPath;

    /// Media signed by a key of its own: `entries` files listed, none on disk.
    struct Media {
        _dir: tempfile::TempDir,
        folder: PathBuf,
        public: PublicKey,
        manifest: Manifest,
    }

    fn entry(path: &str, size: u64, sha1: Option<Sha1Digest>) -> FileEntry {
        FileEntry {
            path: RelPath::new(path).unwrap(),
            size,
            blake3: Blake3Digest(blake3::hash(path.as_bytes())),
            sha1,
            carried: true,
            volume: None,
            chunks: Vec::new(),
        }
    }

    fn signed(entries: u32) -> Media {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = (dir.path().join("site.key"), dir.path().join("site.pub"));
        keys::generate(&secret, &public, false).unwrap();
        let entries: Vec<FileEntry> = (0..entries)
            .map(|index| entry(&format!("{index:08}.cab"), u64::from(index), None))
            .collect();
        let manifest = create::for_tests(entries);
        let folder = dir.path().join("media");
        fs::create_dir(&folder).unwrap();
        create::sign_and_write(&manifest, &SecretKey::read(&secret).unwrap(), &folder).unwrap();
        Media {
            public: PublicKey::read(&public).unwrap(),
            _dir: dir,
            folder,
            manifest,
        }
    }

    fn at(now: SystemTime, state: Option<TrustState>) -> VerifyOptions {
        VerifyOptions {
            now,
            allow_expired: false,
            allow_rollback: false,
            state,
            allow_already_accepted: true,
        }
    }

    /// Far more than a megabyte of manifest is read: the limit is 256 MiB.
    #[test]
    fn a_manifest_of_megabytes_verifies() {
        let media = signed(12_000);
        let size = fs::metadata(media.folder.join(MANIFEST_FILE))
            .unwrap()
            .len();
        assert!(size > 1_100_000, "{size} bytes");
        let verified = verify(&media.folder, &media.public, &at(SystemTime::now(), None));
        assert_eq!(verified.unwrap().manifest.entries.len(), 12_000);
    }

    /// No signature is unfinished media (a refusal); a signature that cannot be read is an
    /// error of the system.
    #[test]
    fn a_missing_signature_is_unsigned_and_an_unreadable_one_an_error() {
        let media = signed(1);
        let signature = media.folder.join(SIGNATURE_FILE);
        fs::remove_file(&signature).unwrap();
        let options = at(SystemTime::now(), None);
        assert!(matches!(
            verify(&media.folder, &media.public, &options),
            Err(VerifyError::Unsigned { .. })
        ));
        fs::create_dir(&signature).unwrap();
        assert!(matches!(
            verify(&media.folder, &media.public, &options),
            Err(VerifyError::Io { .. })
        ));
    }

    /// A manifest is good up to and including the second it expires.
    #[test]
    fn expiry_is_after_the_last_second() {
        let media = signed(1);
        let expires = media.manifest.expires.time();
        assert!(verify(&media.folder, &media.public, &at(expires, None)).is_ok());
        let later = expires + Duration::from_secs(1);
        assert!(matches!(
            verify(&media.folder, &media.public, &at(later, None)),
            Err(VerifyError::Expired { .. })
        ));
    }

    /// Only the very manifest last accepted (its sequence and its bytes) is "already
    /// accepted", past its expiry too; another manifest of that sequence is replayed.
    #[test]
    fn already_accepted_is_the_same_sequence_and_the_same_bytes() {
        let media = signed(1);
        let bytes = fs::read(media.folder.join(MANIFEST_FILE)).unwrap();
        let when = Timestamp::new(SystemTime::now());
        let key = media.public.id;
        let with = |sequence: u64, manifest: &[u8]| {
            let mut state = TrustState::default();
            state.accept(key, sequence, when, Blake3Digest(blake3::hash(manifest)));
            Some(state)
        };
        let expired = media.manifest.expires.time() + Duration::from_secs(60);
        let same = verify(&media.folder, &media.public, &at(expired, with(5, &bytes)));
        assert!(same.unwrap().already_accepted);
        let other_bytes = verify(
            &media.folder,
            &media.public,
            &at(SystemTime::now(), with(5, b"other")),
        );
        assert!(matches!(
            other_bytes,
            Err(VerifyError::Replayed {
                sequence: 5,
                accepted: 5,
                ..
            })
        ));
        let newer = verify(
            &media.folder,
            &media.public,
            &at(SystemTime::now(), with(6, &bytes)),
        );
        assert!(matches!(
            newer,
            Err(VerifyError::Replayed { accepted: 6, .. })
        ));
    }

    /// A manifest may expire the second it was made, never before it.
    #[test]
    fn a_manifest_may_not_expire_before_it_was_made() {
        let mut manifest = create::for_tests(vec![entry("a.cab", 1, None)]);
        manifest.expires = manifest.created;
        assert_eq!(check_consistency(&manifest), Ok(()));
        manifest.expires = Timestamp::new(manifest.created.time() - Duration::from_secs(1));
        let refused = check_consistency(&manifest).unwrap_err();
        assert!(refused.starts_with("expires ("), "{refused}");
    }

    /// A content file's name states its SHA-1; a manifest saying otherwise is refused,
    /// except for `.esd` files, which WSUS may decrypt in place.
    #[test]
    fn a_sha1_that_contradicts_the_name_is_refused_except_for_esd() {
        let named = Sha1Digest([0xAB; 20]);
        let other = Sha1Digest([0xCD; 20]);
        let path = |extension: &str| format!("AB/{named}.{extension}");
        let agreeing = create::for_tests(vec![entry(&path("cab"), 1, Some(named))]);
        assert_eq!(check_consistency(&agreeing), Ok(()));
        let contradicting = create::for_tests(vec![entry(&path("cab"), 1, Some(other))]);
        let refused = check_consistency(&contradicting).unwrap_err();
        assert!(refused.contains("where its name says"), "{refused}");
        let esd = create::for_tests(vec![entry(&path("esd"), 1, Some(other))]);
        assert_eq!(check_consistency(&esd), Ok(()));
    }
}
