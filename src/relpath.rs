//! Relative paths that are safe to join onto a destination folder on Windows and Unix.
//!
//! Every path that arrives from media (a manifest entry, a package name) becomes a [`RelPath`]
//! before it touches the file system. The rules are those of the strictest file system the
//! media meets: NTFS and FAT on Windows. A name Windows would treat as a device, strip of a
//! trailing dot, or read as a drive or an alternate data stream is refused, so that the same
//! manifest means the same files on every machine and can never reach outside the folder.
//! [`fold_case`] is the one rule for when two names are the same file there: the manifest,
//! the mirror, the completeness check and the transfer gate all ask it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::content::tree::TreeEntry;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest name of one path component, in UTF-16 units, that NTFS and FAT accept.
const MAX_COMPONENT_UNITS: usize = 255;

/// Names Windows reserves for devices, with or without an extension (`NUL.txt` too).
const RESERVED_NAMES: [&str; 26] = [
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "COM0", "COM1", "COM2", "COM3", "COM4",
    "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9",
];

/// Characters Windows refuses in file names, beyond control characters and the separators.
const FORBIDDEN_CHARACTERS: [char; 6] = ['<', '>', '"', '|', '?', '*'];

/// Why a path is not a safe relative path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    #[error("the path is empty")]
    Empty,
    #[error("the path is absolute")]
    Absolute,
    #[error("the path holds a backslash; only `/` separates folders")]
    Backslash,
    #[error("the path holds `:` (a drive letter or an alternate data stream)")]
    Colon,
    #[error("the path holds a NUL or control character")]
    Control,
    #[error("the path holds `{0}`, which Windows refuses in names")]
    Forbidden(char),
    #[error("the path has an empty component (`//` or a trailing `/`)")]
    EmptyComponent,
    #[error("the path has a `.` or `..` component")]
    DotComponent,
    #[error("`{0}` ends in a dot or a space, which Windows strips")]
    TrailingDotOrSpace(String),
    #[error("`{0}` is a device name reserved by Windows")]
    Reserved(String),
    #[error("`{0}` is longer than {MAX_COMPONENT_UNITS} characters")]
    TooLong(String),
    #[error("the name is not valid Unicode (shown with replacement characters)")]
    NotUnicode,
}

/// A validated relative path with `/` separators: no `..`, no root, no drive, no device names,
/// nothing Windows would silently change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Validates `text` as a relative path.
    pub fn new(text: &str) -> Result<Self, RelPathError> {
        validate(text)?;
        Ok(RelPath(text.to_owned()))
    }

    /// Validates a listed entry's relative path: its names must also be valid Unicode, or
    /// the text would name some other file.
    pub fn of_entry(entry: &TreeEntry) -> Result<Self, RelPathError> {
        if !entry.is_unicode() {
            return Err(RelPathError::NotUnicode);
        }
        Self::new(&entry.relative)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path below `root`, with the platform's separators.
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_owned();
        path.extend(self.0.split('/'));
        path
    }

    /// The key under which NTFS and FAT would find this path: two paths with the same key
    /// are the same file there. See [`fold_case`].
    pub fn folded(&self) -> String {
        fold_case(&self.0)
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RelPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RelPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        validate(&text).map_err(|error| serde::de::Error::custom(format!("`{text}`: {error}")))?;
        Ok(RelPath(text))
    }
}

/// `text` with every character replaced by its simple upper-case mapping, as NTFS compares
/// names: `σ`, `ς` and `Σ` are one letter there, while `ß` (whose upper case is two letters)
/// stays itself. Two names with the same folded text are the same file on Windows.
pub fn fold_case(text: &str) -> String {
    // Nearly every name is ASCII, whose simple upper case is ASCII's: one pass over the bytes.
    if text.is_ascii() {
        return text.to_ascii_uppercase();
    }
    text.chars()
        .map(|c| {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(single), None) => single,
                _ => c,
            }
        })
        .collect()
}

