//! Synthetic export packages, written the way `wsusutil export` writes them.
//!
//! The real export the project has carries only categories and detectoids, so completeness
//! checks need packages of their own: a Microsoft Cabinet holding `package.xml` (UTF-8 with a
//! byte-order mark, one line) and `metadata.txt` (length-prefixed update XML records, lengths
//! in UTF-16 units), as Microsoft's own writer produces. The updates reference the files of a
//! generated site, so a package and a site agree exactly until a test removes or corrupts
//! chosen files; references to files that were never written and site files no update uses
//! can be asked for too. Titles and descriptions carry several scripts, characters outside
//! the Basic Multilingual Plane and XML entities, so the reader's hard cases occur in every
//! package. The cabinet is compressed with MSZIP (what the `cab` crate writes); Microsoft
//! uses LZX, which the reader also reads.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use base64::Engine;
use quick_xml::escape::escape;

use super::{SiteFile, SplitMix64};
use crate::content::{Sha1Digest, content_path};

/// What to put in a package.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    /// Updates that carry files. The referenced site files are dealt out among them in turn.
    pub software_updates: usize,
    /// How many of the software updates also appear in a second revision with the same files,
    /// as real exports carry several revisions of one update.
    pub second_revisions: usize,
    /// Bundles: updates with no files of their own that bundle two software updates each.
    pub bundles: usize,
    /// Updates of type `Category` and `Detectoid`, which carry no files.
    pub categories: usize,
    pub detectoids: usize,
    /// References to content files that are not in the site (the site never had them).
    pub missing_files: usize,
    /// The last this many site files (by path) are referenced by no update: orphans.
    pub unreferenced_files: usize,
    /// Localized properties per update (at least one, English first; at most
    /// [`LANGUAGES`]`.len()`).
    pub languages: usize,
    /// Extra description text per localized property, to make records as large as real ones
    /// (benchmarks).
    pub description_bytes: usize,
    /// The title of the first software update, in every language, in place of the generated
    /// one: for tests of how reports show titles.
    pub first_title: Option<String>,
    pub seed: u64,
}

impl Default for ExportSpec {
    fn default() -> Self {
        ExportSpec {
            software_updates: 8,
            second_revisions: 1,
            bundles: 2,
            categories: 2,
            detectoids: 1,
            missing_files: 0,
            unreferenced_files: 0,
            languages: 3,
            description_bytes: 0,
            first_title: None,
            seed: 1,
        }
    }
}

/// The languages the generated packages know, as (short name, id, long name, the word for
/// "update"). English is enabled; the others only enlarge the records.
pub const LANGUAGES: &[(&str, u32, &str, &str)] = &[
    ("en", 1033, "English", "Update"),
    ("de", 1031, "German", "Aktualisierung"),
    ("ja", 1041, "Japanese", "更新プログラム"),
    ("ar", 1025, "Arabic", "تحديث"),
    ("el", 1032, "Greek", "Ενημέρωση"),
    ("ru", 1049, "Russian", "Обновление"),
    ("zh-cn", 2052, "Chinese (Simplified)", "更新"),
    ("fr", 1036, "French", "Mise à jour"),
];

/// The ServerID of every generated package.
pub const SERVER_ID: &str = "5e1f0c2a-7b3d-4c8e-9a61-0d2b4f6a8c10";
/// The CreationTime of every generated package.
pub const CREATION_TIME: &str = "2026-01-13T18:00:00Z";

/// The product category every generated software update is filed under.
const WINDOWS_SERVER_CATEGORY: &str = "569e8e8f-c6cd-42c8-92a3-efbb20a0f6f5";

/// One update of a generated package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticUpdate {
    /// Lower case, as the reader reports it.
    pub id: String,
    pub revision: u32,
    /// `Software`, `Category` or `Detectoid`.
    pub kind: &'static str,
    pub kb: Option<String>,
    /// The English title, as the reader reports it (entities resolved).
    pub title: String,
    /// The content files it references directly (a missing file has a path no site holds).
    pub files: Vec<SiteFile>,
    /// Ids of the updates it bundles.
    pub bundled: Vec<String>,
}

