//! Streaming `metadata.txt`: one record per update,
//! `<UpdateID>,<revision: 8 hex>,<XML length: 8 hex>,<XML>\r\n`.
//!
//! The length counts UTF-16 code units, and the XML may contain line breaks, so records are
//! cut by the length field, never by line. The file can be gigabytes: one thread cuts records
//! from a buffered stream while the others parse them, a few megabytes at a time, and only
//! the parsed updates are kept.

use std::io::{BufRead, Read};
use std::sync::mpsc::{self, SyncSender};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use rayon::prelude::*;

use super::limits::MAX_DEPTH;
use super::xml::{attribute, local_name, required_attribute, resolve_reference};
use super::{FileRef, Update, decode_sha1};

/// Longest record accepted, in bytes of UTF-8: far beyond any real update (the largest record
/// of the real export in `tests/fixtures` is 0.85 MB), small enough that the records held while
/// others are parsed stay within tens of megabytes whatever their length fields say.
const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// Records are cut on one thread and parsed on the others, in batches of about this many bytes
/// of XML (a batch ends with the record that reaches it); two batches wait at most, so memory
/// stays flat whatever the file's size: four batches at most are held at once (one cut, two
/// waiting, one parsed), about 80 MiB when every record has the largest size.
const BATCH_BYTES: usize = 4 * 1024 * 1024;
const BATCHES_WAITING: usize = 2;

/// One record, cut from the file but not parsed yet.
struct Record {
    number: u64,
    /// Byte offset of the record in the file.
    start: u64,
    id: String,
    revision: u32,
    xml: Vec<u8>,
}

impl Record {
    fn context(&self, detail: String) -> String {
        format!(
            "record {} (update {}) at byte {}: {detail}",
            self.number, self.id, self.start
        )
    }

    /// The update the record describes, and how many elements its XML holds.
    fn parse(&self) -> Result<(Update, u64), String> {
        let (update, elements) = parse_update(&self.xml).map_err(|detail| self.context(detail))?;
        if !update.id.eq_ignore_ascii_case(&self.id) || update.revision != self.revision {
            return Err(self.context(format!(
                "the record says update {} revision {}, its XML says {} revision {}",
                self.id, self.revision, update.id, update.revision
            )));
        }
        Ok((update, elements))
    }
}

type Batch = Result<Vec<Record>, String>;

/// Reads every record of `input`, handing each parsed update, with the number of elements of
/// its XML, to `each` in file order. Errors
/// are plain text naming the record (its number and update id) and byte offset; the first
/// error in file order is the one returned.
pub fn read_updates(
    input: impl BufRead,
    each: impl FnMut(Update, u64) -> Result<(), String> + Send,
) -> Result<(), String> {
    let (sender, batches) = mpsc::sync_channel::<Batch>(BATCHES_WAITING);
    std::thread::scope(|scope| {
        // The input stays on this thread (a cabinet member cannot move between threads).
        let parser = scope.spawn(move || parse_batches(batches, each));
        cut_records(input, &sender);
        drop(sender);
        parser
            .join()
            .unwrap_or_else(|_| Err("the metadata parser stopped unexpectedly".into()))
    })
}

/// Parses batches in file order, each batch across all threads. Returning early drops the
/// receiver, which stops the cutting at its next batch.
fn parse_batches(
    batches: mpsc::Receiver<Batch>,
    mut each: impl FnMut(Update, u64) -> Result<(), String>,
) -> Result<(), String> {
    for batch in batches {
        let batch = batch?;
        let updates: Vec<Result<(Update, u64), String>> =
            batch.par_iter().map(Record::parse).collect();
        for (record, parsed) in batch.iter().zip(updates) {
            let (update, elements) = parsed?;
            each(update, elements).map_err(|detail| record.context(detail))?;
        }
    }
    Ok(())
}

