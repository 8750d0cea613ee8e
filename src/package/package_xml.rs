//! Streaming `package.xml`: the exporting server, its languages, the package-level file list,
//! and the updates with the digests of their files.
//!
//! The XML reader holds one tag, text or comment at a time: each is refused past
//! [`MAX_EVENT_BYTES`], so that neither megabytes of whitespace nor a giant tag are held
//! whole. Elements nest at most [`MAX_DEPTH`] levels, and what is kept counts against the
//! package's [`Budget`], as does every element.

use std::io::{self, BufRead, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::limits::{Budget, Footprint, MAX_DEPTH, MAX_EVENT_BYTES};
use super::xml::{attribute, local_name, required_attribute};
use super::{Export, Language, PackageFile, decode_sha1};
use crate::content::Sha1Digest;

/// What `package.xml` says.
#[derive(Debug, Default)]
pub struct PackageXml {
    pub export: Export,
    pub updates: Vec<PackageXmlUpdate>,
}

/// An `Update` element of `package.xml`.
#[derive(Debug, Default)]
pub struct PackageXmlUpdate {
    pub id: String,
    pub revision: u32,
    pub files: Vec<Sha1Digest>,
}

/// The input, handed to the XML reader at most `left` bytes at a time: the reader is given a
/// fresh allowance before each event, and an event that uses it up fails.
struct Allowance<R> {
    input: R,
    left: u64,
}

impl<R: BufRead> Read for Allowance<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl<R: BufRead> BufRead for Allowance<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.left == 0 {
            return Err(io::Error::other(
                "the allowance of one XML event is used up",
            ));
        }
        let left = usize::try_from(self.left).unwrap_or(usize::MAX);
        let available = self.input.fill_buf()?;
        Ok(&available[..available.len().min(left)])
    }

    fn consume(&mut self, count: usize) {
        self.left = self.left.saturating_sub(count as u64);
        self.input.consume(count);
    }
}