fn validate(text: &str) -> Result<(), RelPathError> {
    if text.is_empty() {
        return Err(RelPathError::Empty);
    }
    if text.starts_with('/') {
        return Err(RelPathError::Absolute);
    }
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            continue;
        }
        match character {
            '\\' => return Err(RelPathError::Backslash),
            ':' => return Err(RelPathError::Colon),
            c if c.is_control() => return Err(RelPathError::Control),
            c if FORBIDDEN_CHARACTERS.contains(&c) => return Err(RelPathError::Forbidden(c)),
            _ => {}
        }
    }
    text.split('/').try_for_each(validate_component)
}

fn validate_component(component: &str) -> Result<(), RelPathError> {
    if component.is_empty() {
        return Err(RelPathError::EmptyComponent);
    }
    if component == "." || component == ".." {
        return Err(RelPathError::DotComponent);
    }
    if component.ends_with('.') || component.ends_with(' ') {
        return Err(RelPathError::TrailingDotOrSpace(component.to_owned()));
    }
    if is_reserved(component) {
        return Err(RelPathError::Reserved(component.to_owned()));
    }
    // A UTF-16 unit never takes fewer bytes in UTF-8, so only long names need counting.
    if component.len() > MAX_COMPONENT_UNITS
        && component.encode_utf16().count() > MAX_COMPONENT_UNITS
    {
        return Err(RelPathError::TooLong(component.to_owned()));
    }
    Ok(())
}

/// True for `CON`, `nul.txt`, `COM1.tar.gz`, `LPT9 ` and the like: Windows maps the part
/// before the first dot, with trailing spaces ignored, to a device.
fn is_reserved(component: &str) -> bool {
    let stem = component.split('.').next().unwrap_or(component).trim_end();
    // `COM¹` takes five bytes; no reserved stem is shorter than 3 or longer than 7.
    if !(3..=7).contains(&stem.len()) {
        return false;
    }
    RESERVED_NAMES
        .iter()
        .any(|name| stem.eq_ignore_ascii_case(name))
        || is_superscript_port(stem)
}

