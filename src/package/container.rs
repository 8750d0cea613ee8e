//! The package's container, decided by magic bytes and never by file name.
//!
//! A real export is a Microsoft Cabinet (`MSCF`) holding exactly `package.xml` and
//! `metadata.txt`. Microsoft's documentation calls the file a gzip file; whether wsusutil ever
//! writes one is unconfirmed, so gzip is accepted too, holding either such a cabinet or the
//! package XML alone. Anything else fails with a message that says what was found.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::package_xml::{self, PackageXml, PackageXmlUpdate};
use super::{FileRef, Package, PackageError, Update, metadata};
use crate::retry;

const CAB_MAGIC: &[u8] = b"MSCF";
const GZIP_MAGIC: &[u8] = &[0x1F, 0x8B];
const PACKAGE_XML: &str = "package.xml";
const METADATA_TXT: &str = "metadata.txt";

/// How the package was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// A Microsoft Cabinet, as wsusutil writes.
    Cab,
    /// gzip around a Microsoft Cabinet.
    GzipCab,
    /// gzip around the package XML alone (no `metadata.txt`).
    GzipXml,
}

impl Container {
    pub fn describe(self) -> &'static str {
        match self {
            Container::Cab => "Microsoft Cabinet",
            Container::GzipCab => "gzip holding a Microsoft Cabinet",
            Container::GzipXml => "gzip holding package XML",
        }
    }
}

pub fn read(path: &Path) -> Result<Package, PackageError> {
    let io_error = PackageError::io(path);
    // wsusutil or a scanner may still hold a package just written.
    let mut file = retry::io_while_held_open(|| File::open(path)).map_err(io_error)?;
    if file.metadata().map_err(io_error)?.len() == 0 {
        return Err(PackageError::Empty {
            path: path.to_owned(),
        });
    }
    let magic = read_magic(&mut file).map_err(io_error)?;
    if magic.starts_with(CAB_MAGIC) {
        read_cab(path, file, Container::Cab)
    } else if magic.starts_with(GZIP_MAGIC) {
        read_gzip(path, file)
    } else {
        Err(PackageError::UnknownFormat {
            path: path.to_owned(),
            found: describe_bytes(&magic),
        })
    }
}

/// The first bytes of `file`, which is left at its start.
fn read_magic(file: &mut (impl Read + Seek)) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut magic = Vec::with_capacity(8);
    file.by_ref().take(8).read_to_end(&mut magic)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(magic)
}

fn describe_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    let text: String = bytes
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect();
    format!("bytes {} (\"{text}\")", hex.join(" "))
}

/// Unpacks the gzip stream into a temporary file (a cabinet must be seekable) and reads what
/// it holds.
fn read_gzip(path: &Path, file: File) -> Result<Package, PackageError> {
    let mut inner = tempfile::tempfile().map_err(PackageError::io(path))?;
    let mut decoder = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    io::copy(&mut decoder, &mut inner).map_err(|error| {
        let detail = if error.kind() == io::ErrorKind::UnexpectedEof {
            let length = std::fs::metadata(path).map_or(0, |metadata| metadata.len());
            format!(
                "cut short: the compressed data ends early, after {length} bytes; copy it again"
            )
        } else {
            format!("cannot unpack: {error}")
        };
        PackageError::invalid(path, "gzip", detail)
    })?;
    let magic = read_magic(&mut inner).map_err(PackageError::io(path))?;
    let text_start = magic.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&magic);
    if magic.starts_with(CAB_MAGIC) {
        read_cab(path, inner, Container::GzipCab)
    } else if text_start.starts_with(b"<") {
        let xml = package_xml::read(BufReader::new(inner))
            .map_err(|detail| PackageError::invalid(path, "gzip: package XML", detail))?;
        update_keys(&xml.updates)
            .map_err(|detail| PackageError::invalid(path, "gzip: package XML", detail))?;
        Ok(from_package_xml(xml, Container::GzipXml))
    } else {
        Err(PackageError::invalid(
            path,
            "gzip",
            format!(
                "holds neither a Microsoft Cabinet nor XML: it starts with {}",
                describe_bytes(&magic)
            ),
        ))
    }
}