/// Reads `package.xml` from `input`, counting its elements and what it keeps in `budget`. Errors are plain
/// text naming the element or the byte position; the caller adds the file and member.
pub fn read(input: impl BufRead, budget: &mut Budget) -> Result<PackageXml, String> {
    let mut reader = Reader::from_reader(Allowance { input, left: 0 });
    let mut package = PackageXml::default();
    let mut stack: Vec<String> = Vec::new();
    let mut buffer = Vec::new();
    let mut seen_root = false;
    loop {
        let position = reader.buffer_position();
        reader.get_mut().left = MAX_EVENT_BYTES;
        let event = reader.read_event_into(&mut buffer).map_err(|error| {
            if reader.get_ref().left == 0 {
                format!(
                    "text, a tag or a comment longer than {} MiB near byte {position}: no \
                     export holds one",
                    MAX_EVENT_BYTES / 1024 / 1024
                )
            } else {
                format!("malformed XML near byte {position}: {error}")
            }
        })?;
        match event {
            Event::Start(element) => {
                budget.read_elements(1)?;
                let name = local_name(&element);
                seen_root |= check_root(&stack, name, seen_root)?;
                element_opened(&mut package, &stack, name, &element, budget)?;
                if stack.len() == MAX_DEPTH {
                    return Err(format!(
                        "elements nested more than {MAX_DEPTH} levels deep near byte \
                         {position}: no export nests so deep"
                    ));
                }
                stack.push(name.to_owned());
            }
            Event::Empty(element) => {
                budget.read_elements(1)?;
                let name = local_name(&element);
                seen_root |= check_root(&stack, name, seen_root)?;
                element_opened(&mut package, &stack, name, &element, budget)?;
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    if let Some(open) = stack.last() {
        return Err(format!(
            "the XML ends inside <{open}>: the file is truncated"
        ));
    }
    if !seen_root {
        return Err("no <ExportPackage> element: the file is empty or not package.xml".into());
    }
    Ok(package)
}

/// Accepts the root element only if it is the first and only `ExportPackage`; says whether
/// this was the root.
fn check_root(stack: &[String], name: &str, seen_root: bool) -> Result<bool, String> {
    match (stack.is_empty(), name) {
        (true, _) if seen_root => Err(format!(
            "a second root element <{name}> after <ExportPackage>"
        )),
        (true, "ExportPackage") => Ok(true),
        (true, other) => Err(format!(
            "the root element is <{other}>, expected <ExportPackage>"
        )),
        (false, _) => Ok(false),
    }
}

fn element_opened(
    package: &mut PackageXml,
    stack: &[String],
    name: &str,
    element: &BytesStart,
    budget: &mut Budget,
) -> Result<(), String> {
    // Most elements are of no interest: they cost no more than this comparison.
    if !matches!(name, "ExportPackage" | "Language" | "File" | "Update") {
        return Ok(());
    }
    let parents: Vec<&str> = stack.iter().map(String::as_str).collect();
    match (parents.as_slice(), name) {
        ([], "ExportPackage") => {
            package.export.server_id = required_attribute(element, "ServerID")?;
            package.export.creation_time = required_attribute(element, "CreationTime")?;
            package.export.format_version =
                attribute(element, "FormatVersion")?.unwrap_or_default();
            package.export.protocol_version =
                attribute(element, "ProtocolVersion")?.unwrap_or_default();
        }
        (["ExportPackage", "Languages"], "Language") => {
            let language = Language {
                id: required_attribute(element, "Id")?,
                short_name: attribute(element, "ShortName")?.unwrap_or_default(),
                long_name: attribute(element, "LongName")?.unwrap_or_default(),
                enabled: attribute(element, "Enabled")?.as_deref() == Some("1"),
            };
            budget.keep(language.footprint())?;
            package.export.languages.push(language);
        }
        (["ExportPackage", "Files"], "File") => {
            let file = PackageFile {
                sha1: decode_sha1(&required_attribute(element, "Digest")?)?,
                name: attribute(element, "Name")?.unwrap_or_default(),
                mu_url: attribute(element, "MUUrl")?.unwrap_or_default(),
            };
            budget.keep(file.footprint())?;
            package.export.files.push(file);
        }
        (["ExportPackage", "Updates"], "Update") => {
            let id = required_attribute(element, "UpdateId")?.to_ascii_lowercase();
            let revision = attribute(element, "RevisionNumber")?.unwrap_or_else(|| "0".into());
            let revision = revision
                .parse()
                .map_err(|_| format!("update {id}: RevisionNumber {revision:?} is not a number"))?;
            let update = PackageXmlUpdate {
                id,
                revision,
                files: Vec::new(),
            };
            budget.keep(update.footprint())?;
            package.updates.push(update);
        }
        (["ExportPackage", "Updates", "Update", "Files"], "File") => {
            let Some(update) = package.updates.last_mut() else {
                return Ok(());
            };
            let sha1 = decode_sha1(&required_attribute(element, "Digest")?)
                .map_err(|error| format!("update {}: {error}", update.id))?;
            budget.keep(size_of::<Sha1Digest>())?;
            update.files.push(sha1);
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(count: usize) -> String {
        let file = "<File Digest=\"+woVBgFHAZXEe06Nh/yz9QKSvrI=\" Name=\"kb.cab\" MUUrl=\"\"/>";
        format!(
            "<ExportPackage ServerID=\"x\" CreationTime=\"y\"><Files>{}</Files></ExportPackage>",
            file.repeat(count)
        )
    }

    #[test]
    fn what_is_kept_counts_against_the_limit() {
        let xml = files(1000);
        let package = read(xml.as_bytes(), &mut Budget::with_limits(1 << 20, 10_000)).unwrap();
        assert_eq!(package.export.files.len(), 1000);
        let error = read(xml.as_bytes(), &mut Budget::with_limits(50_000, 10_000)).unwrap_err();
        assert!(
            error.starts_with("the updates, files and names it describes would take more than"),
            "{error}"
        );
    }

    #[test]
    fn every_element_counts_kept_or_not() {
        let xml = format!(
            "<ExportPackage ServerID=\"x\" CreationTime=\"y\">{}</ExportPackage>",
            "<a/>".repeat(9)
        );
        read(xml.as_bytes(), &mut Budget::with_limits(1 << 20, 10)).unwrap();
        let error = read(xml.as_bytes(), &mut Budget::with_limits(1 << 20, 9)).unwrap_err();
        assert_eq!(
            error,
            "more than 9 elements in the package, more than any real export"
        );
    }

    #[test]
    fn a_second_root_element_is_refused() {
        let xml = "<ExportPackage ServerID=\"x\" CreationTime=\"y\"/><ExportPackage ServerID=\"z\" CreationTime=\"y\"/>";
        let error = read(xml.as_bytes(), &mut Budget::new()).unwrap_err();
        assert_eq!(
            error,
            "a second root element <ExportPackage> after <ExportPackage>"
        );
    }

    #[test]
    fn a_tag_longer_than_the_allowance_is_refused_whatever_the_buffer() {
        let name = "n".repeat(MAX_EVENT_BYTES as usize);
        let xml = format!(
            "<ExportPackage ServerID=\"x\" CreationTime=\"y\"><Files><File Digest=\"+woVBgFHAZXEe06Nh/yz9QKSvrI=\" Name=\"{name}\"/></Files></ExportPackage>"
        );
        for capacity in [7, 8192, 1 << 21] {
            let input = io::BufReader::with_capacity(capacity, xml.as_bytes());
            let error = read(input, &mut Budget::new()).unwrap_err();
            assert!(
                error.starts_with("text, a tag or a comment longer than 1 MiB near byte 52"),
                "{capacity}: {error}"
            );
        }
    }
}
