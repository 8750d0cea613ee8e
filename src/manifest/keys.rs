//! Ed25519 signing keys: made with ring, stored so that other tools can use them.
//!
//! The secret key is a PKCS#8 document in PEM form (`-----BEGIN PRIVATE KEY-----`), which
//! OpenSSL and most key stores read. The public key is in minisign's format (an `untrusted
//! comment:` line, then base64 of `Ed`, an 8-byte key id and the 32-byte key), so that stock
//! `minisign -V` can check the tool's signatures. The key id is the first 8 bytes of the
//! BLAKE3 hash of the public key: the secret key file does not need to carry it.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::atomic_file::{self, Access, Existing};
use crate::capped_read::{self, CappedError};

/// minisign's name for Ed25519 in key files.
const KEY_ALGORITHM: &[u8; 2] = b"Ed";
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";
/// Key files are a few hundred bytes; anything far larger is not a key.
const KEY_FILE_MAX: u64 = 16 * 1024;

/// Eight bytes that name a signing key. Shown as minisign shows it: the bytes read as a
/// little-endian number, in 16 upper-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    fn of(public_key: &[u8; 32]) -> Self {
        let hash = blake3::hash(public_key);
        let mut id = [0u8; 8];
        id.copy_from_slice(&hash.as_bytes()[..8]);
        KeyId(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a key could not be made, read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: already exists; give --force to replace it", path.display())]
    Exists { path: PathBuf },
    #[error("{}: not a {expected}: {problem}", path.display())]
    Invalid {
        path: PathBuf,
        expected: &'static str,
        problem: String,
    },
    #[error("the system's random number generator failed")]
    Random,
}

impl KeyError {
    /// The next step, where the fix is known.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            KeyError::Exists { .. } => Some(
                "keep the existing key unless you mean to replace it: the disconnected side \
                 trusts its public half",
            ),
            _ => None,
        }
    }
}

/// A public key that signatures are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub id: KeyId,
    pub key: [u8; 32],
}

impl PublicKey {
    /// The contents of a minisign public key file.
    pub fn to_file_text(&self) -> String {
        let mut bytes = Vec::with_capacity(42);
        bytes.extend_from_slice(KEY_ALGORITHM);
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&self.key);
        format!(
            "untrusted comment: wsus-airgap public key {}\n{}\n",
            self.id,
            BASE64.encode(bytes)
        )
    }

    /// Reads a minisign public key file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = read_capped(path)?;
        let invalid = |problem: &str| KeyError::Invalid {
            path: path.to_owned(),
            expected: "minisign public key",
            problem: problem.to_owned(),
        };
        let text = String::from_utf8(text).map_err(|_| invalid("it is not text"))?;
        let mut lines = text.lines();
        let comment = lines.next().unwrap_or_default();
        if !comment.starts_with("untrusted comment:") {
            return Err(invalid("the first line is not an `untrusted comment:`"));
        }
        let encoded = lines.next().unwrap_or_default().trim();
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| invalid("the second line is not base64"))?;
        if bytes.len() != 42 {
            return Err(invalid(&format!(
                "the key holds {} bytes, a minisign key has 42",
                bytes.len()
            )));
        }
        if &bytes[..2] != KEY_ALGORITHM {
            return Err(invalid("the key is not an Ed25519 key (`Ed`)"));
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[2..10]);
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[10..]);
        Ok(PublicKey { id: KeyId(id), key })
    }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.key)
            .verify(message, signature)
            .is_ok()
    }
}

/// A secret key, able to sign.
pub struct SecretKey {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.public.id)
    }
}

impl SecretKey {
    /// Reads a PKCS#8 secret key, PEM or DER.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let bytes = read_capped(path)?;
        let invalid = |problem: String| KeyError::Invalid {
            path: path.to_owned(),
            expected: "PKCS#8 Ed25519 secret key",
            problem,
        };
        let der = match std::str::from_utf8(&bytes) {
            Ok(text) if text.trim_start().starts_with(PEM_BEGIN) => pem_body(text)
                .ok_or_else(|| invalid(format!("the PEM block is not `{PEM_BEGIN}` base64")))?,
            _ => bytes,
        };
        Self::from_pkcs8(&der).map_err(|problem| invalid(problem.to_string()))
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, ring::error::KeyRejected> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)?;
        let key: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .expect("an Ed25519 public key is 32 bytes");
        let public = PublicKey {
            id: KeyId::of(&key),
            key,
        };
        Ok(SecretKey { pair, public })
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.pair
            .sign(message)
            .as_ref()
            .try_into()
            .expect("an Ed25519 signature is 64 bytes")
    }
}