/// Cuts `input` into records and sends them in batches; an error is sent after the records
/// before it, and ends the work.
fn cut_records(mut input: impl BufRead, sender: &SyncSender<Batch>) {
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let result = (|| {
        let mut offset = skip_bom(&mut input)?;
        let mut number = 0u64;
        while !input.fill_buf().map_err(read_error)?.is_empty() {
            number += 1;
            let start = offset;
            let context = |detail: String| format!("record {number} at byte {start}: {detail}");
            let id = read_field(&mut input, &mut offset, 40, "update id").map_err(context)?;
            let revision = read_hex_field(&mut input, &mut offset, "revision").map_err(context)?;
            let length = read_hex_field(&mut input, &mut offset, "XML length").map_err(context)?;
            let mut record = Record {
                number,
                start,
                id,
                revision,
                xml: Vec::new(),
            };
            read_utf16_units(&mut input, &mut offset, length, &mut record.xml)
                .map_err(|detail| record.context(detail))?;
            if let Some(&last) = record.xml.last().filter(|&&last| last != b'>') {
                return Err(record.context(format!(
                    "the XML length ({length} UTF-16 units) ends at byte {last:#04X}, not at the \
                     end of the XML: the length is wrong"
                )));
            }
            skip_line_break(&mut input, &mut offset).map_err(|detail| record.context(detail))?;
            batch_bytes += record.xml.len();
            batch.push(record);
            if batch_bytes >= BATCH_BYTES {
                batch_bytes = 0;
                if sender.send(Ok(std::mem::take(&mut batch))).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    })();
    if !batch.is_empty() {
        let _ = sender.send(Ok(batch));
    }
    if let Err(error) = result {
        let _ = sender.send(Err(error));
    }
}

fn read_error(error: std::io::Error) -> String {
    format!("read error: {error}")
}

fn skip_bom(input: &mut impl BufRead) -> Result<u64, String> {
    let buffer = input.fill_buf().map_err(read_error)?;
    if buffer.starts_with(&[0xEF, 0xBB, 0xBF]) {
        input.consume(3);
        return Ok(3);
    }
    Ok(0)
}

/// Reads up to the next comma (at most `max` bytes before it) and returns the text before it.
fn read_field(
    input: &mut impl BufRead,
    offset: &mut u64,
    max: u64,
    what: &str,
) -> Result<String, String> {
    let mut field = Vec::new();
    let read = Read::take(&mut *input, max + 1)
        .read_until(b',', &mut field)
        .map_err(read_error)?;
    *offset += read as u64;
    if field.pop() != Some(b',') {
        return Err(if read as u64 > max {
            format!("the {what} field is longer than {max} bytes")
        } else {
            format!("the file ends inside the {what} field")
        });
    }
    String::from_utf8(field).map_err(|_| format!("the {what} field is not text"))
}

fn read_hex_field(input: &mut impl BufRead, offset: &mut u64, what: &str) -> Result<u32, String> {
    let field = read_field(input, offset, 8, what)?;
    if field.len() != 8 {
        return Err(format!("the {what} field {field:?} is not 8 hex digits"));
    }
    u32::from_str_radix(&field, 16).map_err(|_| format!("the {what} field {field:?} is not hex"))
}

/// Reads UTF-8 text that is `units` UTF-16 code units long into `body`.
fn read_utf16_units(
    input: &mut impl BufRead,
    offset: &mut u64,
    units: u32,
    body: &mut Vec<u8>,
) -> Result<(), String> {
    body.clear();
    let wanted = u64::from(units);
    let mut counted = 0u64;
    loop {
        let buffer = input.fill_buf().map_err(read_error)?;
        if buffer.is_empty() {
            if counted == wanted {
                return Ok(());
            }
            return Err(format!(
                "the XML length ({units} UTF-16 units) runs past the end of the file, which \
                 ends after {counted}: the file is truncated or the length is wrong"
            ));
        }
        let mut taken = 0;
        // While two or more units are still wanted, the next `wanted - counted - 1` bytes are
        // all inside the record (a byte adds at most one unit, or two for the lead byte of a
        // four-byte character, which then has three more bytes): count them in bulk.
        // Invalid UTF-8 (lead bytes in a row) can break that rule: then the count passes the
        // length, which is refused as for a length ending inside a character.
        while counted + 2 <= wanted && taken < buffer.len() {
            let bulk = usize::try_from(wanted - counted - 1)
                .unwrap_or(usize::MAX)
                .min(buffer.len() - taken);
            counted += utf16_units(&buffer[taken..taken + bulk]);
            taken += bulk;
        }
        if counted > wanted {
            return Err(format!(
                "the XML length ({units} UTF-16 units) ends inside a character"
            ));
        }
        let mut done = false;
        for &byte in &buffer[taken..] {
            let is_continuation = byte & 0xC0 == 0x80;
            if !is_continuation {
                if counted == wanted {
                    done = true;
                    break;
                }
                // Characters of four UTF-8 bytes are two UTF-16 units (a surrogate pair).
                counted += if byte >= 0xF0 { 2 } else { 1 };
                if counted > wanted {
                    return Err(format!(
                        "the XML length ({units} UTF-16 units) ends inside a character"
                    ));
                }
            }
            taken += 1;
        }
        if body.len() + taken > MAX_RECORD_BYTES {
            return Err(format!(
                "the record is longer than {} MiB",
                MAX_RECORD_BYTES / 1024 / 1024
            ));
        }
        body.extend_from_slice(&buffer[..taken]);
        input.consume(taken);
        *offset += taken as u64;
        if done {
            return Ok(());
        }
    }
}

/// The UTF-16 length of UTF-8 text, counted at lead bytes: one unit per character, two for a
/// character of four bytes. Written so that the compiler vectorizes it.
fn utf16_units(utf8: &[u8]) -> u64 {
    utf8.chunks(4096)
        .map(|chunk| {
            chunk
                .iter()
                .map(|&byte| u32::from(byte & 0xC0 != 0x80) + u32::from(byte >= 0xF0))
                .sum::<u32>()
        })
        .map(u64::from)
        .sum()
}

/// After a record: `\r\n` (or a bare `\n`), or the end of the file.
fn skip_line_break(input: &mut impl BufRead, offset: &mut u64) -> Result<(), String> {
    for expected in [b'\r', b'\n'] {
        let buffer = input.fill_buf().map_err(read_error)?;
        match buffer.first() {
            None => return Ok(()),
            Some(&byte) if byte == expected => {
                input.consume(1);
                *offset += 1;
            }
            Some(b'\n') => {}
            Some(&byte) => {
                return Err(format!(
                    "expected a line break after the XML, found byte {byte:#04X}: the XML length is wrong"
                ));
            }
        }
    }
    Ok(())
}

/// Where a text being collected goes.
enum Capture {
    None,
    KbArticle,
    Language,
    Title,
    Sha256,
}

/// Parses one update's XML; returns it with the number of elements the XML holds.
pub fn parse_update(xml: &[u8]) -> Result<(Update, u64), String> {
    let mut reader = Reader::from_reader(xml);
    let mut update = Update::default();
    let mut stack: Vec<String> = Vec::new();
    let mut capture = Capture::None;
    let mut text = String::new();
    let mut titles: Vec<(String, String)> = Vec::new();
    let (mut language, mut title) = (String::new(), String::new());
    let mut elements = 0;
    loop {
        let position = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|error| format!("malformed XML near character {position}: {error}"))?;
        match event {
            Event::Start(element) => {
                elements += 1;
                let name = local_name(&element);
                capture = opened(&mut update, &stack, name, &element)?;
                text.clear();
                if stack.len() == MAX_DEPTH {
                    return Err(format!(
                        "elements nested more than {MAX_DEPTH} levels deep near character \
                         {position}: no update nests so deep"
                    ));
                }
                stack.push(name.to_owned());
            }
            Event::Empty(element) => {
                elements += 1;
                let name = local_name(&element);
                opened(&mut update, &stack, name, &element)?;
            }
            Event::Text(content) if !matches!(capture, Capture::None) => {
                text.push_str(&content.xml10_content());
            }
            Event::GeneralRef(reference) if !matches!(capture, Capture::None) => {
                text.push_str(&resolve_reference(&reference)?);
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                match std::mem::replace(&mut capture, Capture::None) {
                    Capture::KbArticle => update.kb = Some(text.trim().to_owned()),
                    Capture::Language => language = text.trim().to_owned(),
                    Capture::Title => title = std::mem::take(&mut text),
                    Capture::Sha256 => {
                        if let Some(file) = update.files.last_mut() {
                            file.sha256 = Some(text.trim().to_owned());
                        }
                    }
                    Capture::None => {}
                }
                if name == "LocalizedProperties" {
                    titles.push((std::mem::take(&mut language), std::mem::take(&mut title)));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("the XML ends inside <{open}>"));
    }
    if update.id.is_empty() {
        return Err("the XML has no <UpdateIdentity> for the update".into());
    }
    // Exports hold tens of thousands of updates: keep no spare capacity.
    update.files.shrink_to_fit();
    update.bundled.shrink_to_fit();
    let english = titles.iter().position(|(language, _)| language == "en");
    if let Some(at) = english.or((!titles.is_empty()).then_some(0)) {
        update.title = Some(titles.swap_remove(at).1);
    }
    Ok((update, elements))
}

/// Handles an opening element; says whether its text is wanted.
fn opened(
    update: &mut Update,
    stack: &[String],
    name: &str,
    element: &BytesStart,
) -> Result<Capture, String> {
    // Below the root, most elements are of no interest: they cost no more than this.
    let wanted = matches!(
        name,
        "UpdateIdentity"
            | "Properties"
            | "KBArticleID"
            | "Language"
            | "Title"
            | "File"
            | "AdditionalDigest"
    );
    if !stack.is_empty() && !wanted {
        return Ok(Capture::None);
    }
    let parents: Vec<&str> = stack.iter().map(String::as_str).collect();
    let capture = match (parents.as_slice(), name) {
        ([], "Update") => Capture::None,
        ([], other) => return Err(format!("the root element is <{other}>, expected <Update>")),
        (["Update"], "UpdateIdentity") => {
            update.id = required_attribute(element, "UpdateID")?.to_ascii_lowercase();
            let revision = required_attribute(element, "RevisionNumber")?;
            update.revision = revision
                .parse()
                .map_err(|_| format!("RevisionNumber {revision:?} is not a number"))?;
            Capture::None
        }
        (["Update"], "Properties") => {
            update.kind = attribute(element, "UpdateType")?.unwrap_or_default();
            Capture::None
        }
        (["Update", "Properties"], "KBArticleID") => Capture::KbArticle,
        (
            [
                "Update",
                "LocalizedPropertiesCollection",
                "LocalizedProperties",
            ],
            "Language",
        ) => Capture::Language,
        (
            [
                "Update",
                "LocalizedPropertiesCollection",
                "LocalizedProperties",
            ],
            "Title",
        ) => Capture::Title,
        (["Update", "Files"], "File") => {
            update.files.push(file_ref(element)?);
            Capture::None
        }
        (["Update", "Files", "File"], "AdditionalDigest") => {
            match attribute(element, "Algorithm")?.as_deref() {
                Some("SHA256") => Capture::Sha256,
                _ => Capture::None,
            }
        }
        ([.., "BundledUpdates"] | [.., "BundledUpdates", "AtLeastOne"], "UpdateIdentity")
            if parents.starts_with(&["Update", "Relationships"]) =>
        {
            update
                .bundled
                .push(required_attribute(element, "UpdateID")?.to_ascii_lowercase());
            Capture::None
        }
        _ => Capture::None,
    };
    Ok(capture)
}

fn file_ref(element: &BytesStart) -> Result<FileRef, String> {
    let name = required_attribute(element, "FileName")?;
    if let Some(algorithm) = attribute(element, "DigestAlgorithm")?
        && !algorithm.eq_ignore_ascii_case("SHA1")
    {
        return Err(format!(
            "file {name}: digest algorithm {algorithm:?}, expected SHA1"
        ));
    }
    let sha1 = decode_sha1(&required_attribute(element, "Digest")?)
        .map_err(|error| format!("file {name}: {error}"))?;
    let size = match attribute(element, "Size")? {
        Some(size) => Some(
            size.parse()
                .map_err(|_| format!("file {name}: Size {size:?} is not a number"))?,
        ),
        None => None,
    };
    Ok(FileRef {
        sha1,
        name,
        size,
        modified: attribute(element, "Modified")?,
        patching_type: attribute(element, "PatchingType")?,
        sha256: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "e6cf1350-c01b-414d-a61f-263d14d133b4";

    fn update_xml(title: &str, extra: &str) -> String {
        format!(
            "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\">\
             <upd:UpdateIdentity UpdateID=\"{}\" RevisionNumber=\"2\" />\
             <upd:Properties UpdateType=\"Software\"><upd:KBArticleID>5034441</upd:KBArticleID></upd:Properties>\
             <upd:LocalizedPropertiesCollection>\
             <upd:LocalizedProperties><upd:Language>de</upd:Language><upd:Title>Deutsch</upd:Title></upd:LocalizedProperties>\
             <upd:LocalizedProperties><upd:Language>en</upd:Language><upd:Title>{title}</upd:Title></upd:LocalizedProperties>\
             </upd:LocalizedPropertiesCollection>{extra}</upd:Update>",
            ID.to_uppercase()
        )
    }

    fn record(xml: &str) -> String {
        format!("{ID},00000002,{:08x},{xml}\r\n", xml.encode_utf16().count())
    }

    fn read_all(text: &str) -> Result<Vec<Update>, String> {
        let mut updates = Vec::new();
        read_updates(text.as_bytes(), |u, _| {
            updates.push(u);
            Ok(())
        })?;
        Ok(updates)
    }

    #[test]
    fn records_are_cut_by_utf16_length_even_across_line_breaks_and_astral_characters() {
        // "𝕎" is one character, two UTF-16 units and four UTF-8 bytes.
        let title = "Fix &amp; more\r\nfor 𝕎indows";
        let files = "<upd:Files><upd:File Digest=\"+woVBgFHAZXEe06Nh/yz9QKSvrI=\" DigestAlgorithm=\"SHA1\" \
                     FileName=\"kb.exe\" Size=\"1234\" Modified=\"2024-01-01T00:00:00Z\">\
                     <upd:AdditionalDigest Algorithm=\"SHA256\">c2hhMjU2</upd:AdditionalDigest></upd:File></upd:Files>\
                     <upd:Relationships><upd:BundledUpdates><upd:UpdateIdentity UpdateID=\"AAAAAAAA-0000-0000-0000-000000000001\" RevisionNumber=\"1\" />\
                     <upd:AtLeastOne><upd:UpdateIdentity UpdateID=\"AAAAAAAA-0000-0000-0000-000000000002\" RevisionNumber=\"1\" /></upd:AtLeastOne>\
                     </upd:BundledUpdates></upd:Relationships>";
        let text = record(&update_xml(title, files)) + &record(&update_xml("Second", ""));
        let updates = read_all(&text).unwrap();
        assert_eq!(updates.len(), 2);
        let first = &updates[0];
        assert_eq!(first.id, ID);
        assert_eq!(first.revision, 2);
        assert_eq!(first.kind, "Software");
        assert_eq!(first.kb.as_deref(), Some("5034441"));
        assert_eq!(first.title.as_deref(), Some("Fix & more\nfor 𝕎indows"));
        assert_eq!(first.files.len(), 1);
        assert_eq!(
            first.files[0].content_path(),
            "B2/FB0A150601470195C47B4E8D87FCB3F50292BEB2.exe"
        );
        assert_eq!(first.files[0].size, Some(1234));
        assert_eq!(first.files[0].sha256.as_deref(), Some("c2hhMjU2"));
        assert_eq!(
            first.bundled,
            [
                "aaaaaaaa-0000-0000-0000-000000000001",
                "aaaaaaaa-0000-0000-0000-000000000002"
            ]
        );
        assert_eq!(updates[1].title.as_deref(), Some("Second"));
    }

    #[test]
    fn a_length_running_past_the_end_is_refused() {
        let xml = update_xml("t", "");
        let text = format!("{ID},00000002,{:08x},{xml}", xml.len() + 10);
        let error = read_all(&text).unwrap_err();
        assert!(error.contains("runs past the end of the file"), "{error}");
        assert!(
            error.starts_with(&format!("record 1 (update {ID}) at byte 0: ")),
            "{error}"
        );
    }

    #[test]
    fn a_non_hex_length_is_refused() {
        let error = read_all(&format!("{ID},00000002,0000zz10,<x/>")).unwrap_err();
        assert!(
            error.contains("XML length field \"0000zz10\" is not hex"),
            "{error}"
        );
    }

    #[test]
    fn many_batches_arrive_in_order_and_the_first_bad_record_is_named() {
        // 3,000 records of about 3 KB: several batches, cut and parsed on different threads.
        let long_title = "更新 𝕎 ".repeat(300);
        let one = record(&update_xml(&long_title, ""));
        let mut text = one.repeat(3000);
        let updates = read_all(&text).unwrap();
        assert_eq!(updates.len(), 3000);
        assert!(
            updates
                .iter()
                .all(|u| u.title.as_deref() == Some(long_title.as_str()))
        );

        let bad = record(&update_xml("<broken>", ""));
        let at = one.len() * 2500;
        text.insert_str(at, &bad);
        text.push_str(&bad);
        let error = read_all(&text).unwrap_err();
        assert!(
            error.starts_with(&format!("record 2501 (update {ID}) at byte {at}: ")),
            "{error}"
        );
    }

    #[test]
    fn records_are_cut_the_same_whatever_the_read_buffer_size() {
        // Small buffers split four-byte characters and stop the bulk count at every offset.
        let title = "𝕎 更新 Ünicode 🛡🛡 &amp; done";
        let text = record(&update_xml(title, "")).repeat(3);
        for capacity in 1..=9 {
            let mut updates = Vec::new();
            let input = std::io::BufReader::with_capacity(capacity, text.as_bytes());
            read_updates(input, |update, _| {
                updates.push(update);
                Ok(())
            })
            .unwrap();
            assert_eq!(updates.len(), 3, "buffer of {capacity}");
            assert!(
                updates
                    .iter()
                    .all(|u| u.title.as_deref() == Some("𝕎 更新 Ünicode 🛡🛡 & done"))
            );
        }
    }

    #[test]
    fn invalid_utf8_cannot_push_the_count_past_the_length() {
        let mut bytes = format!("{ID},00000002,00000005,").into_bytes();
        bytes.extend_from_slice(b"\xFF\xFF\xFF\xFFabcdef\r\n");
        let error = read_updates(bytes.as_slice(), |_, _| Ok(())).unwrap_err();
        assert!(error.ends_with("ends inside a character"), "{error}");
    }

    #[test]
    fn a_length_too_short_or_too_long_is_refused() {
        let xml = update_xml("t", "");
        let text = format!("{ID},00000002,{:08x},{xml}\r\n", xml.len() - 1);
        let error = read_all(&text).unwrap_err();
        assert!(
            error.ends_with("ends at byte 0x65, not at the end of the XML: the length is wrong"),
            "{error}"
        );
        let text = format!("{ID},00000002,{:08x},{xml}x\r\n", xml.len());
        let error = read_all(&text).unwrap_err();
        assert!(
            error.contains("found byte 0x78: the XML length is wrong"),
            "{error}"
        );
        let text = format!("{ID},00000002,{:08x},{xml}\r\n", xml.len() + 1);
        let error = read_all(&text).unwrap_err();
        assert!(
            error.ends_with("ends at byte 0x0D, not at the end of the XML: the length is wrong"),
            "{error}"
        );
    }

    #[test]
    fn broken_nesting_is_refused() {
        let xml = update_xml(
            "t",
            "<upd:Files><upd:File Digest=\"+woVBgFHAZXEe06Nh/yz9QKSvrI=\" FileName=\"a.cab\"></upd:Files>",
        );
        let error = read_all(&record(&xml)).unwrap_err();
        assert!(error.contains("malformed XML"), "{error}");
    }

    #[test]
    fn a_digest_that_is_not_20_bytes_is_refused() {
        let files =
            "<upd:Files><upd:File Digest=\"AAAA\" FileName=\"kb.cab\" Size=\"1\" /></upd:Files>";
        let error = read_all(&record(&update_xml("t", files))).unwrap_err();
        assert!(
            error.contains("file kb.cab: digest \"AAAA\" holds 3 bytes"),
            "{error}"
        );
    }

    #[test]
    fn a_record_whose_prefix_disagrees_with_its_xml_is_refused() {
        let xml = update_xml("t", "");
        let text = format!("{ID},00000003,{:08x},{xml}", xml.len());
        let error = read_all(&text).unwrap_err();
        assert!(error.contains("its XML says"), "{error}");
    }
}
