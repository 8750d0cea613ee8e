//! The package's container, decided by magic bytes and never by file name.
//!
//! A real export is a Microsoft Cabinet (`MSCF`) holding exactly `package.xml` and
//! `metadata.txt`. Microsoft's documentation calls the file a gzip file; whether wsusutil ever
//! writes one is unconfirmed, so gzip is accepted too, holding either such a cabinet or the
//! package XML alone. Anything else fails with a message that says what was found.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::limits::{Budget, Footprint, MAX_UNPACKED_BYTES};
use super::package_xml::{self, PackageXml, PackageXmlUpdate};
use super::{FileRef, Package, PackageError, Update, cabinet, metadata};
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
    // wsusutil or a scanner may still hold a package just written.
    let file = retry::io_while_held_open(|| File::open(path)).map_err(PackageError::io(path))?;
    read_from(path, file)
}

/// Reads the package `input` holds; `path` names it in errors.
pub fn read_from(path: &Path, mut input: impl Read + Seek) -> Result<Package, PackageError> {
    let io_error = PackageError::io(path);
    let length = input.seek(SeekFrom::End(0)).map_err(io_error)?;
    if length == 0 {
        return Err(PackageError::Empty {
            path: path.to_owned(),
        });
    }
    let magic = read_magic(&mut input).map_err(io_error)?;
    if magic.starts_with(CAB_MAGIC) {
        read_cab(path, input, Container::Cab)
    } else if magic.starts_with(GZIP_MAGIC) {
        read_gzip(path, input, length, MAX_UNPACKED_BYTES)
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

/// Reads what the gzip stream holds, unpacking it as it is read: package XML is parsed as it
/// comes, a cabinet is unpacked into a temporary file first (it must be seekable). Either
/// way at most `limit` bytes are unpacked.
fn read_gzip(
    path: &Path,
    input: impl Read,
    length: u64,
    limit: u64,
) -> Result<Package, PackageError> {
    let mut unpacking = Unpacking {
        decoder: flate2::read::MultiGzDecoder::new(BufReader::new(input)),
        unpacked: 0,
        limit,
        failure: None,
    };
    let mut magic = Vec::with_capacity(8);
    let read = (&mut unpacking).take(8).read_to_end(&mut magic);
    let result = match read {
        Err(error) => Err(PackageError::io(path)(error)),
        Ok(_) => read_unpacking(path, &magic, Cursor::new(&magic).chain(&mut unpacking)),
    };
    // A failure to unpack is the gzip's, whatever the reader of its contents made of it.
    match unpacking.failure {
        Some(Failure::TooLarge) => Err(PackageError::invalid(
            path,
            "gzip",
            format!(
                "unpacks to more than {limit} bytes, more than the largest cabinet: not an \
                 export package"
            ),
        )),
        Some(Failure::CutShort) => Err(PackageError::invalid(
            path,
            "gzip",
            format!(
                "cut short: the compressed data ends early, after {length} bytes; copy it again"
            ),
        )),
        Some(Failure::Damaged(error)) => Err(PackageError::invalid(
            path,
            "gzip",
            format!("cannot unpack: {error}"),
        )),
        None => result,
    }
}

/// Reads the contents of a gzip stream, which start with `magic`.
fn read_unpacking(
    path: &Path,
    magic: &[u8],
    mut contents: impl Read,
) -> Result<Package, PackageError> {
    let text_start = magic.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(magic);
    if magic.starts_with(CAB_MAGIC) {
        let mut inner = tempfile::tempfile().map_err(PackageError::io(path))?;
        io::copy(&mut contents, &mut inner).map_err(PackageError::io(path))?;
        read_cab(path, inner, Container::GzipCab)
    } else if text_start.starts_with(b"<") {
        let contents = BufReader::with_capacity(256 * 1024, contents);
        read_package_xml(path, "gzip: package XML", contents)
    } else {
        Err(PackageError::invalid(
            path,
            "gzip",
            format!(
                "holds neither a Microsoft Cabinet nor XML: it starts with {}",
                describe_bytes(magic)
            ),
        ))
    }
}

/// Why a gzip stream could not be unpacked.
enum Failure {
    TooLarge,
    CutShort,
    Damaged(io::Error),
}

/// A gzip stream being unpacked: at most `limit` bytes, and the reason it failed, kept for
/// the message.
struct Unpacking<R> {
    decoder: flate2::read::MultiGzDecoder<R>,
    unpacked: u64,
    limit: u64,
    failure: Option<Failure>,
}

impl<R: Read> Read for Unpacking<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let room = usize::try_from(self.limit + 1 - self.unpacked).unwrap_or(usize::MAX);
        let wanted = buffer.len().min(room);
        match self.decoder.read(&mut buffer[..wanted]) {
            Ok(count) => {
                self.unpacked += count as u64;
                if self.unpacked > self.limit {
                    self.failure = Some(Failure::TooLarge);
                    return Err(io::Error::other("the gzip stream unpacks to too much"));
                }
                Ok(count)
            }
            Err(error) => {
                let kind = error.kind();
                self.failure = Some(if kind == io::ErrorKind::UnexpectedEof {
                    Failure::CutShort
                } else {
                    Failure::Damaged(error)
                });
                Err(io::Error::new(kind, "the gzip stream cannot be unpacked"))
            }
        }
    }
}

