//! The entry points the fuzz targets drive, one per parser of outside data. The same functions
//! run the corpus in `tests/fuzz-corpus/` under plain `cargo test` (see `tests/fuzz_corpus.rs`),
//! so that an input that once broke a parser fails CI without a fuzzer.
//!
//! Each entry point hands `data` to a parser exactly as the program would meet it (a file
//! where the parser reads files), and returns what the parser said: `Ok` when it accepted the
//! input, the error text when it refused it. A panic is the only failure.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use wsus_airgap::check::read_approved;
use wsus_airgap::manifest::keys::{self, PublicKey, SecretKey};
use wsus_airgap::manifest::trust::TrustState;
use wsus_airgap::manifest::verify::{VerifyOptions, verify};
use wsus_airgap::manifest::{MANIFEST_FILE, Manifest, SIGNATURE_FILE, signature, trusted_comment};
use wsus_airgap::mirror::HashCache;
use wsus_airgap::package;
use wsus_airgap::transfer::receipt::Receipt;

/// What a parser made of an input: accepted, or refused with this message.
pub type Outcome = Result<(), String>;

/// One target's entry point.
pub type Target = fn(&[u8]) -> Outcome;

/// Every target, by the name of its fuzz target and its corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("package", package),
    ("package_xml", package_xml),
    ("metadata", metadata),
    ("manifest", manifest),
    ("signature", signature),
    ("public_key", public_key),
    ("approved", approved),
    ("receipt", receipt),
    ("trust_state", trust_state),
    ("hash_cache", hash_cache),
];

/// A package (cabinet, gzip, or anything else), from its container's magic bytes on.
pub fn package(data: &[u8]) -> Outcome {
    let package = package::read_from(Path::new("fuzz.cab"), Cursor::new(data))
        .map_err(|error| error.to_string())?;
    // What inspect and check compute from a package must hold for any accepted one.
    package::Summary::of(Path::new("fuzz.cab"), &package);
    for file in package.updates.iter().flat_map(|update| &update.files) {
        file.content_path();
    }
    Ok(())
}

/// `package.xml` alone.
pub fn package_xml(data: &[u8]) -> Outcome {
    package::read_package_xml(Path::new("package.xml"), data)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// `metadata.txt` alone.
pub fn metadata(data: &[u8]) -> Outcome {
    package::read_metadata(Path::new("metadata.txt"), data)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// A manifest on media, signed by the trusted key (so that the parsing, the path rules and
/// the consistency checks are reached): its trusted comment is the one the manifest calls
/// for when it parses, so that expiry and sequence are checked too.
pub fn manifest(data: &[u8]) -> Outcome {
    let (secret, public) = key();
    let comment = serde_json::from_slice::<Manifest>(data)
        .map(|manifest| trusted_comment(&manifest))
        .unwrap_or_else(|_| "not a manifest".to_owned());
    let media = scratch().join("media");
    fs::create_dir_all(&media).map_err(|error| error.to_string())?;
    write(&media.join(MANIFEST_FILE), data);
    write(
        &media.join(SIGNATURE_FILE),
        signature::sign(secret, data, &comment).as_bytes(),
    );
    let options = VerifyOptions {
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
        allow_expired: false,
        allow_rollback: false,
        allow_already_accepted: false,
        state: Some(TrustState::default()),
    };
    verify(&media, public, &options)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// A detached signature file, parsed and checked against the trusted key.
pub fn signature(data: &[u8]) -> Outcome {
    let signed = signature::parse(data).map_err(|error| error.to_string())?;
    signature::verify(key().1, b"manifest bytes", &signed).map_err(|error| error.to_string())
}

/// A minisign public key file.
pub fn public_key(data: &[u8]) -> Outcome {
    let path = in_scratch("key.pub", data);
    PublicKey::read(&path)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// An approved list (`check --approved`): GUIDs by line, or PowerShell's CSV.
pub fn approved(data: &[u8]) -> Outcome {
    let path = in_scratch("approved.csv", data);
    read_approved(&path)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// A receipt carried back from the disconnected side.
pub fn receipt(data: &[u8]) -> Outcome {
    let path = in_scratch("receipt.json", data);
    Receipt::read(&path)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// The disconnected side's trust state.
pub fn trust_state(data: &[u8]) -> Outcome {
    let path = in_scratch("trust-state.json", data);
    TrustState::load(&path)
        .map(drop)
        .map_err(|error| error.to_string())
}

/// A hash cache file: anything unreadable is an empty cache, never an error.
pub fn hash_cache(data: &[u8]) -> Outcome {
    let path = in_scratch("hashes.bin", data);
    let cache = HashCache::load(&path);
    cache.lookup(
        "00/0000000000000000000000000000000000000000.cab",
        1,
        SystemTime::UNIX_EPOCH,
        || None,
    );
    Ok(())
}

/// A folder of this process's own for the files the parsers read.
fn scratch() -> &'static Path {
    static SCRATCH: OnceLock<tempfile::TempDir> = OnceLock::new();
    SCRATCH
        .get_or_init(|| tempfile::tempdir().expect("a temporary folder"))
        .path()
}

fn write(path: &Path, data: &[u8]) {
    fs::write(path, data).expect("the scratch folder is writable");
}

fn in_scratch(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    write(&path, data);
    path
}

/// The key the manifest and signature targets trust, made once per process.
fn key() -> (&'static SecretKey, &'static PublicKey) {
    static KEY: OnceLock<(SecretKey, PublicKey)> = OnceLock::new();
    let (secret, public) = KEY.get_or_init(|| {
        let folder = scratch().join("keys");
        fs::create_dir_all(&folder).expect("the scratch folder is writable");
        let (secret, public) = (folder.join("fuzz.key"), folder.join("fuzz.pub"));
        let public_key = keys::generate(&secret, &public, true).expect("a key pair");
        (
            SecretKey::read(&secret).expect("the key just made"),
            public_key,
        )
    });
    (secret, public)
}