/// What a generated package holds, in the order of `metadata.txt`.
#[derive(Debug, Clone)]
pub struct SyntheticExport {
    pub updates: Vec<SyntheticUpdate>,
    /// The referenced files that are not in the site.
    pub missing: Vec<SiteFile>,
    /// Site files no update references.
    pub unreferenced: Vec<SiteFile>,
}

impl SyntheticUpdate {
    /// The name the metadata gives one of its files: a Microsoft-style name with the file's
    /// extension.
    pub fn file_name(&self, file: &SiteFile) -> String {
        let extension = file.path.rsplit_once('.').map_or("cab", |(_, e)| e);
        let kb = self.kb.as_deref().unwrap_or("0");
        format!(
            "windows10.0-kb{kb}-x64_{}.{extension}",
            &file.sha1.to_string()[..16].to_ascii_lowercase()
        )
    }
}

impl SyntheticExport {
    /// The update (latest revision) with this id.
    pub fn update(&self, id: &str) -> Option<&SyntheticUpdate> {
        self.updates.iter().rev().find(|update| update.id == id)
    }

    /// The files an update needs: its own, and those of the updates it bundles.
    pub fn files_needed(&self, update: &SyntheticUpdate) -> Vec<SiteFile> {
        let mut files = update.files.clone();
        for id in &update.bundled {
            if let Some(bundled) = self.update(id) {
                files.extend(self.files_needed(bundled));
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup();
        files
    }
}

/// Writes a package at `path` whose updates reference `site_files`, and returns what it
/// holds. The members are written to temporary files beside `path` first, so a package of
/// any size is written without holding it in memory; the cabinet appears under its name only
/// when complete.
pub fn write_export(
    path: &Path,
    site_files: &[SiteFile],
    spec: &ExportSpec,
) -> io::Result<SyntheticExport> {
    let export = plan(site_files, spec)?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut package_xml = tempfile::tempfile_in(folder)?;
    write_package_xml(&mut package_xml, &export)?;
    let mut metadata_txt = tempfile::tempfile_in(folder)?;
    write_metadata(&mut metadata_txt, &export, spec)?;

    let cabinet = tempfile::NamedTempFile::new_in(folder)?;
    let mut builder = cab::CabinetBuilder::new();
    let members = builder.add_folder(cab::CompressionType::MsZip);
    members.add_file("package.xml");
    members.add_file("metadata.txt");
    let mut writer = builder.build(BufWriter::new(cabinet))?;
    let mut sources = [package_xml, metadata_txt].into_iter();
    while let Some(mut member) = writer.next_file()? {
        let mut source = sources.next().expect("one source per member");
        source.seek(SeekFrom::Start(0))?;
        io::copy(&mut source, &mut member)?;
    }
    let cabinet = writer.finish()?.into_inner().map_err(|e| e.into_error())?;
    cabinet.as_file().sync_all()?;
    cabinet.persist(path).map_err(|error| error.error)?;
    Ok(export)
}

/// Decides ids, titles and which update references which file.
fn plan(site_files: &[SiteFile], spec: &ExportSpec) -> io::Result<SyntheticExport> {
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
    if spec.unreferenced_files > site_files.len() {
        return Err(invalid(format!(
            "cannot leave {} of {} site files unreferenced",
            spec.unreferenced_files,
            site_files.len()
        )));
    }
    let (referenced, unreferenced) =
        site_files.split_at(site_files.len() - spec.unreferenced_files);
    let mut random = SplitMix64(spec.seed ^ 0x5745_5355_4558_5054);
    let missing: Vec<SiteFile> = (0..spec.missing_files)
        .map(|_| {
            let mut sha1 = [0u8; 20];
            random.fill(&mut sha1);
            let sha1 = Sha1Digest(sha1);
            SiteFile {
                path: content_path(&sha1, "cab"),
                sha1,
                size: 1000 + random.next() % 100_000,
            }
        })
        .collect();
    let wanted = referenced.iter().chain(&missing);
    if spec.software_updates == 0 && wanted.clone().next().is_some() {
        return Err(invalid(
            "files to reference, but no software updates".into(),
        ));
    }
    if spec.bundles > 0 && spec.software_updates == 0 {
        return Err(invalid("bundles, but no software updates to bundle".into()));
    }
    if spec.second_revisions > spec.software_updates {
        return Err(invalid(format!(
            "cannot give {} of {} software updates a second revision",
            spec.second_revisions, spec.software_updates
        )));
    }

    let mut updates = Vec::new();
    for number in 1..=spec.categories {
        updates.push(new_update("Category", number, &mut random));
    }
    for number in 1..=spec.detectoids {
        updates.push(new_update("Detectoid", number, &mut random));
    }
    let first_software = updates.len();
    for number in 1..=spec.software_updates {
        updates.push(new_update("Software", number, &mut random));
    }
    if let (Some(title), Some(first)) = (&spec.first_title, updates.get_mut(first_software)) {
        first.title.clone_from(title);
    }
    for (index, file) in wanted.enumerate() {
        updates[first_software + index % spec.software_updates]
            .files
            .push(file.clone());
    }
    let software: Vec<String> = updates[first_software..]
        .iter()
        .map(|u| u.id.clone())
        .collect();
    for number in 1..=spec.bundles {
        let mut bundle = new_update("Software", spec.software_updates + number, &mut random);
        bundle.bundled = (0..2)
            .map(|k| software[(2 * (number - 1) + k) % software.len().max(1)].clone())
            .collect();
        bundle.bundled.dedup();
        updates.push(bundle);
    }
    for index in 0..spec.second_revisions {
        let mut newer = updates[first_software + index].clone();
        newer.revision = 2;
        updates.push(newer);
    }
    Ok(SyntheticExport {
        updates,
        missing,
        unreferenced: unreferenced.to_vec(),
    })
}

/// An update with a fresh id, a title and (for software) a KB number, and nothing else yet.
fn new_update(kind: &'static str, number: usize, random: &mut SplitMix64) -> SyntheticUpdate {
    let id = guid(random);
    let (kb, title) = match kind {
        "Software" => {
            let kb = (5_040_000 + number).to_string();
            let title = format!(
                "{} & Cumulative Update {number} for Windows Server (KB{kb})",
                LANGUAGES[0].3
            );
            (Some(kb), title)
        }
        _ => (None, format!("{kind} {number}")),
    };
    SyntheticUpdate {
        id,
        revision: 1,
        kind,
        kb,
        title,
        files: Vec::new(),
        bundled: Vec::new(),
    }
}

fn guid(random: &mut SplitMix64) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn base64(sha1: &Sha1Digest) -> String {
    base64::engine::general_purpose::STANDARD.encode(sha1.0)
}

fn write_package_xml(out: &mut File, export: &SyntheticExport) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    out.write_all(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>")?;
    write!(
        out,
        "<ExportPackage ServerID=\"{SERVER_ID}\" CreationTime=\"{CREATION_TIME}\" \
         FormatVersion=\"1.0\" ProtocolVersion=\"1.20\"><Languages>"
    )?;
    for (short, id, long, _) in LANGUAGES {
        let enabled = u8::from(*short == "en");
        write!(
            out,
            "<Language Id=\"{id}\" ShortName=\"{short}\" LongName=\"{long}\" Enabled=\"{enabled}\" />"
        )?;
    }
    out.write_all(b"</Languages><Files>")?;
    let mut listed = std::collections::BTreeSet::new();
    for update in &export.updates {
        for file in &update.files {
            if listed.insert(file.sha1) {
                let name = update.file_name(file);
                write!(
                    out,
                    "<File Digest=\"{}\" MUUrl=\"http://download.windowsupdate.com/d/msdownload/update/software/secu/2026/01/{name}\" Name=\"{name}\" />",
                    base64(&file.sha1)
                )?;
            }
        }
    }
    out.write_all(b"</Files><Updates>")?;
    for update in &export.updates {
        write!(
            out,
            "<Update UpdateId=\"{}\" RevisionNumber=\"{}\">",
            update.id, update.revision
        )?;
        if update.files.is_empty() {
            out.write_all(b"<Files />")?;
        } else {
            out.write_all(b"<Files>")?;
            for file in &update.files {
                write!(out, "<File Digest=\"{}\" />", base64(&file.sha1))?;
            }
            out.write_all(b"</Files>")?;
        }
        if update.kind == "Software" {
            write!(
                out,
                "<Categories><Category Value=\"{WINDOWS_SERVER_CATEGORY}\" /></Categories><Classifications>\
                 <Classification Value=\"0fa1201d-4330-4fa8-8ae9-b877473b6441\" /></Classifications></Update>"
            )?;
        } else {
            out.write_all(b"<Categories /><Classifications /></Update>")?;
        }
    }
    out.write_all(b"</Updates></ExportPackage>")?;
    out.flush()
}

fn write_metadata(out: &mut File, export: &SyntheticExport, spec: &ExportSpec) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1024 * 1024, out);
    let padding = description_padding(spec.description_bytes);
    let mut xml = String::new();
    for update in &export.updates {
        xml.clear();
        update_xml(&mut xml, update, spec, &padding);
        write!(
            out,
            "{},{:08x},{:08x},{xml}\r\n",
            update.id,
            update.revision,
            xml.encode_utf16().count()
        )?;
    }
    out.flush()
}