/// The package described by package XML alone, read from `input`: `member` names it in
/// errors.
pub fn read_package_xml(
    path: &Path,
    member: &str,
    input: impl BufRead,
) -> Result<Package, PackageError> {
    let invalid = |detail| PackageError::invalid(path, member, detail);
    let mut budget = Budget::new();
    let xml = package_xml::read(input, &mut budget).map_err(invalid)?;
    check_listed_once(&xml.updates).map_err(invalid)?;
    from_package_xml(xml, &mut budget).map_err(invalid)
}

/// Every update `metadata.txt` describes, read from `input`.
pub fn read_metadata(path: &Path, input: impl BufRead) -> Result<Vec<Update>, PackageError> {
    let mut budget = Budget::new();
    let mut updates = Vec::new();
    metadata::read_updates(input, |update, elements| {
        budget.read_elements(elements)?;
        budget.keep(update.footprint())?;
        updates.push(update);
        Ok(())
    })
    .map_err(|detail| PackageError::invalid(path, METADATA_TXT, detail))?;
    Ok(updates)
}

fn read_cab<R: Read + Seek>(
    path: &Path,
    mut reader: R,
    container: Container,
) -> Result<Package, PackageError> {
    let cabinet_member = match container {
        Container::GzipCab => "gzip: cabinet",
        _ => "cabinet",
    };
    cabinet::check(&mut reader)
        .map_err(|detail| PackageError::invalid(path, cabinet_member, detail))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(PackageError::io(path))?;
    let mut cabinet = cab::Cabinet::new(reader).map_err(|error| {
        PackageError::invalid(
            path,
            cabinet_member,
            format!("not a readable cabinet: {error}"),
        )
    })?;
    let (package_name, metadata_name) = member_names(path, &cabinet)?;

    let member = cabinet
        .read_file(&package_name)
        .map_err(|error| PackageError::invalid(path, &package_name, error.to_string()))?;
    let mut budget = Budget::new();
    let xml = package_xml::read(BufReader::with_capacity(256 * 1024, member), &mut budget)
        .map_err(|detail| PackageError::invalid(path, &package_name, detail))?;

    // Only the update keys of package.xml are needed from here on: the rest is dropped before
    // metadata.txt is read, and what stays (the export, the index, room for the updates) is
    // counted, instead of what was kept, before the index is made.
    let PackageXml {
        mut export,
        updates: listed,
    } = xml;
    export.files.shrink_to_fit();
    budget.forget_kept();
    let per_update = size_of::<((String, u32), bool)>() * 2 + size_of::<Update>();
    let kept = listed
        .iter()
        .map(|update| per_update + update.id.capacity());
    budget
        .keep(export.footprint() + kept.sum::<usize>())
        .map_err(|detail| PackageError::invalid(path, &package_name, detail))?;
    check_listed_once(&listed)
        .map_err(|detail| PackageError::invalid(path, &package_name, detail))?;
    // For each update package.xml lists: whether metadata.txt has described it yet.
    let mut described: HashMap<(String, u32), bool> = listed
        .into_iter()
        .map(|update| ((update.id, update.revision), false))
        .collect();

    let member = cabinet
        .read_file(&metadata_name)
        .map_err(|error| PackageError::invalid(path, &metadata_name, error.to_string()))?;
    let mut updates = Vec::with_capacity(described.len());
    metadata::read_updates(
        BufReader::with_capacity(1024 * 1024, member),
        |update, elements| {
            budget.read_elements(elements)?;
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
            budget.keep(update.footprint() - size_of::<Update>())?;
            updates.push(update);
            Ok(())
        },
    )
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

/// The names of `package.xml` and `metadata.txt` in the cabinet, which must hold only them.
fn member_names<R: Read + Seek>(
    path: &Path,
    cabinet: &cab::Cabinet<R>,
) -> Result<(String, String), PackageError> {
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
    Ok((package_name, metadata_name))
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Refuses an update `package.xml` lists twice (the same id and revision).
fn check_listed_once(updates: &[PackageXmlUpdate]) -> Result<(), String> {
    let mut keys = HashSet::with_capacity(updates.len());
    for update in updates {
        if !keys.insert((update.id.as_str(), update.revision)) {
            return Err(format!(
                "update {} revision {} appears twice",
                update.id, update.revision
            ));
        }
    }
    Ok(())
}

/// The package from `package.xml` alone: updates come from it, with file names taken from
/// its package-level file list, each counted in `budget` before it is made.
fn from_package_xml(xml: PackageXml, budget: &mut Budget) -> Result<Package, String> {
    let names: BTreeMap<_, _> = xml
        .export
        .files
        .iter()
        .map(|f| (f.sha1, f.name.as_str()))
        .collect();
    let mut updates = Vec::with_capacity(xml.updates.len());
    for listed in &xml.updates {
        let mut files = Vec::with_capacity(listed.files.len());
        for sha1 in &listed.files {
            let name = names.get(sha1).copied().unwrap_or_default();
            budget.keep(size_of::<FileRef>() + name.len())?;
            files.push(FileRef {
                sha1: *sha1,
                name: name.to_owned(),
                size: None,
                modified: None,
                patching_type: None,
                sha256: None,
            });
        }
        let update = Update {
            id: listed.id.clone(),
            revision: listed.revision,
            files,
            ..Update::default()
        };
        budget.keep(size_of::<Update>() + update.id.capacity())?;
        updates.push(update);
    }
    drop(names);
    Ok(Package {
        container: Container::GzipXml,
        export: xml.export,
        updates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn read(bytes: &[u8], limit: u64) -> Result<Package, String> {
        read_gzip(Path::new("p.gz"), bytes, bytes.len() as u64, limit)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_gzip_stream_unpacking_past_the_limit_is_refused_whatever_it_holds() {
        let xml = format!(
            "<ExportPackage ServerID=\"x\" CreationTime=\"y\">{}</ExportPackage>",
            "<a/>".repeat(1000)
        );
        assert!(read(&gzip(xml.as_bytes()), xml.len() as u64).is_ok());
        let error = read(&gzip(xml.as_bytes()), xml.len() as u64 - 1).unwrap_err();
        assert_eq!(
            error,
            format!(
                "p.gz: gzip: unpacks to more than {} bytes, more than the largest cabinet: not \
                 an export package",
                xml.len() - 1
            )
        );
        let cabinet = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wsus-export-2024.cab"),
        )
        .unwrap();
        let error = read(&gzip(&cabinet), 100_000).unwrap_err();
        assert!(
            error.starts_with("p.gz: gzip: unpacks to more than 100000 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_gzip_stream_cut_short_inside_package_xml_is_named_as_cut_short() {
        let xml = format!(
            "<ExportPackage ServerID=\"x\" CreationTime=\"y\">{}</ExportPackage>",
            "<a/>".repeat(1000)
        );
        let packed = gzip(xml.as_bytes());
        let cut = &packed[..packed.len() - 12];
        let error = read(cut, u64::MAX / 2).unwrap_err();
        assert_eq!(
            error,
            format!(
                "p.gz: gzip: cut short: the compressed data ends early, after {} bytes; copy \
                 it again",
                cut.len()
            )
        );
    }
}
