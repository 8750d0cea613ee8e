//! Safety rules that a deliberate bug once slipped past, each held by a test whose expected
//! values come from outside the code under test: the generator's own data, or what an
//! independent tool computes.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::trip::Trip;
use support::{TestSite, has_line, independent_sha1, run, run_command};
use wsus_airgap::synth::SiteSpec;

/// Media whose manifest is correctly signed but leaves out a file the package references is
/// refused, naming the update that would fail to download; an import changes nothing.
#[test]
fn the_gate_refuses_signed_media_whose_manifest_leaves_out_a_referenced_file() {
    let trip = Trip::new(31);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    // Re-signed by the trusted key, over content lacking one file the package needs.
    let left_out = trip.site.files[0].path.clone();
    fs::remove_file(media.join("WsusContent").join(&left_out)).unwrap();
    fs::remove_file(media.join("manifest.json")).unwrap();
    let resigned = run_command(
        Command::new(support::binary())
            .args(["manifest", "create", "--quiet", "--content"])
            .arg(media.join("WsusContent"))
            .arg("--package")
            .arg(media.join("export.xml.gz"))
            .arg("--key")
            .arg(trip.path("site.key"))
            .arg("--out")
            .arg(&media),
    );
    assert_eq!(resigned.code, 0, "{}", resigned.stderr);

    for verb in ["verify", "import"] {
        let before = trip.disconnected_files();
        let refused = run_command(&mut trip.gate(verb, &media));
        assert_eq!(refused.code, 1, "{verb}: {}", refused.stderr);
        assert!(
            has_line(&refused.stderr, &format!("  lacks {left_out}")),
            "{}",
            refused.stderr
        );
        let last = refused.stderr.lines().last().unwrap();
        assert!(
            last.starts_with("wsus-airgap: refused: ")
                && last.ends_with("; 1 package reference the manifest does not list"),
            "{last}"
        );
        assert_eq!(trip.disconnected_files(), before, "{verb}");
    }
}

/// A damaged file above the size where reading changes strategy (large reads, and memory
/// maps for the largest) is found, with the SHA-1 an independent tool computes.
#[test]
fn audit_finds_a_damaged_large_content_file_that_is_not_an_esd() {
    let site = TestSite::new(&SiteSpec {
        files: 4,
        min_size: 1,
        max_size: 1000,
        large_files: 1,
        large_size: 24 * 1024 * 1024,
        seed: 32,
    });
    let large = site.index_of_extension("exe");
    assert!(site.site.files[large].size > 16 * 1024 * 1024);
    let path = site.site.path_of(large);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let actual = independent_sha1(&path);

    let audited = run([Path::new("audit"), Path::new("--quiet"), site.root()]);
    assert_eq!(audited.code, 1, "{}", audited.stderr);
    let relative = &site.site.files[large].path;
    let expected = format!(
        "corrupt: {relative}: expected SHA-1 {} (from the name), found {actual}",
        site.site.files[large].sha1
    );
    assert!(has_line(&audited.stdout, &expected), "{}", audited.stdout);
}

/// A package changed in place with its size kept (one byte) is refused as changed, with the
/// BLAKE3 found (computed here); nothing is changed and wsusutil is not run. Size alone must
/// never pass it.
#[test]
fn a_package_changed_with_its_size_kept_is_refused() {
    let trip = Trip::new(32);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let package = media.join("export.xml.gz");
    let signed = fs::read(&package).unwrap();
    let mut changed = signed.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x01;
    fs::write(&package, &changed).unwrap();
    let expected = format!(
        "package: {}: changed: found {} bytes, BLAKE3 {}\n",
        package.display(),
        indicatif::HumanCount(changed.len() as u64),
        support::oracle::blake3_hex(&changed),
    );
    assert_ne!(
        support::oracle::blake3_hex(&signed),
        support::oracle::blake3_hex(&changed)
    );
    for verb in ["verify", "import"] {
        let before = trip.disconnected_files();
        let refused = run_command(&mut trip.gate(verb, &media));
        assert_eq!(refused.code, 1, "{verb}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(&expected),
            "{verb}: {}",
            refused.stderr
        );
        assert_eq!(trip.disconnected_files(), before, "{verb}");
    }
    assert!(!trip.path("wsusutil-record.txt").exists(), "wsusutil ran");
}

/// A manifest that cannot be read (a folder in its place) is an error of the system, exit 2
/// naming the file, not a verdict on the media (exit 1): an operator must not take a broken
/// drive for refused media, nor the other way round. Nothing changes either way.
#[test]
fn an_unreadable_manifest_is_an_error_not_a_refusal() {
    let trip = Trip::new(33);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let manifest = media.join("manifest.json");
    fs::remove_file(&manifest).unwrap();
    fs::create_dir(&manifest).unwrap();
    for verb in ["verify", "import"] {
        let before = trip.disconnected_files();
        let run = run_command(&mut trip.gate(verb, &media));
        assert_eq!(run.code, 2, "{verb}: {}", run.stderr);
        let prefix = format!("wsus-airgap: error: {}: ", manifest.display());
        assert!(run.stderr.starts_with(&prefix), "{verb}: {}", run.stderr);
        assert!(!run.stderr.contains("refused"), "{verb}: {}", run.stderr);
        assert_eq!(trip.disconnected_files(), before, "{verb}");
    }
}