fn read_cab<R: Read + Seek>(
    path: &Path,
    mut reader: R,
    container: Container,
) -> Result<Package, PackageError> {
    check_not_cut_short(path, &mut reader, container)?;
    let mut cabinet = cab::Cabinet::new(reader).map_err(|error| {
        PackageError::invalid(path, "cabinet", format!("not a readable cabinet: {error}"))
    })?;
    let names: Vec<String> = cabinet
        .folder_entries()
        .flat_map(|folder| folder.file_entries())
        .map(|file| file.name().to_owned())
        .collect();
    let find = |wanted: &str| {
        names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(wanted))
            .cloned()
    };
    let (Some(package_name), Some(metadata_name)) = (find(PACKAGE_XML), find(METADATA_TXT)) else {
        return Err(PackageError::invalid(
            path,
            "cabinet",
            format!(
                "expected the members {PACKAGE_XML} and {METADATA_TXT}, found {}",
                list_or_none(&names)
            ),
        ));
    };
    let others: Vec<String> = names
        .iter()
        .filter(|n| **n != package_name && **n != metadata_name)
        .cloned()
        .collect();
    if !others.is_empty() {
        return Err(PackageError::invalid(
            path,
            "cabinet",
            format!(
                "holds members other than {PACKAGE_XML} and {METADATA_TXT}: {}",
                others.join(", ")
            ),
        ));
    }

    let member = cabinet
        .read_file(&package_name)
        .map_err(|error| PackageError::invalid(path, &package_name, error.to_string()))?;
    let xml = package_xml::read(BufReader::with_capacity(256 * 1024, member))
        .map_err(|detail| PackageError::invalid(path, &package_name, detail))?;

    // Only the update keys of package.xml are needed from here on; dropping the rest before
    // metadata.txt is read keeps memory down on large packages.
    let PackageXml {
        mut export,
        updates: listed,
    } = xml;
    export.files.shrink_to_fit();
    // For each update package.xml lists: whether metadata.txt has described it yet.
    let mut described = update_keys(&listed)
        .map_err(|detail| PackageError::invalid(path, &package_name, detail))?;
    drop(listed);

    let member = cabinet
        .read_file(&metadata_name)
        .map_err(|error| PackageError::invalid(path, &metadata_name, error.to_string()))?;
    let mut updates = Vec::with_capacity(described.len());
    metadata::read_updates(BufReader::with_capacity(1024 * 1024, member), |update| {
        // Exports carry several revisions of some updates: identity is id and revision.
        match described.get_mut(&(update.id.clone(), update.revision)) {
            Some(true) => {
                return Err(format!(
                    "update {} revision {} appears twice",
                    update.id, update.revision
                ));
            }
            Some(seen) => *seen = true,
            None => {
                return Err(format!(
                    "describes update {} revision {}, which {PACKAGE_XML} does not list",
                    update.id, update.revision
                ));
            }
        }
        updates.push(update);
        Ok(())
    })
    .map_err(|detail| PackageError::invalid(path, &metadata_name, detail))?;

    // The smallest key, so that the message does not depend on hash order.
    if let Some((id, revision)) = described
        .iter()
        .filter(|(_, seen)| !**seen)
        .map(|(key, _)| key)
        .min()
    {
        return Err(PackageError::invalid(
            path,
            &package_name,
            format!(
                "lists update {id} revision {revision}, which {METADATA_TXT} does not describe"
            ),
        ));
    }
    Ok(Package {
        container,
        export,
        updates,
    })
}

/// Refuses a cabinet shorter than its header says (`cbCabinet`, bytes 8 to 11): a copy cut
/// short, named as such rather than by the read that would run out of bytes.
fn check_not_cut_short(
    path: &Path,
    reader: &mut (impl Read + Seek),
    container: Container,
) -> Result<(), PackageError> {
    let io_error = PackageError::io(path);
    let mut header = [0u8; 12];
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let read = reader
        .by_ref()
        .take(12)
        .read(&mut header)
        .map_err(io_error)?;
    let length = reader.seek(SeekFrom::End(0)).map_err(io_error)?;
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let declared = u32::from_le_bytes(header[8..12].try_into().expect("four bytes"));
    if read < 12 || length < u64::from(declared) {
        let member = match container {
            Container::GzipCab => "gzip: cabinet",
            _ => "cabinet",
        };
        return Err(PackageError::invalid(
            path,
            member,
            format!(
                "cut short: it ends after {length} bytes, and its header says it holds \
                 {declared}; copy it again"
            ),
        ));
    }
    Ok(())
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// The (id, revision) of every update `package.xml` lists, each with `false` (not described by
/// `metadata.txt` yet); each must be listed once.
fn update_keys(updates: &[PackageXmlUpdate]) -> Result<HashMap<(String, u32), bool>, String> {
    let mut keys = HashMap::with_capacity(updates.len());
    for update in updates {
        if keys
            .insert((update.id.clone(), update.revision), false)
            .is_some()
        {
            return Err(format!(
                "update {} revision {} appears twice",
                update.id, update.revision
            ));
        }
    }
    Ok(keys)
}

/// The package from `package.xml` alone: updates come from it, with file names taken from
/// its package-level file list.
fn from_package_xml(xml: PackageXml, container: Container) -> Package {
    let updates = {
        let names: BTreeMap<_, _> = xml
            .export
            .files
            .iter()
            .map(|f| (f.sha1, f.name.clone()))
            .collect();
        xml.updates
            .iter()
            .map(|update| Update {
                id: update.id.clone(),
                revision: update.revision,
                files: update
                    .files
                    .iter()
                    .map(|sha1| FileRef {
                        sha1: *sha1,
                        name: names.get(sha1).cloned().unwrap_or_default(),
                        size: None,
                        modified: None,
                        patching_type: None,
                        sha256: None,
                    })
                    .collect(),
                ..Update::default()
            })
            .collect()
    };
    Package {
        container,
        export: xml.export,
        updates,
    }
}
