//! `wsus-airgap check`: the real binary on generated sites and packages, with exact reports.

mod support;

use std::fs;
use std::process::Command;

use indicatif::{HumanBytes, HumanCount};
use support::{TestExport, independent_sha1};
use wsus_airgap::synth::{SiteFile, SyntheticUpdate};

/// `  KB5040005 Title [update id, revision 1]`, as the report heads an update.
fn update_line(update: &SyntheticUpdate) -> String {
    format!(
        "  KB{} {} [update {}, revision {}]\n",
        update.kb.as_deref().unwrap(),
        update.title,
        update.id,
        update.revision
    )
}

/// The report's line for a file that `owner` references.
fn file_line(state: &str, owner: &SyntheticUpdate, file: &SiteFile, detail: &str) -> String {
    format!(
        "    {state}: {} ({}, {} bytes){detail}\n",
        file.path,
        owner.file_name(file),
        HumanCount(file.size)
    )
}

fn orphan_lines(test: &TestExport) -> String {
    test.export
        .unreferenced
        .iter()
        .map(|file| {
            format!(
                "orphan: {} ({} bytes): no update in the package references it\n",
                file.path,
                HumanCount(file.size)
            )
        })
        .collect()
}

/// The two summary lines, from what the test knows of the site.
fn summary(test: &TestExport, states: &str) -> String {
    let needed: Vec<&SiteFile> = test
        .site
        .site
        .files
        .iter()
        .filter(|f| !test.export.unreferenced.contains(f))
        .collect();
    let orphans = &test.export.unreferenced;
    format!(
        "checked {}: 13 updates, 10 need content: {} files, {}\n\
         against {}: {states}; {} orphans ({})\n",
        test.package.display(),
        needed.len(),
        HumanBytes(needed.iter().map(|f| f.size).sum()),
        test.site.root().display(),
        orphans.len(),
        HumanBytes(orphans.iter().map(|f| f.size).sum()),
    )
}

/// The first software update that a bundle bundles, and that bundle.
fn bundled_and_bundle(test: &TestExport) -> (&SyntheticUpdate, &SyntheticUpdate) {
    let bundle = test
        .export
        .updates
        .iter()
        .find(|u| !u.bundled.is_empty())
        .unwrap();
    (test.export.update(&bundle.bundled[0]).unwrap(), bundle)
}

/// A software update no bundle bundles, with a file that is not `.esd`.
fn standalone(test: &TestExport, nth: usize) -> (&SyntheticUpdate, &SiteFile) {
    let bundled: Vec<&String> = test
        .export
        .updates
        .iter()
        .flat_map(|u| &u.bundled)
        .collect();
    let update = test
        .export
        .updates
        .iter()
        .filter(|u| u.kind == "Software" && u.bundled.is_empty() && !bundled.contains(&&u.id))
        .nth(nth)
        .unwrap();
    let file = update
        .files
        .iter()
        .find(|f| !f.path.ends_with(".esd"))
        .unwrap();
    (update, file)
}

/// The damage most tests start from: the first file of a bundled update removed (so its
/// bundle lacks it), and a file of a standalone update corrupted.
struct TwoGaps<'a> {
    child: &'a SyntheticUpdate,
    bundle: &'a SyntheticUpdate,
    removed: &'a SiteFile,
    update: &'a SyntheticUpdate,
    corrupted: &'a SiteFile,
}

fn remove_in_bundle_and_corrupt_standalone(test: &TestExport) -> TwoGaps<'_> {
    let (child, bundle) = bundled_and_bundle(test);
    let removed = &child.files[0];
    test.site.site.remove(test.index_of(&removed.path)).unwrap();
    let (update, corrupted) = standalone(test, 0);
    test.site
        .site
        .corrupt(test.index_of(&corrupted.path))
        .unwrap();
    TwoGaps {
        child,
        bundle,
        removed,
        update,
        corrupted,
    }
}

/// `check | head -1` on a site with gaps: the verdict is still the exit code, with no error
/// for the report nobody read; the same for text and JSON.
#[test]
fn a_reader_that_stops_early_does_not_change_the_verdict() {
    let test = TestExport::small();
    remove_in_bundle_and_corrupt_standalone(&test);
    for more in [&[][..], &["--json"]] {
        let (code, stderr) = support::run_into_closed_pipe(&mut test.check_command(more));
        assert_eq!((code, stderr.as_str()), (1, ""), "{more:?}");
    }
}

#[test]
fn a_complete_site_passes_and_lists_its_orphans() {
    let test = TestExport::small();
    let run = test.check(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        orphan_lines(&test)
            + &summary(&test, "24 present and intact")
            + "result: complete: every update's content is present and intact\n"
    );
}