/// Text for descriptions, mixing scripts and a character outside the Basic Multilingual Plane
/// (two UTF-16 units, four UTF-8 bytes), `bytes` long or a little more.
fn description_padding(bytes: usize) -> String {
    const PIECE: &str = "Installs fixes; Überprüfung 更新 🛡 &amp; more. ";
    let mut text = String::with_capacity(bytes + PIECE.len());
    while text.len() < bytes {
        text.push_str(PIECE);
    }
    text
}

fn update_xml(xml: &mut String, update: &SyntheticUpdate, spec: &ExportSpec, padding: &str) {
    let id = update.id.to_ascii_uppercase();
    let _ = write!(
        xml,
        "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\">\
         <upd:UpdateIdentity UpdateID=\"{id}\" RevisionNumber=\"{}\" />\
         <upd:Properties DefaultPropertiesLanguage=\"en\" UpdateType=\"{}\" IsPublic=\"true\" \
         PublicationState=\"Published\" CreationDate=\"{CREATION_TIME}\">",
        update.revision, update.kind
    );
    if let Some(kb) = &update.kb {
        let _ = write!(xml, "<upd:KBArticleID>{kb}</upd:KBArticleID>");
    }
    xml.push_str("</upd:Properties><upd:LocalizedPropertiesCollection>");
    for (short, _, _, word) in LANGUAGES.iter().take(spec.languages.max(1)) {
        let title = update.title.replacen(LANGUAGES[0].3, word, 1);
        let _ = write!(
            xml,
            "<upd:LocalizedProperties><upd:Language>{short}</upd:Language>\
             <upd:Title>{}</upd:Title><upd:Description>{}\n{padding}</upd:Description>\
             </upd:LocalizedProperties>",
            escape(&title),
            escape(&title)
        );
    }
    xml.push_str("</upd:LocalizedPropertiesCollection>");
    if !update.files.is_empty() {
        xml.push_str("<upd:Files>");
        for file in &update.files {
            let _ = write!(
                xml,
                "<upd:File Digest=\"{}\" DigestAlgorithm=\"SHA1\" FileName=\"{}\" Size=\"{}\" \
                 Modified=\"{CREATION_TIME}\" PatchingType=\"SelfContained\" />",
                base64(&file.sha1),
                update.file_name(file),
                file.size
            );
        }
        xml.push_str("</upd:Files>");
    }
    if !update.bundled.is_empty() {
        xml.push_str("<upd:Relationships><upd:BundledUpdates>");
        for id in &update.bundled {
            let _ = write!(
                xml,
                "<upd:UpdateIdentity UpdateID=\"{}\" RevisionNumber=\"1\" />",
                id.to_ascii_uppercase()
            );
        }
        xml.push_str("</upd:BundledUpdates></upd:Relationships>");
    }
    xml.push_str("</upd:Update>");
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::package;
    use crate::synth::{SiteSpec, generate};

    #[test]
    fn the_reader_reads_back_exactly_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let spec = SiteSpec {
            files: 10,
            min_size: 10,
            max_size: 1000,
            ..SiteSpec::default()
        };
        let site = generate(&dir.path().join(crate::content::FOLDER_NAME), &spec).unwrap();
        let export_spec = ExportSpec {
            missing_files: 2,
            unreferenced_files: 3,
            languages: LANGUAGES.len(),
            description_bytes: 200,
            ..ExportSpec::default()
        };
        let path = dir.path().join("export.cab");
        let written = write_export(&path, &site.files, &export_spec).unwrap();
        assert_eq!(&fs::read(&path).unwrap()[..4], b"MSCF");

        let package = package::open(&path).unwrap();
        assert_eq!(package.export.server_id, SERVER_ID);
        assert_eq!(package.updates.len(), written.updates.len());
        assert_eq!(written.updates.len(), 2 + 1 + 8 + 2 + 1);
        for (read, wrote) in package.updates.iter().zip(&written.updates) {
            assert_eq!(read.id, wrote.id);
            assert_eq!(read.revision, wrote.revision);
            assert_eq!(read.kind, wrote.kind);
            assert_eq!(read.kb, wrote.kb);
            assert_eq!(read.title.as_deref(), Some(wrote.title.as_str()));
            assert_eq!(read.bundled, wrote.bundled);
            let paths: Vec<String> = read.files.iter().map(|f| f.content_path()).collect();
            let expected: Vec<String> = wrote.files.iter().map(|f| f.path.clone()).collect();
            assert_eq!(paths, expected);
            let sizes: Vec<Option<u64>> = read.files.iter().map(|f| f.size).collect();
            let expected: Vec<Option<u64>> = wrote.files.iter().map(|f| Some(f.size)).collect();
            assert_eq!(sizes, expected);
        }
        let referenced: usize = written.updates[..11].iter().map(|u| u.files.len()).sum();
        assert_eq!(referenced, 10 - 3 + 2);
        assert_eq!(written.unreferenced, site.files[7..]);
        assert_eq!(written.missing.len(), 2);
        let bundle = &written.updates[11];
        assert_eq!(bundle.bundled.len(), 2);
        assert!(bundle.files.is_empty());
        assert!(!written.files_needed(bundle).is_empty());
    }

    #[test]
    fn impossible_specs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            SiteFile {
                path: "00/x.cab".into(),
                sha1: Sha1Digest([0; 20]),
                size: 1,
            };
            2
        ];
        let path = dir.path().join("x.cab");
        let spec = ExportSpec {
            unreferenced_files: 3,
            ..ExportSpec::default()
        };
        assert!(write_export(&path, &files, &spec).is_err());
        let spec = ExportSpec {
            software_updates: 0,
            second_revisions: 0,
            ..ExportSpec::default()
        };
        assert!(write_export(&path, &files, &spec).is_err());
        let spec = ExportSpec {
            software_updates: 0,
            second_revisions: 0,
            bundles: 1,
            unreferenced_files: 2,
            ..ExportSpec::default()
        };
        let error = write_export(&path, &files, &spec).unwrap_err();
        assert_eq!(
            error.to_string(),
            "bundles, but no software updates to bundle"
        );
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
