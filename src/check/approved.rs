//! The list of approved updates an operator hands to `check --approved`.
//!
//! Operators get it from the WSUS server in one of two shapes: one update GUID per line, or
//! the CSV that `Get-WsusUpdate -Approval Approved | Export-Csv` writes (an optional `#TYPE`
//! line, a header with an `UpdateId` column, quoted fields that may hold commas and line
//! breaks). Windows PowerShell writes ASCII, UTF-8 or UTF-16 depending on `-Encoding`, so
//! the byte-order mark decides the encoding. Every id is checked to be a GUID; a line that
//! is not one is an error naming the file and the line, because silently skipping it would
//! let an approved update go unchecked.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Larger than any real list (a million updates as CSV is far less); guards against being
/// handed the wrong file.
const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// The updates an operator approved: lower-case GUIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    pub ids: BTreeSet<String>,
}

/// Why the approved list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ApprovedError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

impl ApprovedError {
    /// The next step, where the fix is known.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ApprovedError::Invalid { .. } => Some(
                "give one update GUID per line, or the CSV written by \
                 `Get-WsusUpdate -Approval Approved | Export-Csv`",
            ),
            _ => None,
        }
    }
}

/// Reads an approved list in either shape.
pub fn read_approved(path: &Path) -> Result<Approved, ApprovedError> {
    let invalid = |detail: String| ApprovedError::Invalid {
        path: path.to_owned(),
        detail,
    };
    let io_error = |source| ApprovedError::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(io_error)?
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(invalid(format!(
            "larger than {} MiB: not a list of approved updates",
            MAX_BYTES / 1024 / 1024
        )));
    }
    let text = decode(&bytes).map_err(invalid)?;
    let ids = if looks_like_csv(&text) {
        read_csv(&text)
    } else {
        read_lines(&text)
    }
    .map_err(invalid)?;
    if ids.is_empty() {
        return Err(invalid("names no updates".into()));
    }
    Ok(Approved { ids })
}

/// Text from bytes: UTF-16 with a byte-order mark, else UTF-8 (with or without one).
fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| {
        if !bytes.len().is_multiple_of(2) {
            return Err("UTF-16 text with an odd number of bytes".to_owned());
        }
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|pair| from([pair[0], pair[1]]))
            .collect();
        String::from_utf16(&units).map_err(|_| "not valid UTF-16 text".to_owned())
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        utf16(rest, u16::from_le_bytes)
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        utf16(rest, u16::from_be_bytes)
    } else {
        let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        String::from_utf8(rest.to_vec()).map_err(|error| {
            format!(
                "not text: invalid UTF-8 at byte {}",
                error.utf8_error().valid_up_to()
            )
        })
    }
}

/// The lines that carry content: not blank, not a `#` comment (which includes `#TYPE`).
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

/// A CSV starts with a header: several columns, quoted names, or the one column `UpdateId`.
fn looks_like_csv(text: &str) -> bool {
    content_lines(text).next().is_some_and(|(_, first)| {
        first.contains(',') || first.starts_with('"') || first.eq_ignore_ascii_case("UpdateId")
    })
}

fn read_lines(text: &str) -> Result<BTreeSet<String>, String> {
    content_lines(text)
        .map(|(number, line)| {
            normalize_guid(line)
                .ok_or_else(|| format!("line {number}: {line:?} is not an update GUID"))
        })
        .collect()
}

