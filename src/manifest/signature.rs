//! Detached signatures in minisign's format, so that stock `minisign -V` can check them.
//!
//! A signature file has four lines:
//!
//! ```text
//! untrusted comment: <free text, not signed>
//! base64("ED" || key id (8 bytes) || Ed25519(BLAKE2b-512(file)))
//! trusted comment: <text>
//! base64(Ed25519(signature (64 bytes) || trusted comment text))
//! ```
//!
//! `ED` is minisign's prehashed algorithm: the file is hashed with BLAKE2b-512 and the hash is
//! signed, so a large manifest never has to be held twice. The second ("global") signature
//! binds the trusted comment to the file's signature: changing either breaks it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use blake2::{Blake2b512, Digest};

use super::keys::{KeyId, PublicKey, SecretKey};

/// minisign's name for prehashed Ed25519 signatures.
const PREHASHED: &[u8; 2] = b"ED";
/// minisign's name for legacy signatures of the whole file.
const LEGACY: &[u8; 2] = b"Ed";
const UNTRUSTED_PREFIX: &str = "untrusted comment: ";
const TRUSTED_PREFIX: &str = "trusted comment: ";

/// Why a signature file is not a valid signature by the trusted key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("not a minisign signature: {0}")]
    Malformed(String),
    #[error(
        "a legacy minisign signature (algorithm `Ed`); only prehashed signatures (`ED`) are accepted"
    )]
    Legacy,
    #[error("signed by key {found}, but the trusted key is {trusted}")]
    WrongKey { found: KeyId, trusted: KeyId },
    #[error("the signature does not match the manifest: it was changed after signing")]
    ContentMismatch,
    #[error("the trusted comment does not match its signature: it was changed after signing")]
    TrustedCommentMismatch,
}

/// A parsed signature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub key_id: KeyId,
    pub signature: [u8; 64],
    pub trusted_comment: String,
    pub global_signature: [u8; 64],
}

/// Signs `data` and returns the text of its signature file.
pub fn sign(secret: &SecretKey, data: &[u8], trusted_comment: &str) -> String {
    assert!(
        !trusted_comment.contains(['\r', '\n']),
        "a trusted comment is one line"
    );
    let signature = secret.sign(&prehash(data));
    let global_signature = secret.sign(&global_message(&signature, trusted_comment));
    let mut line = Vec::with_capacity(74);
    line.extend_from_slice(PREHASHED);
    line.extend_from_slice(&secret.public().id.0);
    line.extend_from_slice(&signature);
    format!(
        "{UNTRUSTED_PREFIX}signature from wsus-airgap secret key {}\n{}\n{TRUSTED_PREFIX}{trusted_comment}\n{}\n",
        secret.public().id,
        BASE64.encode(line),
        BASE64.encode(global_signature),
    )
}

/// Parses the text of a signature file.
pub fn parse(text: &[u8]) -> Result<Signature, SignatureError> {
    let malformed = |problem: &str| SignatureError::Malformed(problem.to_owned());
    let text = std::str::from_utf8(text).map_err(|_| malformed("it is not UTF-8 text"))?;
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let mut next = |what: &str| {
        lines
            .next()
            .filter(|line| !line.is_empty())
            .ok_or_else(|| malformed(&format!("the {what} line is missing")))
    };
    if !next("untrusted comment")?.starts_with(UNTRUSTED_PREFIX) {
        return Err(malformed("the first line is not an `untrusted comment:`"));
    }
    let line = decode(next("signature")?, "signature")?;
    let trusted_comment = next("trusted comment")?
        .strip_prefix(TRUSTED_PREFIX)
        .ok_or_else(|| malformed("the third line is not a `trusted comment:`"))?
        .to_owned();
    let global = decode(next("global signature")?, "global signature")?;
    if line.len() != 74 {
        return Err(malformed(&format!(
            "the signature holds {} bytes, a minisign signature has 74",
            line.len()
        )));
    }
    match &line[..2] {
        algorithm if algorithm == PREHASHED => {}
        algorithm if algorithm == LEGACY => return Err(SignatureError::Legacy),
        _ => return Err(malformed("the signature algorithm is not Ed25519")),
    }
    let global_signature: [u8; 64] = global.as_slice().try_into().map_err(|_| {
        malformed(&format!(
            "the global signature holds {} bytes, not 64",
            global.len()
        ))
    })?;
    Ok(Signature {
        key_id: KeyId(line[2..10].try_into().expect("8 bytes")),
        signature: line[10..].try_into().expect("64 bytes"),
        trusted_comment,
        global_signature,
    })
}