/// Makes a new key pair and writes the secret key (owner-only) and the public key. Existing
/// files are kept unless `replace` is true; nothing is written if either file is in the way.
pub fn generate(
    secret_path: &Path,
    public_path: &Path,
    replace: bool,
) -> Result<PublicKey, KeyError> {
    if !replace {
        for path in [secret_path, public_path] {
            if fs::symlink_metadata(path).is_ok() {
                return Err(KeyError::Exists {
                    path: path.to_owned(),
                });
            }
        }
    }
    let document =
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
    let document = pkcs8_v1(document.as_ref());
    let secret = SecretKey::from_pkcs8(&document).map_err(|_| KeyError::Random)?;
    let existing = if replace {
        Existing::Replace
    } else {
        Existing::Keep
    };
    let write = |path: &Path, text: String, access| {
        atomic_file::write(path, text.as_bytes(), access, existing).map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: path.to_owned(),
                }
            } else {
                KeyError::Io {
                    path: path.to_owned(),
                    source,
                }
            }
        })
    };
    write(secret_path, to_pem(&document), Access::OwnerOnly)?;
    if let Err(error) = write(public_path, secret.public.to_file_text(), Access::Shared) {
        // A secret key without its public half is of no use; do not leave it behind unless
        // it replaced one the user asked to replace.
        if !replace {
            let _ = fs::remove_file(secret_path);
        }
        return Err(error);
    }
    Ok(secret.public)
}

/// The start of ring's PKCS#8 v2 document for Ed25519, up to the 32-byte seed.
const PKCS8_V2_PREFIX: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// The start of a PKCS#8 v1 document for Ed25519 (RFC 8410), up to the seed.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The RFC 8410 (v1) form of ring's v2 document: the seed alone, which OpenSSL and other
/// tools read; ring reads both.
fn pkcs8_v1(v2: &[u8]) -> Vec<u8> {
    assert_eq!(v2[..16], PKCS8_V2_PREFIX, "ring's Ed25519 PKCS#8 layout");
    [&PKCS8_V1_PREFIX[..], &v2[16..48]].concat()
}

fn to_pem(der: &[u8]) -> String {
    let encoded = BASE64.encode(der);
    let mut text = String::from(PEM_BEGIN);
    text.push('\n');
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str(PEM_END);
    text.push('\n');
    text
}

fn pem_body(text: &str) -> Option<Vec<u8>> {
    let start = text.find(PEM_BEGIN)? + PEM_BEGIN.len();
    let end = start + text[start..].find(PEM_END)?;
    let body: String = text[start..end].split_whitespace().collect();
    BASE64.decode(body).ok()
}

fn read_capped(path: &Path) -> Result<Vec<u8>, KeyError> {
    capped_read::read_capped(path, KEY_FILE_MAX).map_err(|error| match error {
        CappedError::Io(source) => KeyError::Io {
            path: path.to_owned(),
            source,
        },
        CappedError::TooLarge { .. } => KeyError::Invalid {
            path: path.to_owned(),
            expected: "key file",
            problem: format!("it is larger than {KEY_FILE_MAX} bytes"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_read_back_and_sign() {
        let dir = tempfile::tempdir().unwrap();
        let secret_path = dir.path().join("site.key");
        let public_path = dir.path().join("site.pub");
        let public = generate(&secret_path, &public_path, false).unwrap();
        assert_eq!(PublicKey::read(&public_path).unwrap(), public);
        let secret = SecretKey::read(&secret_path).unwrap();
        assert_eq!(secret.public(), &public);
        let signature = secret.sign(b"message");
        assert!(public.verifies(b"message", &signature));
        assert!(!public.verifies(b"messagE", &signature));
        let text = fs::read_to_string(&public_path).unwrap();
        assert!(text.starts_with(&format!(
            "untrusted comment: wsus-airgap public key {}\nRW",
            public.id
        )));
    }

    #[test]
    fn existing_keys_are_kept_without_replace() {
        let dir = tempfile::tempdir().unwrap();
        let secret_path = dir.path().join("site.key");
        let public_path = dir.path().join("site.pub");
        fs::write(&public_path, "mine").unwrap();
        let error = generate(&secret_path, &public_path, false).unwrap_err();
        assert!(matches!(error, KeyError::Exists { path } if path == public_path));
        assert!(
            !secret_path.exists(),
            "nothing written when a file is in the way"
        );
        assert_eq!(fs::read_to_string(&public_path).unwrap(), "mine");
        generate(&secret_path, &public_path, true).unwrap();
        PublicKey::read(&public_path).unwrap();
    }

    #[test]
    fn key_ids_show_as_minisign_shows_them() {
        let id = KeyId([0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF]);
        assert_eq!(id.to_string(), "EFCDAB8967452301");
    }

    #[test]
    fn malformed_public_keys_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.pub");
        for (text, problem) in [
            ("RWQAAAA\n", "untrusted comment"),
            ("untrusted comment: x\n!!!\n", "not base64"),
            ("untrusted comment: x\nRWQAAAA=\n", "holds 5 bytes"),
        ] {
            fs::write(&path, text).unwrap();
            let error = PublicKey::read(&path).unwrap_err().to_string();
            assert!(error.contains(problem), "{error}");
            assert!(error.contains("bad.pub"), "{error}");
        }
    }
}
