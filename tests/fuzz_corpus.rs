//! The fuzz corpus, run on stable Rust through the entry points the fuzz targets use
//! (`fuzz/src/lib.rs`): every file of `tests/fuzz-corpus/<target>/` is handed to its target's
//! parser, which must refuse it or read it, never panic. Inputs that once broke a parser are
//! named tests below, with what the parser must say of them.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target)
}

fn input(target: &str, name: &str) -> Vec<u8> {
    let path = corpus(target).join(name);
    fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn every_corpus_input_is_refused_or_read_without_a_panic() {
    let mut inputs = 0;
    for (target, parse) in harness::TARGETS {
        let folder = corpus(target);
        let mut names: Vec<PathBuf> = fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        names.sort();
        assert!(!names.is_empty(), "no corpus for {target}");
        for path in names {
            let data = fs::read(&path).unwrap();
            // A panic fails the test, naming the input.
            let outcome = std::panic::catch_unwind(|| parse(&data));
            assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
            inputs += 1;
        }
    }
    assert!(inputs >= 30, "{inputs} inputs");
}

#[test]
fn the_real_export_and_the_generated_packages_are_read() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wsus-export-2024.cab");
    assert_eq!(harness::package(&fs::read(fixture).unwrap()), Ok(()));
    for name in [
        "generated-small.cab",
        "generated-tiny.cab",
        "generated-tiny.cab.gz",
        "generated-tiny-package-xml.gz",
    ] {
        assert_eq!(harness::package(&input("package", name)), Ok(()), "{name}");
    }
    for name in ["generated-small.xml", "real-export-first-3-updates.xml"] {
        assert_eq!(
            harness::package_xml(&input("package_xml", name)),
            Ok(()),
            "{name}"
        );
    }
    for name in ["generated-small.txt", "real-export-first-3-records.txt"] {
        assert_eq!(
            harness::metadata(&input("metadata", name)),
            Ok(()),
            "{name}"
        );
    }
    assert_eq!(
        harness::public_key(&input("public_key", "generated.pub")),
        Ok(())
    );
    assert_eq!(
        harness::receipt(&input("receipt", "generated.json")),
        Ok(())
    );
    assert_eq!(
        harness::trust_state(&input("trust_state", "generated.json")),
        Ok(())
    );
    for name in [
        "one-guid-per-line.txt",
        "powershell.csv",
        "powershell-utf16.csv",
    ] {
        assert_eq!(
            harness::approved(&input("approved", name)),
            Ok(()),
            "{name}"
        );
    }
}

/// What the package target says of a corpus input it must refuse.
fn package_refusal(name: &str) -> String {
    harness::package(&input("package", name)).expect_err(name)
}

#[test]
fn finding_3_a_file_entry_past_its_folder_is_refused_not_a_panic() {
    let refusal = package_refusal("finding3-file-offset-past-folder.cab");
    assert!(
        refusal.starts_with("fuzz.cab: cabinet: file entry 1 (package.xml) declares "),
        "{refusal}"
    );
    let refusal = package_refusal("finding3-folder-without-data-blocks.cab");
    assert!(
        refusal.starts_with("fuzz.cab: cabinet: its data blocks end at byte "),
        "{refusal}"
    );
}

#[test]
fn finding_4_xml_nested_past_the_limit_is_refused() {
    for name in [
        "finding4-package-xml-nested-20000-levels.cab",
        "finding4-metadata-nested-20000-levels.cab",
    ] {
        let refusal = package_refusal(name);
        assert!(
            refusal.contains(&format!(
                "elements nested more than {} levels deep",
                wsus_airgap::package::MAX_DEPTH
            )),
            "{refusal}"
        );
    }
    let refusal = harness::package_xml(&input("package_xml", "finding4-nested-20000-levels.xml"));
    assert!(refusal.unwrap_err().contains("nested more than"));
    let refusal = harness::metadata(&input(
        "metadata",
        "finding4-record-nested-20000-levels.txt",
    ));
    assert!(refusal.unwrap_err().contains("nested more than"));
}

#[test]
fn finding_5_megabytes_of_whitespace_are_refused_without_holding_them() {
    let refusal = package_refusal("finding5-8-mib-of-whitespace.xml.gz");
    assert!(
        refusal
            .starts_with("fuzz.cab: gzip: package XML: text, a tag or a comment longer than 1 MiB"),
        "{refusal}"
    );
}

#[test]
fn finding_6_declared_sizes_that_disagree_with_the_data_are_refused() {
    for (name, problem) in [
        (
            "finding6-folder-declares-65535-blocks.cab",
            "cabinet: folder 0 declares 65535 data blocks, but block ",
        ),
        (
            "finding6-metadata-declared-0xffffffff-bytes.cab",
            "cabinet: file entry 2 (metadata.txt) declares 4294967295 bytes ",
        ),
        (
            "finding6-record-length-one-too-long.cab",
            "metadata.txt: record 1 (update 11111111-1111-1111-1111-111111111111) at byte 0: \
             the XML length (128 UTF-16 units) ends at byte 0x0D",
        ),
        (
            "bytes-after-the-declared-end.cab",
            "cabinet: 8 bytes follow the end its header declares",
        ),
        (
            "stored-block-sizes-disagree.cab",
            "cabinet: data block 0 of folder 0 (at byte ",
        ),
    ] {
        let refusal = package_refusal(name);
        assert!(
            refusal.starts_with(&format!("fuzz.cab: {problem}")),
            "{refusal}"
        );
    }
}
