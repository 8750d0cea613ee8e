//! Packages made to break the reader: a cabinet whose tables lie, XML nested without end,
//! members that would fill memory. Each is refused, by every command that reads a package,
//! with a message naming the file, the member and the problem; none reaches a panic.

mod support;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use support::run;
use support::trip::Trip;

/// Offsets in a cabinet the `cab` crate writes (as the generated exports are): a 36-byte
/// header, one folder entry, then the file entries, `package.xml` first.
const FOLDER_DATA_BLOCKS: usize = 40;
const PACKAGE_XML_OFFSET: usize = 48;
/// `metadata.txt`'s size: after `package.xml`'s 16-byte entry and its 12-byte name.
const METADATA_SIZE: usize = 72;

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// A package the stand-in wsusutil made of the trip's content, changed by `edit`.
fn crafted(trip: &Trip, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = fs::read(trip.package()).unwrap();
    assert_eq!(&bytes[..4], b"MSCF");
    assert_eq!(
        &bytes[60..72],
        b"package.xml\0",
        "the layout the offsets assume"
    );
    edit(&mut bytes);
    let path = trip.path("crafted.cab");
    fs::write(&path, bytes).unwrap();
    path
}

/// `inspect` of `package`: refused with exit 2; returns the problem after the file's name.
fn inspect_refuses(package: &Path) -> String {
    let inspected = run([Path::new("inspect"), package]);
    assert_eq!(inspected.code, 2, "{inspected:?}");
    let prefix = format!("wsus-airgap: error: {}: ", package.display());
    inspected
        .stderr
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{}", inspected.stderr))
        .to_owned()
}