/// `COM¹`, `LPT²`, `COM³` and so on: Windows reserves these as well.
fn is_superscript_port(stem: &str) -> bool {
    let Some((prefix, rest)) = stem.split_at_checked(3) else {
        return false;
    };
    (prefix.eq_ignore_ascii_case("COM") || prefix.eq_ignore_ascii_case("LPT"))
        && matches!(rest, "¹" | "²" | "³")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_prints_as_its_text() {
        let text = "AB/0123456789ABCDEF0123456789ABCDEF012345AB.cab";
        assert_eq!(RelPath::new(text).unwrap().to_string(), text);
    }

    /// A listed name that is not valid Unicode would be shown with replacement characters,
    /// naming some other file: refused. A Unicode one is taken as it is.
    #[test]
    fn a_listed_entry_is_taken_only_when_its_name_is_unicode() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ünï.cab"), "x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let name = std::ffi::OsStr::from_bytes(b"\xff.cab");
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let tree = crate::content::tree::list(dir.path()).unwrap();
        let taken: Vec<Result<String, RelPathError>> = (tree.entries.iter())
            .map(|entry| RelPath::of_entry(entry).map(|path| path.to_string()))
            .collect();
        assert!(taken.contains(&Ok("ünï.cab".to_owned())), "{taken:?}");
        if cfg!(unix) {
            assert!(taken.contains(&Err(RelPathError::NotUnicode)), "{taken:?}");
            assert_eq!(taken.len(), 2);
        }
    }

    #[test]
    fn ordinary_paths_are_accepted() {
        for path in [
            "00/0123456789ABCDEF0123456789ABCDEF01234500.cab",
            "anonymousCheckFile.txt",
            "a b/c.d.e",
            "CONSOLE.txt",
            "COM10",
            ".hidden",
            "ünïcödé/文件.cab",
        ] {
            assert!(RelPath::new(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn unsafe_paths_are_refused_with_the_reason() {
        let cases: [(&str, RelPathError); 28] = [
            ("CONIN$", RelPathError::Reserved("CONIN$".into())),
            ("conout$.txt", RelPathError::Reserved("conout$.txt".into())),
            ("x/COM0", RelPathError::Reserved("COM0".into())),
            ("", RelPathError::Empty),
            ("/etc/passwd", RelPathError::Absolute),
            ("a\\b", RelPathError::Backslash),
            ("C:/Windows", RelPathError::Colon),
            ("C:file", RelPathError::Colon),
            ("file.cab:stream", RelPathError::Colon),
            ("a\0b", RelPathError::Control),
            ("a\nb", RelPathError::Control),
            ("a<b", RelPathError::Forbidden('<')),
            ("a>b", RelPathError::Forbidden('>')),
            ("a\"b", RelPathError::Forbidden('"')),
            ("a|b", RelPathError::Forbidden('|')),
            ("a?b", RelPathError::Forbidden('?')),
            ("a*b", RelPathError::Forbidden('*')),
            ("a//b", RelPathError::EmptyComponent),
            ("a/", RelPathError::EmptyComponent),
            ("../x", RelPathError::DotComponent),
            ("a/../../x", RelPathError::DotComponent),
            ("./x", RelPathError::DotComponent),
            ("dir./x", RelPathError::TrailingDotOrSpace("dir.".into())),
            ("x ", RelPathError::TrailingDotOrSpace("x ".into())),
            ("aux/x", RelPathError::Reserved("aux".into())),
            ("d/NUL.txt", RelPathError::Reserved("NUL.txt".into())),
            ("COM¹", RelPathError::Reserved("COM¹".into())),
            ("lpt1 .x", RelPathError::Reserved("lpt1 .x".into())),
        ];
        for (path, expected) in cases {
            assert_eq!(RelPath::new(path), Err(expected), "{path:?}");
        }
        let long = "x".repeat(256);
        assert_eq!(
            RelPath::new(&long),
            Err(RelPathError::TooLong(long.clone()))
        );
        assert!(RelPath::new(&"x".repeat(255)).is_ok());
        // The limit is in UTF-16 units (what NTFS counts), not bytes: 255 two-byte
        // characters and 200 three-byte ones are names Windows takes; 256 are not.
        assert!(RelPath::new(&"é".repeat(255)).is_ok());
        assert!(RelPath::new(&"文".repeat(200)).is_ok());
        let long = "é".repeat(256);
        assert_eq!(
            RelPath::new(&long),
            Err(RelPathError::TooLong(long.clone()))
        );
        // A character outside the BMP takes two units: 128 of them are 256.
        let long = "😀".repeat(128);
        assert_eq!(
            RelPath::new(&long),
            Err(RelPathError::TooLong(long.clone()))
        );
        assert!(RelPath::new(&"😀".repeat(127)).is_ok());
    }

    #[test]
    fn joins_below_the_root_with_the_platform_separator() {
        let path = RelPath::new("00/A.cab").unwrap();
        let root = Path::new("root");
        assert_eq!(path.under(root), root.join("00").join("A.cab"));
    }

    #[test]
    fn folding_matches_names_as_ntfs_does() {
        let fold = |a: &str| RelPath::new(a).unwrap().folded();
        assert_eq!(fold("00/abc.CAB"), fold("00/ABC.cab"));
        assert_eq!(fold("σ"), fold("ς"));
        assert_eq!(fold("µ"), fold("μ"));
        assert_eq!(fold("ſ"), fold("s"));
        assert_ne!(fold("ß"), fold("ss"));
        assert_eq!(fold("Ⱥ"), fold("ⱥ"));
        // The ASCII shortcut folds as the character-wise rule does.
        let ascii: String = (1u8..128).map(char::from).collect();
        let charwise: String = ascii.chars().flat_map(char::to_uppercase).collect();
        assert_eq!(fold_case(&ascii), charwise);
        assert_eq!(fold_case("ab/ſ.cab"), "AB/S.CAB");
    }

    #[test]
    fn deserializing_validates() {
        let error = serde_json::from_str::<RelPath>(r#""../x""#).unwrap_err();
        assert!(error.to_string().contains("`../x`"), "{error}");
        let path: RelPath = serde_json::from_str(r#""a/b""#).unwrap();
        assert_eq!(path.as_str(), "a/b");
    }
}