/// Checks that `signature` is `trusted`'s signature of `data`, trusted comment included.
pub fn verify(
    trusted: &PublicKey,
    data: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    if signature.key_id != trusted.id {
        return Err(SignatureError::WrongKey {
            found: signature.key_id,
            trusted: trusted.id,
        });
    }
    if !trusted.verifies(&prehash(data), &signature.signature) {
        return Err(SignatureError::ContentMismatch);
    }
    let global = global_message(&signature.signature, &signature.trusted_comment);
    if !trusted.verifies(&global, &signature.global_signature) {
        return Err(SignatureError::TrustedCommentMismatch);
    }
    Ok(())
}

fn prehash(data: &[u8]) -> Vec<u8> {
    Blake2b512::digest(data).to_vec()
}

fn global_message(signature: &[u8; 64], trusted_comment: &str) -> Vec<u8> {
    [signature.as_slice(), trusted_comment.as_bytes()].concat()
}

fn decode(line: &str, what: &str) -> Result<Vec<u8>, SignatureError> {
    BASE64
        .decode(line)
        .map_err(|_| SignatureError::Malformed(format!("the {what} line is not base64")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::keys::generate;

    fn key() -> (SecretKey, PublicKey) {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = (dir.path().join("k"), dir.path().join("p"));
        let public_key = generate(&secret, &public, false).unwrap();
        (SecretKey::read(&secret).unwrap(), public_key)
    }

    #[test]
    fn round_trip_and_every_tamper_is_caught() {
        let (secret, public) = key();
        let text = sign(&secret, b"manifest bytes", "sequence:1");
        let signature = parse(text.as_bytes()).unwrap();
        assert_eq!(signature.trusted_comment, "sequence:1");
        assert_eq!(verify(&public, b"manifest bytes", &signature), Ok(()));
        assert_eq!(
            verify(&public, b"manifest bytez", &signature),
            Err(SignatureError::ContentMismatch)
        );
        let mut altered = signature.clone();
        altered.trusted_comment = "sequence:2".into();
        assert_eq!(
            verify(&public, b"manifest bytes", &altered),
            Err(SignatureError::TrustedCommentMismatch)
        );
        let (_, other) = key();
        assert_eq!(
            verify(&other, b"manifest bytes", &signature),
            Err(SignatureError::WrongKey {
                found: public.id,
                trusted: other.id
            })
        );
    }

    #[test]
    fn malformed_files_are_refused() {
        let (secret, _) = key();
        let text = sign(&secret, b"x", "c");
        let lines: Vec<&str> = text.lines().collect();
        assert!(parse(&text.as_bytes()[..40]).is_err());
        let swapped = format!("{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[3], lines[2]);
        assert!(parse(swapped.as_bytes()).is_err());
        let with_algorithm = |algorithm: &[u8; 2]| {
            let mut bytes = BASE64.decode(lines[1]).unwrap();
            bytes[..2].copy_from_slice(algorithm);
            let line = BASE64.encode(bytes);
            format!("{}\n{line}\n{}\n{}\n", lines[0], lines[2], lines[3])
        };
        let legacy = with_algorithm(b"Ed");
        assert_eq!(parse(legacy.as_bytes()), Err(SignatureError::Legacy));
        // Neither prehashed nor legacy Ed25519: not a signature this tool knows.
        let unknown = with_algorithm(b"XX");
        assert_eq!(
            parse(unknown.as_bytes()),
            Err(SignatureError::Malformed(
                "the signature algorithm is not Ed25519".to_owned()
            ))
        );
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(parse(crlf.as_bytes()), parse(text.as_bytes()));
    }
}
