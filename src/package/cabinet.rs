//! A cabinet's tables, checked before the `cab` crate reads a byte of its data.
//!
//! The `cab` crate (0.6.0) believes what a cabinet's tables say. A file entry whose offset lies
//! past the data of its folder, or a folder with no data blocks, makes it index out of bounds
//! and panic (upstream issues 37 and 41; the fix, pull request 42, is not released); a member
//! declared larger than its folder is cut short without a word; data blocks declared but never
//! needed are never looked at. Rather than carry a patched copy of the crate, the reader walks
//! the tables itself first and refuses a cabinet whose declared sizes disagree with its data:
//!
//! - the header's size (`cbCabinet`) is the file's size;
//! - the folder table ends where the file table starts (`coffFiles`), and the data blocks
//!   follow the file table, folder after folder, with no gap, no overlap and nothing after
//!   the last one;
//! - every data block fits in the cabinet and produces 1 to 32,768 bytes (MS-CAB 2.4), and a
//!   block stored uncompressed holds as many bytes as it produces;
//! - every file entry names a folder of this cabinet and lies within that folder's data;
//! - the cabinet is not part of a set spanning several files.
//!
//! The walk reads each block's 8-byte header and seeks over its data: a few milliseconds for
//! the largest export, done once. The checks hold whatever the crate's version, so a released
//! fix needs no change here; they also catch the damage the fixed crate would still accept.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

/// `MSCF`, then reserved bytes, `cbCabinet`, reserved bytes, `coffFiles`, reserved bytes,
/// version, `cFolders`, `cFiles`, flags, set id and index.
const HEADER_BYTES: u64 = 36;
const FLAG_PREVIOUS_CABINET: u16 = 0x0001;
const FLAG_NEXT_CABINET: u16 = 0x0002;
const FLAG_RESERVE_PRESENT: u16 = 0x0004;
/// The most one data block may produce (MS-CAB 2.4, `cbUncomp`).
const BLOCK_MAX_UNCOMPRESSED: u16 = 0x8000;
const COMPRESSION_MASK: u16 = 0x000F;
const COMPRESSION_NONE: u16 = 0;
/// A file entry's name, without its terminating zero, as the crate reads it.
const NAME_MAX: usize = 255;

/// One folder entry (`CFFOLDER`).
struct Folder {
    index: usize,
    first_block: u64,
    blocks: u16,
    stored: bool,
}

/// One file entry (`CFFILE`).
struct FileEntry {
    name: String,
    size: u32,
    offset: u32,
    folder: u16,
}

/// What the header says, past its fixed part.
struct Header {
    declared: u64,
    files_at: u64,
    folders: u16,
    files: u16,
    folder_reserve: u64,
    block_reserve: u64,
    /// Where the folder table starts.
    folders_at: u64,
}

/// Checks the tables of the cabinet `input` holds; the problem in words if they disagree with
/// its data. `input` is left anywhere.
pub fn check(input: &mut (impl Read + Seek)) -> Result<(), String> {
    let length = input.seek(SeekFrom::End(0)).map_err(read_error)?;
    input.seek(SeekFrom::Start(0)).map_err(read_error)?;
    let mut input = BufReader::new(input);
    let header = read_header(&mut input, length)?;
    let folders = read_folders(&mut input, &header)?;
    let files = read_files(&mut input, &header)?;
    let data_at = input.stream_position().map_err(read_error)?;
    let sizes = walk_data(&mut input, folders, data_at, &header)?;
    for (number, file) in files.iter().enumerate() {
        let Some(&folder_size) = sizes.get(usize::from(file.folder)) else {
            return Err(format!(
                "file entry {} ({}) is in folder {}, and the cabinet has {} folders: the \
                 cabinet is damaged or spans several files",
                number + 1,
                file.name,
                file.folder,
                header.folders
            ));
        };
        let end = u64::from(file.offset) + u64::from(file.size);
        if end > folder_size {
            return Err(format!(
                "file entry {} ({}) declares {} bytes from byte {} of folder {}, which holds \
                 {folder_size}: the cabinet is damaged",
                number + 1,
                file.name,
                file.size,
                file.offset,
                file.folder
            ));
        }
    }
    Ok(())
}

fn read_error(error: io::Error) -> String {
    format!("read error: {error}")
}

fn read_u8(input: &mut impl Read) -> io::Result<u8> {
    let mut bytes = [0; 1];
    input.read_exact(&mut bytes)?;
    Ok(bytes[0])
}

fn read_u16(input: &mut impl Read) -> io::Result<u16> {
    let mut bytes = [0; 2];
    input.read_exact(&mut bytes)?;
    Ok(u16::from_le_bytes(bytes))
}

