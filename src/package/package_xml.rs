//! Streaming `package.xml`: the exporting server, its languages, the package-level file list,
//! and the updates with the digests of their files.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

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
    pub categories: Vec<String>,
    pub classifications: Vec<String>,
}

/// Reads `package.xml` from `input`. Errors are plain text naming the element or the byte
/// position; the caller adds the file and member.
pub fn read(input: impl BufRead) -> Result<PackageXml, String> {
    let mut reader = Reader::from_reader(input);
    let mut package = PackageXml::default();
    let mut stack: Vec<String> = Vec::new();
    let mut buffer = Vec::new();
    let mut seen_root = false;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|error| format!("malformed XML near byte {position}: {error}"))?;
        match event {
            Event::Start(element) => {
                let name = local_name(&element);
                seen_root |= check_root(&stack, &name)?;
                element_opened(&mut package, &stack, &name, &element)?;
                stack.push(name);
            }
            Event::Empty(element) => {
                let name = local_name(&element);
                seen_root |= check_root(&stack, &name)?;
                element_opened(&mut package, &stack, &name, &element)?;
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

/// Accepts the root element only if it is `ExportPackage`; says whether this was the root.
fn check_root(stack: &[String], name: &str) -> Result<bool, String> {
    match (stack.is_empty(), name) {
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
) -> Result<(), String> {
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
        (["ExportPackage", "Languages"], "Language") => package.export.languages.push(Language {
            id: required_attribute(element, "Id")?,
            short_name: attribute(element, "ShortName")?.unwrap_or_default(),
            long_name: attribute(element, "LongName")?.unwrap_or_default(),
            enabled: attribute(element, "Enabled")?.as_deref() == Some("1"),
        }),
        (["ExportPackage", "Files"], "File") => package.export.files.push(PackageFile {
            sha1: decode_sha1(&required_attribute(element, "Digest")?)?,
            name: attribute(element, "Name")?.unwrap_or_default(),
            mu_url: attribute(element, "MUUrl")?.unwrap_or_default(),
        }),
        (["ExportPackage", "Updates"], "Update") => {
            let id = required_attribute(element, "UpdateId")?.to_ascii_lowercase();
            let revision = attribute(element, "RevisionNumber")?.unwrap_or_else(|| "0".into());
            let revision = revision
                .parse()
                .map_err(|_| format!("update {id}: RevisionNumber {revision:?} is not a number"))?;
            package.updates.push(PackageXmlUpdate {
                id,
                revision,
                ..PackageXmlUpdate::default()
            });
        }
        (["ExportPackage", "Updates", "Update", list], item) => {
            let Some(update) = package.updates.last_mut() else {
                return Ok(());
            };
            match (*list, item) {
                ("Files", "File") => update.files.push(
                    decode_sha1(&required_attribute(element, "Digest")?)
                        .map_err(|error| format!("update {}: {error}", update.id))?,
                ),
                ("Categories", "Category") => update
                    .categories
                    .push(required_attribute(element, "Value")?),
                ("Classifications", "Classification") => update
                    .classifications
                    .push(required_attribute(element, "Value")?),
                _ => {}
            }
        }
        _ => {}
    }
    Ok(())
}
