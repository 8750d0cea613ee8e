//! `wsus-airgap inspect` on the real export fixture and on broken packages.

mod support;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use support::run;

/// The real export of `tests/fixtures` (its README says where it comes from).
fn fixture() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wsus-export-2024.cab");
    assert!(
        path.is_file(),
        "the real export fixture is missing: {}",
        path.display()
    );
    path
}

fn inspect(path: &Path) -> support::Run {
    run([std::ffi::OsStr::new("inspect"), path.as_os_str()])
}

const FIXTURE_FACTS: &str = "\
server id: a86cecaa-02ab-44a1-a09d-cac309aa7a3e
created: 2024-06-19T17:11:14Z
format version: 1.0, protocol version: 1.20
languages: 39 known, 1 enabled: all
updates: 4,125 (451 Category, 3,674 Detectoid)
file references: 0, 0 distinct files, 0 B
";

#[test]
fn the_real_export_inspects_to_the_facts_in_its_readme() {
    let path = fixture();
    let run = inspect(&path);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "package: {} (Microsoft Cabinet)\n{FIXTURE_FACTS}",
            path.display()
        )
    );

    let json = run_json(&path);
    assert_eq!(json["server_id"], "a86cecaa-02ab-44a1-a09d-cac309aa7a3e");
    assert_eq!(json["updates"], 4125);
    assert_eq!(json["updates_by_type"]["Category"], 451);
    assert_eq!(json["updates_by_type"]["Detectoid"], 3674);
    assert_eq!(json["languages"].as_array().unwrap().len(), 39);
}

/// `inspect --json | head -1`: the rest of the report is dropped and nothing is wrong; and an
/// error nobody reads keeps its exit code.
#[test]
fn a_reader_that_stops_early_is_no_error() {
    let (code, stderr) = support::run_into_closed_pipe(
        std::process::Command::new(support::binary())
            .arg("inspect")
            .arg(fixture())
            .arg("--json"),
    );
    assert_eq!((code, stderr.as_str()), (0, ""));

    // An error with stderr closed too (`2>&1 | head`) still exits 2.
    let dir = tempfile::tempdir().unwrap();
    let code = support::run_into_closed_pipes(
        std::process::Command::new(support::binary())
            .arg("inspect")
            .arg(dir.path().join("missing.cab")),
    );
    assert_eq!(code, 2);
}

fn run_json(path: &Path) -> serde_json::Value {
    let run = run([
        std::ffi::OsStr::new("inspect"),
        path.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn a_gzip_holding_the_cabinet_is_read_by_its_magic_bytes_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.cab"); // named .cab, but gzip inside
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&fs::read(fixture()).unwrap()).unwrap();
    fs::write(&path, encoder.finish().unwrap()).unwrap();
    let run = inspect(&path);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        format!(
            "package: {} (gzip holding a Microsoft Cabinet)\n{FIXTURE_FACTS}",
            path.display()
        )
    );
}

/// Writes `bytes` to a file and inspects it; returns stderr after checking exit code 2.
fn refused(name: &str, bytes: &[u8]) -> (PathBuf, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    let run = inspect(&path);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    (path, run.stderr, dir)
}

#[test]
fn a_zero_byte_package_names_the_known_export_bug() {
    let (path, stderr, _dir) = refused("export.cab", b"");
    assert_eq!(
        stderr,
        format!(
            "wsus-airgap: error: {}: the package is empty (0 bytes)\n\
             hint: wsusutil export is known to write an empty package when the export exceeds the \
             2 GB limit of the CAB format (fixed by KB2819484 on Windows Server 2012 and \
             KB2828185 on WSUS 3.0 SP2): install the fix and export again\n",
            path.display()
        )
    );
}

