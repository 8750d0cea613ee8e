//! The WsusContent naming rule, in one place.
//!
//! WSUS stores every content file as `XX/<SHA-1 as 40 hex digits>.<extension>`, where `XX`
//! is the last two hex digits of the SHA-1 (MS-WSUSSS section 2.1). The name therefore
//! carries the file's own checksum, which is what lets an audit prove a store intact with no
//! manifest and no database. This module turns names into that meaning and back.

use std::ffi::OsStr;
use std::fmt;

/// A SHA-1 digest. Displayed as 40 upper-case hex digits, the way WSUS names its files.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha1Digest(pub [u8; 20]);

impl Sha1Digest {
    /// Parses 40 hex digits in either case.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 40 {
            return None;
        }
        let mut digest = [0u8; 20];
        for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
            *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(Sha1Digest(digest))
    }

    /// The content folder this digest belongs in: its last two hex digits.
    pub fn folder(&self) -> String {
        format!("{:02X}", self.0[19])
    }
}

impl Sha1Digest {
    /// The 40 upper-case hex digits, without allocating.
    pub fn hex(&self) -> [u8; 40] {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut hex = [0u8; 40];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xF)];
        }
        hex
    }
}

impl fmt::Display for Sha1Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written at once: a manifest writes millions, and `{:02X}` per byte was most of it.
        let hex = self.hex();
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl serde::Serialize for Sha1Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha1Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::serde_str::parse(deserializer, "a SHA-1", |hex| {
            Sha1Digest::from_hex(hex)
                .ok_or_else(|| format!("`{hex}` is not a SHA-1 (40 hex digits)"))
        })
    }
}

impl fmt::Debug for Sha1Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha1Digest({self})")
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The relative path WSUS uses for a content file: `XX/<HEX>.<extension>`, or `XX/<HEX>`
/// when the file has no extension.
pub fn content_path(sha1: &Sha1Digest, extension: &str) -> String {
    if extension.is_empty() {
        format!("{}/{sha1}", sha1.folder())
    } else {
        format!("{}/{sha1}.{extension}", sha1.folder())
    }
}

/// A file name that has the shape of a content file: a 40-hex-digit stem, then optionally
/// `.` and an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentName {
    pub sha1: Sha1Digest,
    pub extension: String,
    /// The hex digits were not all upper case, as WSUS writes them.
    pub lower_case: bool,
}

impl ContentName {
    /// Reads a file name; `None` when it is not content-shaped (including non-UTF-8 names).
    pub fn parse(name: &OsStr) -> Option<Self> {
        let name = name.to_str()?;
        let (stem, extension) = match name.split_once('.') {
            Some((stem, extension)) => (stem, extension),
            None => (name, ""),
        };
        let sha1 = Sha1Digest::from_hex(stem)?;
        Some(ContentName {
            sha1,
            extension: extension.to_owned(),
            lower_case: stem.bytes().any(|b| b.is_ascii_lowercase()),
        })
    }

    /// Where this file belongs, relative to the WsusContent root.
    pub fn expected_path(&self) -> String {
        content_path(&self.sha1, &self.extension)
    }
}

/// What a regular file's position in the tree says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// `XX/<HEX>.<ext>` in the right folder. `lower_case` is set when the name or the folder
    /// uses lower-case hex: WSUS writes upper case, but Windows matches names without case.
    Content { name: ContentName, lower_case: bool },
    /// A content-shaped name anywhere else; it belongs at `name.expected_path()`.
    Misplaced { name: ContentName },
    /// Anything else, such as `anonymousCheckFile.txt`.
    Other,
}

/// Classifies a regular file by its path components relative to the WsusContent root.
pub fn classify(components: &[&OsStr]) -> Placement {
    let Some(file_name) = components.last() else {
        return Placement::Other;
    };
    let Some(name) = ContentName::parse(file_name) else {
        return Placement::Other;
    };
    if let [folder, _] = components
        && let Some(folder) = folder.to_str()
        && folder.eq_ignore_ascii_case(&name.sha1.folder())
    {
        let lower_case = name.lower_case || folder.bytes().any(|b| b.is_ascii_lowercase());
        return Placement::Content { name, lower_case };
    }
    Placement::Misplaced { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "FB0A150601470195C47B4E8D87FCB3F50292BEB2";

    fn classify_path(path: &str) -> Placement {
        let parts: Vec<&OsStr> = path.split('/').map(OsStr::new).collect();
        classify(&parts)
    }

    #[test]
    fn worked_example_from_the_facts_maps_to_its_folder() {
        let sha1 = Sha1Digest::from_hex(HEX).unwrap();
        assert_eq!(content_path(&sha1, "exe"), format!("B2/{HEX}.exe"));
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_digits() {
        let sha1 = Sha1Digest::from_hex(&HEX.to_lowercase()).unwrap();
        assert_eq!(sha1.to_string(), HEX);
        assert!(Sha1Digest::from_hex(&HEX[..39]).is_none());
        assert!(Sha1Digest::from_hex(&format!("{}G", &HEX[..39])).is_none());
        let every_digit = Sha1Digest(std::array::from_fn(|i| (i as u8).wrapping_mul(0x1F)));
        let bytewise: String = every_digit.0.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(every_digit.to_string(), bytewise);
        assert_eq!(Sha1Digest([0xFF; 20]).to_string(), "F".repeat(40));
    }

    #[test]
    fn content_in_its_folder_is_content() {
        match classify_path(&format!("B2/{HEX}.exe")) {
            Placement::Content { name, lower_case } => {
                assert_eq!(name.extension, "exe");
                assert!(!lower_case);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lower_case_name_or_folder_is_content_but_flagged() {
        for path in [
            format!("B2/{}.exe", HEX.to_lowercase()),
            format!("b2/{HEX}.exe"),
        ] {
            assert!(
                matches!(
                    classify_path(&path),
                    Placement::Content {
                        lower_case: true,
                        ..
                    }
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn content_name_elsewhere_is_misplaced() {
        for path in [
            format!("{HEX}.exe"),
            format!("AA/{HEX}.exe"),
            format!("B2/B2/{HEX}.exe"),
        ] {
            match classify_path(&path) {
                Placement::Misplaced { name } => {
                    assert_eq!(name.expected_path(), format!("B2/{HEX}.exe"), "{path}")
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn other_names_are_other() {
        for path in [
            "anonymousCheckFile.txt",
            "B2/readme.txt",
            "B2/FB0A15060147.exe",
            "B2/ FB0A150601470195C47B4E8D87FCB3F50292BEB2.exe",
        ] {
            assert_eq!(classify_path(path), Placement::Other, "{path}");
        }
    }

    #[test]
    fn extensionless_content_name_keeps_no_dot() {
        let name = ContentName::parse(OsStr::new(HEX)).unwrap();
        assert_eq!(name.expected_path(), format!("B2/{HEX}"));
    }
}