fn read_csv(text: &str) -> Result<BTreeSet<String>, String> {
    // Blank the `#TYPE` line Windows PowerShell puts before the header (blanked, not removed,
    // to keep line numbers right). Only lines before the header: a `#` later may be inside a
    // quoted field that spans lines.
    let mut in_preamble = true;
    let body: String = text
        .lines()
        .map(|line| {
            in_preamble &= line.trim().is_empty() || line.trim_start().starts_with('#');
            if in_preamble { "" } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| format!("cannot read the CSV header: {error}"))?
        .clone();
    let column = headers
        .iter()
        .position(|name| name.trim().eq_ignore_ascii_case("UpdateId"))
        .ok_or_else(|| {
            format!(
                "a CSV without an UpdateId column (its columns: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?;
    let mut ids = BTreeSet::new();
    for record in reader.records() {
        let record = record.map_err(|error| format!("bad CSV: {error}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let value = record.get(column).unwrap_or("").trim();
        let id = normalize_guid(value)
            .ok_or_else(|| format!("line {line}: UpdateId {value:?} is not an update GUID"))?;
        ids.insert(id);
    }
    Ok(ids)
}

/// A GUID in lower case, from `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in either case, with or
/// without braces.
fn normalize_guid(text: &str) -> Option<String> {
    let text = text.trim();
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let groups: Vec<&str> = inner.split('-').collect();
    let lengths_right = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
    let all_hex = groups
        .iter()
        .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    (lengths_right && all_hex).then(|| inner.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "e6cf1350-c01b-414d-a61f-263d14d133b4";
    const B: &str = "0fa1201d-4330-4fa8-8ae9-b877473b6441";

    fn read(bytes: &[u8]) -> Result<Approved, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("approved.txt");
        std::fs::write(&path, bytes).unwrap();
        read_approved(&path).map_err(|error| error.to_string())
    }

    fn ids(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_guid_per_line_in_any_case_with_braces_comments_and_blank_lines() {
        let text = format!("# approved\r\n{}\r\n\r\n{{{B}}}\r\n", A.to_uppercase());
        assert_eq!(read(text.as_bytes()).unwrap().ids, ids(&[A, B]));
    }

    #[test]
    fn powershell_csv_with_type_line_quotes_and_embedded_commas_and_line_breaks() {
        let text = format!(
            "#TYPE Microsoft.UpdateServices.Commands.WsusUpdate\r\n\
             \"Update\",\"Classification\",\"Approved\",\"UpdateId\"\r\n\
             \"Update, with a comma\",\"Security Updates\",\"Install\",\"{A}\"\r\n\
             \"Two\r\nlines\",\"Critical Updates\",\"Install\",\"{}\"\r\n",
            B.to_uppercase()
        );
        assert_eq!(read(text.as_bytes()).unwrap().ids, ids(&[A, B]));
    }

    #[test]
    fn a_hash_sign_inside_a_quoted_field_is_text_not_a_comment() {
        let text =
            format!("\"Title\",\"UpdateId\"\r\n\"Line one\r\n#tag\",\"{A}\"\r\n\"x\",\"{B}\"\r\n");
        assert_eq!(read(text.as_bytes()).unwrap().ids, ids(&[A, B]));
    }

    #[test]
    fn utf16_csv_as_windows_powershell_writes_with_encoding_unicode() {
        let text = format!("\"UpdateId\",\"Title\"\r\n\"{A}\",\"Übersicht\"\r\n");
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(read(&bytes).unwrap().ids, ids(&[A]));
    }

    #[test]
    fn bad_lists_are_refused_naming_the_line() {
        let error = read(format!("{A}\nKB5034441\n").as_bytes()).unwrap_err();
        assert!(
            error.ends_with("line 2: \"KB5034441\" is not an update GUID"),
            "{error}"
        );
        let error = read(b"Title,KB\nx,1\n").unwrap_err();
        assert!(
            error.ends_with("a CSV without an UpdateId column (its columns: Title, KB)"),
            "{error}"
        );
        let error = read(format!("UpdateId\n{A}\nnot-a-guid\n").as_bytes());
        assert!(
            error
                .unwrap_err()
                .ends_with("line 3: UpdateId \"not-a-guid\" is not an update GUID")
        );
        let error =
            read(format!("\"Title\",\"UpdateId\"\n\"x\",\"{A}\"\n\"y\",\"zz\"\n").as_bytes());
        assert!(
            error
                .unwrap_err()
                .ends_with("line 3: UpdateId \"zz\" is not an update GUID")
        );
        assert!(read(b"").unwrap_err().ends_with("names no updates"));
        assert!(
            read(b"\xFF\xFE\x41")
                .unwrap_err()
                .ends_with("odd number of bytes")
        );
        assert!(
            read(b"\x80abc")
                .unwrap_err()
                .ends_with("invalid UTF-8 at byte 0")
        );
    }
}