#[test]
fn a_file_entry_past_its_folder_is_refused_by_every_command_and_leaves_no_package_on_media() {
    let trip = Trip::new(31);
    let package = crafted(&trip, |bytes| {
        put_u32(bytes, PACKAGE_XML_OFFSET, 0x7FFF_FFF0);
    });
    let problem = inspect_refuses(&package);
    assert!(
        problem.starts_with("cabinet: file entry 1 (package.xml) declares "),
        "{problem}"
    );
    assert!(problem.contains("the cabinet is damaged"), "{problem}");

    let checked = run([
        "check".as_ref(),
        "--package".as_ref(),
        package.as_os_str(),
        "--content".as_ref(),
        trip.site.root.as_os_str(),
    ]);
    assert_eq!(checked.code, 2, "{checked:?}");
    assert!(checked.stderr.contains(&problem), "{checked:?}");

    let out = trip.path("manifest");
    fs::create_dir(&out).unwrap();
    let created = run([
        "manifest".as_ref(),
        "create".as_ref(),
        "--quiet".as_ref(),
        "--sequence".as_ref(),
        "1".as_ref(),
        "--content".as_ref(),
        trip.site.root.as_os_str(),
        "--package".as_ref(),
        package.as_os_str(),
        "--key".as_ref(),
        trip.path("site.key").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(created.code, 2, "{created:?}");
    assert!(created.stderr.contains(&problem), "{created:?}");

    let media = trip.path("media");
    let exported = support::run_command(&mut trip.export(&media, Some(&package)));
    assert_eq!(exported.code, 2, "{exported:?}");
    assert!(exported.stderr.contains(&problem), "{exported:?}");
    assert!(
        !media.join("crafted.cab").exists(),
        "a refused package stays off the media: {:?}",
        support::file_names_below(&media)
    );
}

#[test]
fn a_folder_without_data_blocks_is_refused() {
    let trip = Trip::new(32);
    let package = crafted(&trip, |bytes| put_u16(bytes, FOLDER_DATA_BLOCKS, 0));
    let problem = inspect_refuses(&package);
    assert!(
        problem.starts_with("cabinet: its data blocks end at byte "),
        "{problem}"
    );
}

#[test]
fn more_data_blocks_than_the_cabinet_holds_are_refused() {
    let trip = Trip::new(33);
    let package = crafted(&trip, |bytes| put_u16(bytes, FOLDER_DATA_BLOCKS, 0xFFFF));
    let problem = inspect_refuses(&package);
    assert!(
        problem.starts_with("cabinet: folder 0 declares 65535 data blocks, but block "),
        "{problem}"
    );
}

#[test]
fn a_member_declared_larger_than_its_folder_is_refused() {
    let trip = Trip::new(34);
    let package = crafted(&trip, |bytes| put_u32(bytes, METADATA_SIZE, 0xFFFF_FFFF));
    let problem = inspect_refuses(&package);
    assert!(
        problem.starts_with("cabinet: file entry 2 (metadata.txt) declares 4294967295 bytes "),
        "{problem}"
    );
}

#[test]
fn bytes_after_the_declared_end_of_the_cabinet_are_refused() {
    let trip = Trip::new(35);
    let package = crafted(&trip, |bytes| bytes.extend_from_slice(b"appended"));
    let problem = inspect_refuses(&package);
    assert!(
        problem.starts_with("cabinet: 8 bytes follow the end its header declares"),
        "{problem}"
    );
}

/// A cabinet of the two members, uncompressed.
fn stored_cabinet(package_xml: &[u8], metadata_txt: &[u8]) -> Vec<u8> {
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::None);
    folder.add_file("package.xml");
    folder.add_file("metadata.txt");
    let mut writer = builder.build(std::io::Cursor::new(Vec::new())).unwrap();
    let mut members = [package_xml, metadata_txt].into_iter();
    while let Some(mut file) = writer.next_file().unwrap() {
        file.write_all(members.next().unwrap()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const ID: &str = "11111111-1111-1111-1111-111111111111";

fn listing() -> String {
    format!(
        "<ExportPackage ServerID=\"x\" CreationTime=\"y\"><Updates>\
         <Update UpdateId=\"{ID}\" RevisionNumber=\"1\"/></Updates></ExportPackage>"
    )
}

fn record_xml(inner: &str) -> String {
    format!(
        "<upd:Update xmlns:upd=\"u\"><upd:UpdateIdentity UpdateID=\"{ID}\" \
         RevisionNumber=\"1\"/>{inner}</upd:Update>"
    )
}

fn write_package(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    (dir, path)
}

#[test]
fn an_uncompressed_block_whose_sizes_disagree_is_refused() {
    let xml = record_xml("");
    let metadata = format!("{ID},00000001,{:08x},{xml}\r\n", xml.len());
    let mut bytes = stored_cabinet(listing().as_bytes(), metadata.as_bytes());
    let first_block = u32::from_le_bytes(bytes[36..40].try_into().unwrap()) as usize;
    let stored = u16::from_le_bytes(bytes[first_block + 4..first_block + 6].try_into().unwrap());
    put_u16(&mut bytes, first_block + 6, stored + 100);
    put_u32(&mut bytes, first_block, 0); // no checksum: the sizes alone must be caught
    let (_dir, path) = write_package("export.cab", &bytes);
    let problem = inspect_refuses(&path);
    assert!(
        problem.starts_with(&format!(
            "cabinet: data block 0 of folder 0 (at byte {first_block}) is stored uncompressed \
             but says it holds {} bytes",
            stored + 100
        )),
        "{problem}"
    );
}

#[test]
fn a_record_length_one_too_long_is_refused() {
    let xml = record_xml("");
    let metadata = format!("{ID},00000001,{:08x},{xml}\r\n", xml.len() + 1);
    let bytes = stored_cabinet(listing().as_bytes(), metadata.as_bytes());
    let (_dir, path) = write_package("export.cab", &bytes);
    let problem = inspect_refuses(&path);
    assert_eq!(
        problem,
        format!(
            "metadata.txt: record 1 (update {ID}) at byte 0: the XML length ({} UTF-16 units) \
             ends at byte 0x0D, not at the end of the XML: the length is wrong\n",
            xml.len() + 1
        )
    );
}

#[test]
fn package_xml_nested_deeper_than_the_limit_is_refused() {
    let depth = 20_000;
    let xml = format!(
        "<ExportPackage ServerID=\"x\" CreationTime=\"y\">{}{}</ExportPackage>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    let (_dir, path) = write_package("export.cab", &stored_cabinet(xml.as_bytes(), b""));
    let problem = inspect_refuses(&path);
    assert!(
        problem.starts_with("package.xml: elements nested more than 64 levels deep"),
        "{problem}"
    );
}

#[test]
fn a_metadata_record_nested_deeper_than_the_limit_is_refused() {
    let depth = 20_000;
    let xml = record_xml(&format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth)));
    let metadata = format!("{ID},00000001,{:08x},{xml}\r\n", xml.len());
    let bytes = stored_cabinet(listing().as_bytes(), metadata.as_bytes());
    let (_dir, path) = write_package("export.cab", &bytes);
    let problem = inspect_refuses(&path);
    assert!(
        problem.starts_with(&format!(
            "metadata.txt: record 1 (update {ID}) at byte 0: elements nested more than 64 \
             levels deep"
        )),
        "{problem}"
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn package_xml_holding_megabytes_of_whitespace_is_refused_without_holding_it() {
    let xml = format!(
        "<ExportPackage ServerID=\"x\" CreationTime=\"y\">{}</ExportPackage>",
        " ".repeat(8 << 20)
    );
    let (_dir, path) = write_package("export.xml.gz", &gzip(xml.as_bytes()));
    let problem = inspect_refuses(&path);
    assert!(
        problem.starts_with("gzip: package XML: text, a tag or a comment longer than 1 MiB"),
        "{problem}"
    );
}