fn read_u32(input: &mut impl Read) -> io::Result<u32> {
    let mut bytes = [0; 4];
    input.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

/// Reads the header, leaving `input` at the folder table.
fn read_header(input: &mut (impl Read + Seek), length: u64) -> Result<Header, String> {
    let mut fixed = [0u8; HEADER_BYTES as usize];
    if input.read_exact(&mut fixed).is_err() {
        return Err(format!(
            "cut short: it ends after {length} bytes, inside its {HEADER_BYTES}-byte header; \
             copy it again"
        ));
    }
    let cut_short = |declared: u64| {
        format!(
            "cut short: it ends after {length} bytes, and its header says it holds {declared}; \
             copy it again"
        )
    };
    let u16_at = |at: usize| u16::from_le_bytes([fixed[at], fixed[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(fixed[at..at + 4].try_into().expect("4 bytes"));
    let declared = u64::from(u32_at(8));
    if length < declared {
        return Err(cut_short(declared));
    }
    if length > declared {
        return Err(format!(
            "{} bytes follow the end its header declares ({declared} bytes): the cabinet is \
             damaged",
            length - declared
        ));
    }
    let flags = u16_at(30);
    if flags & (FLAG_PREVIOUS_CABINET | FLAG_NEXT_CABINET) != 0 {
        return Err(
            "it is one part of a cabinet set spanning several files; an export is \
                    one cabinet"
                .into(),
        );
    }
    let mut header = Header {
        declared,
        files_at: u64::from(u32_at(16)),
        folders: u16_at(26),
        files: u16_at(28),
        folder_reserve: 0,
        block_reserve: 0,
        folders_at: HEADER_BYTES,
    };
    if flags & FLAG_RESERVE_PRESENT != 0 {
        let header_reserve = read_u16(input).map_err(|_| cut_short(declared))?;
        header.folder_reserve = u64::from(read_u8(input).map_err(|_| cut_short(declared))?);
        header.block_reserve = u64::from(read_u8(input).map_err(|_| cut_short(declared))?);
        header.folders_at = HEADER_BYTES + 4 + u64::from(header_reserve);
        input
            .seek(SeekFrom::Start(header.folders_at))
            .map_err(read_error)?;
    }
    let files_expected_at =
        header.folders_at + u64::from(header.folders) * (8 + header.folder_reserve);
    if header.files_at != files_expected_at {
        return Err(format!(
            "its header says the file table starts at byte {}, but its {} folder entries end \
             at byte {files_expected_at}: the cabinet is damaged",
            header.files_at, header.folders
        ));
    }
    Ok(header)
}

/// Reads the folder table; `input` is at its start and is left at its end.
fn read_folders(input: &mut (impl Read + Seek), header: &Header) -> Result<Vec<Folder>, String> {
    let damaged = |_| "its folder table runs past its end: the cabinet is damaged".to_owned();
    let mut folders = Vec::with_capacity(usize::from(header.folders));
    for index in 0..usize::from(header.folders) {
        let first_block = u64::from(read_u32(input).map_err(damaged)?);
        let blocks = read_u16(input).map_err(damaged)?;
        let compression = read_u16(input).map_err(damaged)?;
        input
            .seek_relative(header.folder_reserve as i64)
            .map_err(read_error)?;
        folders.push(Folder {
            index,
            first_block,
            blocks,
            stored: compression & COMPRESSION_MASK == COMPRESSION_NONE,
        });
    }
    Ok(folders)
}

/// Reads the file table; `input` is at its start and is left at its end.
fn read_files(input: &mut impl BufRead, header: &Header) -> Result<Vec<FileEntry>, String> {
    let damaged = |_| "its file table runs past its end: the cabinet is damaged".to_owned();
    let mut files = Vec::with_capacity(usize::from(header.files));
    for number in 1..=header.files {
        let size = read_u32(input).map_err(damaged)?;
        let offset = read_u32(input).map_err(damaged)?;
        let folder = read_u16(input).map_err(damaged)?;
        // Date, time and attributes.
        let mut skipped = [0u8; 6];
        input.read_exact(&mut skipped).map_err(damaged)?;
        let mut name = Vec::new();
        (&mut *input)
            .take(NAME_MAX as u64 + 1)
            .read_until(0, &mut name)
            .map_err(read_error)?;
        if name.pop() != Some(0) {
            return Err(format!(
                "the name of file entry {number} is longer than {NAME_MAX} bytes or runs past \
                 the end: the cabinet is damaged"
            ));
        }
        files.push(FileEntry {
            name: String::from_utf8_lossy(&name).into_owned(),
            size,
            offset,
            folder,
        });
    }
    Ok(files)
}

/// Walks the data blocks of every folder, in the order they are stored, from `data_at` (the
/// end of the file table) to the end of the cabinet; returns each folder's uncompressed size,
/// in folder order. Each block is read once: folders that overlap are refused before their
/// blocks are walked twice.
fn walk_data(
    input: &mut (impl Read + Seek),
    mut folders: Vec<Folder>,
    data_at: u64,
    header: &Header,
) -> Result<Vec<u64>, String> {
    let mut sizes = vec![0u64; folders.len()];
    folders.sort_by_key(|folder| folder.first_block);
    let mut expected = data_at;
    for folder in folders.iter().filter(|folder| folder.blocks > 0) {
        if folder.first_block != expected {
            return Err(format!(
                "the data of folder {} starts at byte {}, but the data before it ends at byte \
                 {expected}: the cabinet is damaged",
                folder.index, folder.first_block
            ));
        }
        input
            .seek(SeekFrom::Start(folder.first_block))
            .map_err(read_error)?;
        let mut at = folder.first_block;
        for block in 0..folder.blocks {
            let produces = walk_block(input, folder, block, at, header)?;
            sizes[folder.index] += u64::from(produces.0);
            at = produces.1;
        }
        expected = at;
    }
    if expected != header.declared {
        return Err(format!(
            "its data blocks end at byte {expected}, and its header says it holds {} bytes: \
             the cabinet is damaged",
            header.declared
        ));
    }
    Ok(sizes)
}

/// Reads the header of data block `block` of `folder`, at byte `at`, and seeks past its data;
/// returns what it produces and where the next block starts.
fn walk_block(
    input: &mut (impl Read + Seek),
    folder: &Folder,
    block: u16,
    at: u64,
    header: &Header,
) -> Result<(u16, u64), String> {
    let where_ = format!(
        "data block {block} of folder {} (at byte {at})",
        folder.index
    );
    let past_end = || {
        format!(
            "folder {} declares {} data blocks, but block {block} (at byte {at}) runs past \
             the end of the cabinet: the cabinet is damaged",
            folder.index, folder.blocks
        )
    };
    let block_header = 8 + header.block_reserve;
    if at + block_header > header.declared {
        return Err(past_end());
    }
    let _checksum = read_u32(input).map_err(read_error)?;
    let stored = read_u16(input).map_err(read_error)?;
    let produces = read_u16(input).map_err(read_error)?;
    let next = at + block_header + u64::from(stored);
    if next > header.declared {
        return Err(past_end());
    }
    if produces == 0 || produces > BLOCK_MAX_UNCOMPRESSED {
        return Err(format!(
            "{where_} says it produces {produces} bytes; a block produces 1 to \
             {BLOCK_MAX_UNCOMPRESSED}: the cabinet is damaged or spans several files"
        ));
    }
    if folder.stored && stored != produces {
        return Err(format!(
            "{where_} is stored uncompressed but says it holds {produces} bytes in {stored}: \
             the cabinet is damaged"
        ));
    }
    input
        .seek_relative((header.block_reserve + u64::from(stored)) as i64)
        .map_err(read_error)?;
    Ok((produces, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn cabinet(compression: cab::CompressionType, members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = cab::CabinetBuilder::new();
        let folder = builder.add_folder(compression);
        for (name, _) in members {
            folder.add_file(*name);
        }
        let mut writer = builder.build(Cursor::new(Vec::new())).unwrap();
        let mut contents = members.iter();
        while let Some(mut file) = writer.next_file().unwrap() {
            file.write_all(contents.next().unwrap().1).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn checked(bytes: &[u8]) -> Result<(), String> {
        check(&mut Cursor::new(bytes))
    }

    #[test]
    fn the_real_export_and_written_cabinets_pass() {
        let fixture = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/wsus-export-2024.cab"),
        )
        .unwrap();
        assert_eq!(checked(&fixture), Ok(()));
        let big = vec![b'x'; 100_000];
        for compression in [cab::CompressionType::None, cab::CompressionType::MsZip] {
            let bytes = cabinet(compression, &[("a", b"hello"), ("b", &big), ("c", b"")]);
            assert_eq!(checked(&bytes), Ok(()));
        }
    }

    #[test]
    fn a_cabinet_set_and_a_block_producing_nothing_are_refused() {
        let mut bytes = cabinet(cab::CompressionType::MsZip, &[("a", b"hello")]);
        bytes[30] |= FLAG_NEXT_CABINET as u8;
        assert!(checked(&bytes).unwrap_err().contains("cabinet set"));
        bytes[30] &= !(FLAG_NEXT_CABINET as u8);
        let first_block = u32::from_le_bytes(bytes[36..40].try_into().unwrap()) as usize;
        bytes[first_block + 6..first_block + 8].copy_from_slice(&0u16.to_le_bytes());
        let error = checked(&bytes).unwrap_err();
        assert!(error.contains("says it produces 0 bytes"), "{error}");
    }

    #[test]
    fn a_file_table_that_does_not_follow_the_folders_is_refused() {
        let mut bytes = cabinet(cab::CompressionType::MsZip, &[("a", b"hello")]);
        bytes[16] += 1;
        let error = checked(&bytes).unwrap_err();
        assert!(
            error.starts_with("its header says the file table starts at byte 45"),
            "{error}"
        );
    }

    #[test]
    fn overlapping_folders_are_refused_without_walking_them_twice() {
        let mut builder = cab::CabinetBuilder::new();
        builder.add_folder(cab::CompressionType::None).add_file("a");
        builder.add_folder(cab::CompressionType::None).add_file("b");
        let mut writer = builder.build(Cursor::new(Vec::new())).unwrap();
        while let Some(mut file) = writer.next_file().unwrap() {
            file.write_all(b"data").unwrap();
        }
        let mut bytes = writer.finish().unwrap().into_inner();
        let first = bytes[36..40].to_vec();
        bytes[44..48].copy_from_slice(&first);
        let error = checked(&bytes).unwrap_err();
        assert!(
            error.starts_with("the data of folder 1 starts at byte "),
            "{error}"
        );
    }
}