#[test]
fn missing_and_corrupt_files_are_grouped_by_update_under_failed_to_download() {
    let test = TestExport::small();
    let TwoGaps {
        child,
        bundle,
        removed,
        update,
        corrupted,
    } = remove_in_bundle_and_corrupt_standalone(&test);
    let actual = independent_sha1(&test.site.root().join(&corrupted.path));
    let esd = test
        .site
        .site
        .files
        .iter()
        .find(|f| f.path.ends_with(".esd"))
        .unwrap();
    assert!(
        !test.export.unreferenced.contains(esd),
        "the .esd is referenced"
    );
    test.site.site.corrupt(test.index_of(&esd.path)).unwrap();
    let esd_actual = independent_sha1(&test.site.root().join(&esd.path));

    let run = test.check(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    // KB order: the standalone update (KB5040005) before the bundle (KB5040009).
    let expected = "these 2 updates will show \"Failed to download\" once approved:\n".to_owned()
        + &update_line(update)
        + &file_line(
            "corrupt",
            update,
            corrupted,
            &format!(
                ": found SHA-1 {actual}, {} bytes",
                HumanCount(corrupted.size)
            ),
        )
        + &update_line(bundle)
        + &file_line("missing", child, removed, "")
        + &format!(
            "warning: esd-mismatch: {}: expected SHA-1 {} (from the name), found {esd_actual}; \
             WSUS may decrypt .esd files in place\n",
            esd.path, esd.sha1
        )
        + &orphan_lines(&test)
        + &summary(
            &test,
            "21 present and intact, 1 missing, 1 corrupt, 1 esd-mismatch",
        )
        + "result: 2 updates lack content\n";
    assert_eq!(run.stdout, expected);
}

#[test]
fn a_misplaced_copy_is_named_and_not_counted_again() {
    let test = TestExport::small();
    let (update, file) = standalone(&test, 1);
    let moved_to = test.site.site.misplace(test.index_of(&file.path)).unwrap();
    let run = test.check(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.starts_with(
            &("this update will show \"Failed to download\" once approved:\n".to_owned()
                + &update_line(update)
                + &file_line(
                    "missing",
                    update,
                    file,
                    &format!(": a copy sits at {moved_to}, outside the folder WSUS looks in")
                ))
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("note:"), "{}", run.stdout);
    assert!(run.stdout.ends_with("result: 1 update lacks content\n"));
}

#[test]
fn files_the_site_never_had_are_missing() {
    let test = TestExport::new(
        &support::small_spec(),
        &wsus_airgap::synth::ExportSpec {
            missing_files: 2,
            ..Default::default()
        },
    );
    let run = test.check(&["--json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let missing: Vec<&str> = document["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["state"] == "missing")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let mut expected: Vec<&str> = test
        .export
        .missing
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    expected.sort();
    assert_eq!(missing, expected);
}

/// Writes `text` beside the site and returns its path as a string.
fn write_list(test: &TestExport, name: &str, text: &str) -> String {
    let path = test.site.dir.path().join(name);
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn with_an_approved_list_only_approved_updates_fail() {
    let test = TestExport::small();
    let TwoGaps { bundle, update, .. } = remove_in_bundle_and_corrupt_standalone(&test);

    // Approved: the corrupted update (upper case, braces) and one the package lacks.
    let absent = "00000000-1111-2222-3333-444444444444";
    let list = write_list(
        &test,
        "approved.txt",
        &format!("{{{}}}\r\n{absent}\r\n", update.id.to_uppercase()),
    );
    let run = test.check(&["--approved", &list]);
    assert_eq!(run.code, 1, "{run:?}");
    let text = &run.stdout;
    let approved_block = "this approved update will show \"Failed to download\":\n".to_owned()
        + &update_line(update);
    let information = "information: this update is not approved, also lacking content:\n"
        .to_owned()
        + &update_line(bundle);
    assert!(text.starts_with(&approved_block), "{text}");
    assert!(text.contains(&information), "{text}");
    assert!(text.contains(&format!(
        "note: 1 approved update is not in the package, so not checked: {absent}\n"
    )));
    assert!(text.ends_with(
        "result: 1 approved update lacks content; 1 update not approved lacks content\n"
    ));

    // The CSV Get-WsusUpdate | Export-Csv writes, approving only an intact update: exit 0,
    // and both gaps are information.
    let (intact, _) = standalone(&test, 2);
    let csv = write_list(
        &test,
        "approved.csv",
        &format!(
            "#TYPE Microsoft.UpdateServices.Commands.WsusUpdate\r\n\
             \"Update\",\"Classification\",\"UpdateId\"\r\n\
             \"{}, x64\",\"Security Updates\",\"{}\"\r\n",
            intact.title, intact.id
        ),
    );
    let run = test.check(&["--approved", &csv]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("information: these 2 updates are not approved, also lacking content:\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with(
        "result: complete for the approved updates; 2 updates not approved lack content\n"
    ));
}

#[test]
fn bad_approved_lists_and_inputs_are_errors_that_name_the_file() {
    let test = TestExport::small();
    let list = write_list(&test, "approved.txt", "KB5040001\n");
    let run = test.check(&["--approved", &list]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "wsus-airgap: error: {list}: line 1: \"KB5040001\" is not an update GUID\n\
             hint: give one update GUID per line, or the CSV written by \
             `Get-WsusUpdate -Approval Approved | Export-Csv`\n"
        )
    );

    let run = test.check(&["--approved", "no-such-list.txt"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .starts_with("wsus-airgap: error: no-such-list.txt: ")
    );

    let gone = test.site.dir.path().join("gone");
    let mut command = Command::new(support::binary());
    command
        .args(["check", "--package"])
        .arg(&test.package)
        .arg("--content")
        .arg(&gone);
    let run = support::run_command(&mut command);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(&format!("{}: the folder does not exist", gone.display())),
        "{run:?}"
    );

    fs::write(&test.package, b"").unwrap();
    let run = test.check(&[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("KB2819484"), "{run:?}");
}

#[test]
fn json_report_has_the_gaps_and_validates_against_the_published_schema() {
    let test = TestExport::small();
    let TwoGaps {
        bundle,
        update,
        corrupted,
        ..
    } = remove_in_bundle_and_corrupt_standalone(&test);
    let (_, moved) = standalone(&test, 1);
    test.site.site.misplace(test.index_of(&moved.path)).unwrap();
    let esd = test.site.index_of_extension("esd");
    test.site.site.corrupt(esd).unwrap();
    let list = write_list(&test, "approved.txt", &format!("{}\n", update.id));

    let run = test.check(&["--json", "--approved", &list]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = test.site.dir.path().join("check.json");
    fs::write(&report, &run.stdout).unwrap();
    support::assert_valid_against_schema("check-report.schema.json", &report);

    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(document["result"], "incomplete");
    assert_eq!(document["failing"][0]["id"], update.id.as_str());
    assert_eq!(document["failing"][0]["files"][0], corrupted.path.as_str());
    let not_approved: Vec<&str> = document["not_approved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(not_approved.len(), 2);
    assert!(not_approved.contains(&bundle.id.as_str()));
    let states: Vec<&str> = document["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["state"].as_str().unwrap())
        .collect();
    for state in ["present", "missing", "corrupt", "esd-mismatch"] {
        assert!(states.contains(&state), "{state} in {states:?}");
    }
    assert_eq!(document["totals"]["missing"], 2);
    assert_eq!(document["totals"]["orphans"], 2);
}

/// Debian's cabextract extracts what the generator writes, and the reader reads a cabinet
/// of the same members made by GNOME's gcab: the format is the real one, not our own idea.
#[cfg(unix)]
#[test]
fn generated_cabinets_extract_with_cabextract_and_gcab_cabinets_read_back() {
    let Some(cabextract) = support::tool("cabextract") else {
        return;
    };
    let test = TestExport::small();
    let dir = test.site.dir.path();
    let extracted = dir.join("extracted");
    let status = Command::new(cabextract)
        .arg("-q")
        .arg("-d")
        .arg(&extracted)
        .arg(&test.package)
        .status()
        .unwrap();
    assert!(status.success());
    let package_xml = fs::read(extracted.join("package.xml")).unwrap();
    assert!(
        package_xml
            .starts_with(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?><ExportPackage ")
    );
    let metadata = fs::read_to_string(extracted.join("metadata.txt")).unwrap();
    assert_eq!(metadata.matches("\r\n").count(), test.export.updates.len());

    let Some(gcab) = support::tool("gcab") else {
        return;
    };
    let rebuilt = dir.join("gcab.cab");
    let status = Command::new(gcab)
        .arg("--create")
        .arg("--zip")
        .arg("--nopath")
        .arg(&rebuilt)
        .arg(extracted.join("package.xml"))
        .arg(extracted.join("metadata.txt"))
        .status()
        .unwrap();
    assert!(status.success());
    use std::path::Path;
    use support::Run;
    let inspect = |path: &Path| -> Run {
        support::run(["inspect".as_ref(), "--json".as_ref(), path.as_os_str()])
    };
    let (ours, theirs) = (inspect(&test.package), inspect(&rebuilt));
    assert_eq!(ours.code, 0, "{ours:?}");
    assert_eq!(theirs.code, 0, "{theirs:?}");
    let strip = |run: &Run| {
        let mut value: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        value.as_object_mut().unwrap().remove("package");
        value
    };
    assert_eq!(strip(&ours), strip(&theirs));
    assert_eq!(strip(&ours)["updates"], 14);
}