#[test]
fn an_unknown_format_names_what_was_found() {
    let (path, stderr, _dir) = refused("export.xml.gz", b"PK\x03\x04rest");
    assert!(
        stderr.starts_with(&format!(
            "wsus-airgap: error: {}: not a WSUS export package: expected a Microsoft Cabinet \
             (4D 53 43 46) or gzip (1F 8B), found bytes 50 4B 03 04 72 65 73 74 (\"PK..rest\")\n",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn gzip_garbage_is_refused() {
    let (path, stderr, _dir) = refused(
        "export.xml.gz",
        b"\x1F\x8B\x08\x00garbage that is not deflate",
    );
    assert!(
        stderr.starts_with(&format!(
            "wsus-airgap: error: {}: gzip: cannot unpack: ",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_gzip_of_something_else_names_what_it_holds() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(b"hello world").unwrap();
    let (path, stderr, _dir) = refused("export.xml.gz", &encoder.finish().unwrap());
    assert!(
        stderr.starts_with(&format!(
            "wsus-airgap: error: {}: gzip: holds neither a Microsoft Cabinet nor XML: it starts with bytes 68 65 6C 6C",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_truncated_cabinet_is_refused_naming_the_member() {
    let bytes = fs::read(fixture()).unwrap();
    let (path, stderr, _dir) = refused("export.cab", &bytes[..bytes.len() / 2]);
    let prefix = format!("wsus-airgap: error: {}: ", path.display());
    assert!(stderr.starts_with(&prefix), "{stderr}");
    let member = stderr[prefix.len()..].split(':').next().unwrap();
    assert!(
        ["cabinet", "package.xml", "metadata.txt"].contains(&member),
        "{stderr}"
    );
}

#[test]
fn every_truncation_of_the_real_cabinet_fails_cleanly() {
    // Never a panic, whatever the cut: a clean error (exit 2) every time.
    let bytes = fs::read(fixture()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.cab");
    for cut in [
        1,
        4,
        35,
        36,
        60,
        200,
        5_000,
        100_000,
        400_000,
        bytes.len() - 1,
    ] {
        fs::write(&path, &bytes[..cut]).unwrap();
        let run = inspect(&path);
        assert_eq!(run.code, 2, "cut at {cut}: {run:?}");
        assert!(
            run.stderr.starts_with("wsus-airgap: error: "),
            "cut at {cut}: {run:?}"
        );
    }
}

fn cabinet(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    for (name, _) in members {
        folder.add_file(*name);
    }
    let mut writer = builder.build(std::io::Cursor::new(Vec::new())).unwrap();
    let mut contents = members.iter();
    while let Some(mut file) = writer.next_file().unwrap() {
        file.write_all(contents.next().unwrap().1).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_cabinet_with_other_members_is_refused_naming_them() {
    let bytes = cabinet(&[
        ("package.xml", b"<ExportPackage/>"),
        ("metadata.txt", b""),
        ("evil.exe", b"MZ"),
    ]);
    let (path, stderr, _dir) = refused("export.cab", &bytes);
    assert_eq!(
        stderr,
        format!(
            "wsus-airgap: error: {}: cabinet: holds members other than package.xml and metadata.txt: evil.exe\n",
            path.display()
        )
    );
}

#[test]
fn a_cabinet_without_the_members_is_refused_naming_what_it_holds() {
    let bytes = cabinet(&[("readme.txt", b"hi")]);
    let (path, stderr, _dir) = refused("export.cab", &bytes);
    assert_eq!(
        stderr,
        format!(
            "wsus-airgap: error: {}: cabinet: expected the members package.xml and metadata.txt, found readme.txt\n",
            path.display()
        )
    );
}

#[test]
fn broken_package_xml_nesting_is_refused() {
    let bytes = cabinet(&[
        (
            "package.xml",
            b"<ExportPackage ServerID=\"x\" CreationTime=\"y\"><Languages></ExportPackage>",
        ),
        ("metadata.txt", b""),
    ]);
    let (path, stderr, _dir) = refused("export.cab", &bytes);
    assert!(
        stderr.starts_with(&format!(
            "wsus-airgap: error: {}: package.xml: malformed XML",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn duplicate_update_revisions_are_refused() {
    let xml = "<upd:Update xmlns:upd=\"u\"><upd:UpdateIdentity UpdateID=\"11111111-1111-1111-1111-111111111111\" RevisionNumber=\"1\"/></upd:Update>";
    let record = format!(
        "11111111-1111-1111-1111-111111111111,00000001,{:08x},{xml}\r\n",
        xml.len()
    );
    let metadata = record.repeat(2);
    let bytes = cabinet(&[
        (
            "package.xml",
            b"<ExportPackage ServerID=\"x\" CreationTime=\"y\"><Updates><Update UpdateId=\"11111111-1111-1111-1111-111111111111\" RevisionNumber=\"1\"/></Updates></ExportPackage>",
        ),
        ("metadata.txt", metadata.as_bytes()),
    ]);
    let (path, stderr, _dir) = refused("export.cab", &bytes);
    let at = record.len();
    assert_eq!(
        stderr,
        format!(
            "wsus-airgap: error: {}: metadata.txt: record 2 (update 11111111-1111-1111-1111-111111111111) at byte {at}: \
             update 11111111-1111-1111-1111-111111111111 revision 1 appears twice\n",
            path.display()
        )
    );
}

#[test]
fn package_xml_and_metadata_must_list_the_same_update_revisions() {
    let id = "11111111-1111-1111-1111-111111111111";
    let xml = format!(
        "<upd:Update xmlns:upd=\"u\"><upd:UpdateIdentity UpdateID=\"{id}\" RevisionNumber=\"2\"/></upd:Update>"
    );
    let metadata = format!("{id},00000002,{:08x},{xml}\r\n", xml.len());
    let listing = |revisions: &[u32]| {
        let updates: String = revisions
            .iter()
            .map(|r| format!("<Update UpdateId=\"{id}\" RevisionNumber=\"{r}\"/>"))
            .collect();
        format!(
            "<ExportPackage ServerID=\"x\" CreationTime=\"y\"><Updates>{updates}</Updates></ExportPackage>"
        )
    };

    // Refused with this package.xml beside the metadata.txt above.
    let refused_listing = |revisions: &[u32]| {
        let package_xml = listing(revisions);
        refused(
            "export.cab",
            &cabinet(&[
                ("package.xml", package_xml.as_bytes()),
                ("metadata.txt", metadata.as_bytes()),
            ]),
        )
    };

    // metadata.txt describes revision 2, which package.xml does not list.
    let (path, stderr, _dir) = refused_listing(&[1]);
    assert_eq!(
        stderr,
        format!(
            "wsus-airgap: error: {}: metadata.txt: record 1 (update {id}) at byte 0: \
             describes update {id} revision 2, which package.xml does not list\n",
            path.display()
        )
    );

    // package.xml lists revisions 2 and 3; metadata.txt describes only 2.
    let (path, stderr, _dir) = refused_listing(&[3, 2]);
    assert_eq!(
        stderr,
        format!(
            "wsus-airgap: error: {}: package.xml: lists update {id} revision 3, \
             which metadata.txt does not describe\n",
            path.display()
        )
    );
}

/// A package that another program holds open (wsusutil still writing it, a scanner) is
/// waited for, and named when it stays held.
#[cfg(windows)]
#[test]
fn a_package_held_open_is_waited_for_and_named_when_it_stays_held() {
    use std::os::windows::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("export.cab");
    fs::copy(fixture(), &package).unwrap();
    let hold = || {
        fs::File::options()
            .read(true)
            .share_mode(0)
            .open(&package)
            .unwrap()
    };

    let held = hold();
    let run = inspect(&package);
    drop(held);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr,
        format!(
            "wsus-airgap: error: {}: another program holds it open (WSUS or antivirus, for \
             example): still so after 6 tries over 8 s (os error 32)\n",
            package.display()
        )
    );

    let held = hold();
    let letting_go = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(2));
        drop(held);
    });
    let run = inspect(&package);
    letting_go.join().unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, inspect(&package).stdout);
}
