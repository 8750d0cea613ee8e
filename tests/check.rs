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

/// Approved updates the package does not hold are named as not checked, and the verdict says
/// it covers only those in the package; with none, the verdict is the plain one.
#[test]
fn the_verdict_says_when_approved_updates_were_not_in_the_package() {
    let test = TestExport::small();
    let (intact, _) = standalone(&test, 2);
    let absent = [
        "00000000-1111-2222-3333-444444444444",
        "55555555-6666-7777-8888-999999999999",
    ];
    let verdicts = [
        "result: complete: every update's content is present and intact\n",
        "result: complete for the approved updates in the package; 1 approved update is not in it\n",
        "result: complete for the approved updates in the package; 2 approved updates are not in it\n",
    ];
    for (count, verdict) in verdicts.iter().enumerate() {
        let text: String = std::iter::once(intact.id.as_str())
            .chain(absent[..count].iter().copied())
            .map(|id| format!("{id}\n"))
            .collect();
        let list = write_list(&test, "approved.txt", &text);
        let run = test.check(&["--approved", &list]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(run.stdout.ends_with(verdict), "{count}: {}", run.stdout);
    }

    // With a gap in an update not approved, the verdict names both.
    remove_in_bundle_and_corrupt_standalone(&test);
    let list = write_list(
        &test,
        "approved.txt",
        &format!("{}\n{}\n", intact.id, absent[0]),
    );
    let run = test.check(&["--approved", &list]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.ends_with(
            "result: complete for the approved updates in the package; \
             2 updates not approved lack content\n"
        ),
        "{}",
        run.stdout
    );
}

/// Damage to files the package does not need is not the package's gap, but it is named in a
/// note pointing at the audit, counted and spelt for one and for several.
#[test]
fn damage_the_package_does_not_need_is_noted_and_passes() {
    let test = TestExport::small();
    let content = test.site.root().display().to_string();
    let expected = [
        format!(
            "note: the folder has 1 other problem that this package does not need; \
             `wsus-airgap audit {content}` lists it\n"
        ),
        format!(
            "note: the folder has 2 other problems that this package does not need; \
             `wsus-airgap audit {content}` lists them\n"
        ),
    ];
    assert!(test.export.unreferenced.len() >= 2);
    for (orphan, note) in test.export.unreferenced.iter().zip(&expected) {
        test.site.site.corrupt(test.index_of(&orphan.path)).unwrap();
        let run = test.check(&[]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.ends_with(&format!(
                "{note}result: complete: every update's content is present and intact\n"
            )),
            "{}",
            run.stdout
        );
    }
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
#[cfg_attr(
    windows,
    ignore = "cabextract and gcab are Linux programs: the Linux run cross-checks"
)]
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

/// File references as another writer than this project's spells them: Microsoft's real export
/// (which references no files) with one software update added by hand, as the format's
/// documentation describes it, repacked by GNOME's gcab. The digests are known answers, not
/// computed here: SHA-1 "abc" (FIPS 180) and the worked example of the format's notes
/// (`+woVBgFHAZXEe06Nh/yz9QKSvrI=` is `FB0A...BEB2`, stored under `B2/`).
#[cfg_attr(
    windows,
    ignore = "cabextract and gcab are Linux programs: the Linux run cross-checks"
)]
#[test]
fn references_written_by_hand_into_the_real_export_are_checked() {
    const ABC: &str = "9D/A9993E364706816ABA3E25717850C26C9CD0D89D.cab";
    const EXAMPLE: &str = "B2/FB0A150601470195C47B4E8D87FCB3F50292BEB2.exe";
    let (Some(cabextract), Some(gcab)) = (support::tool("cabextract"), support::tool("gcab"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let package = hand_written_package(dir.path(), &cabextract, &gcab);
    let content = dir.path().join("WsusContent");
    fs::create_dir_all(content.join("9D")).unwrap();
    fs::write(content.join(ABC), "abc").unwrap();
    let check = |json: bool| {
        let mut args = vec!["check", "--quiet", "--package"];
        args.push(package.to_str().unwrap());
        args.extend(["--content", content.to_str().unwrap()]);
        if json {
            args.push("--json");
        }
        support::run(args)
    };
    let run = check(false);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!(
            "this update will show \"Failed to download\" once approved:\n  \
             KB5040034 Written by hand [update {ID}, revision 200]\n    \
             missing: {EXAMPLE} (example.exe, 4 bytes)\n"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(": 4,088 updates, 1 need content: 2 files, 7 B\nagainst "),
        "{}",
        run.stdout
    );
    let document: serde_json::Value = serde_json::from_str(&check(true).stdout).unwrap();
    let states: Vec<(String, String)> = document["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            (
                file["path"].as_str().unwrap().to_owned(),
                file["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (ABC.to_owned(), "present".to_owned()),
            (EXAMPLE.to_owned(), "missing".to_owned())
        ]
    );
}

/// The update added by hand to the real export.
const ID: &str = "5e1d7a00-0b1c-4d2e-8f30-405060708090";

/// The real export with [`ID`] added by hand, unpacked by `cabextract` and packed again by
/// `gcab` into `dir`.
fn hand_written_package(
    dir: &std::path::Path,
    cabextract: &std::path::Path,
    gcab: &std::path::Path,
) -> std::path::PathBuf {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wsus-export-2024.cab");
    let members = dir.join("members");
    let status = Command::new(cabextract)
        .arg("-q")
        .arg("-d")
        .arg(&members)
        .arg(&fixture)
        .status()
        .unwrap();
    assert!(status.success());

    let files = "<File Digest=\"qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\" /><File \
                 Digest=\"+woVBgFHAZXEe06Nh/yz9QKSvrI=\" />";
    let package_xml = fs::read_to_string(members.join("package.xml")).unwrap();
    let package_xml = package_xml
        .replacen(
            "</Languages><Files /><Updates>",
            "</Languages><Files><File Digest=\"qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\" \
             MUUrl=\"http://download.windowsupdate.com/abc.cab\" Name=\"abc.cab\" /><File \
             Digest=\"+woVBgFHAZXEe06Nh/yz9QKSvrI=\" \
             MUUrl=\"http://download.windowsupdate.com/example.exe\" Name=\"example.exe\" \
             /></Files><Updates>",
            1,
        )
        .replacen(
            "</Updates>",
            &format!(
                "<Update UpdateId=\"{ID}\" RevisionNumber=\"200\"><Files>{files}</Files>\
                 <Categories /><Classifications /></Update></Updates>"
            ),
            1,
        );
    assert_eq!(
        package_xml.matches(ID).count(),
        1,
        "the package.xml changed shape"
    );
    fs::write(members.join("package.xml"), package_xml).unwrap();
    let record = format!(
        "<upd:Update xmlns:upd=\"http://schemas.microsoft.com/msus/2002/12/Update\">\
         <upd:UpdateIdentity UpdateID=\"{}\" RevisionNumber=\"200\" />\
         <upd:Properties UpdateType=\"Software\"><upd:KBArticleID>5040034</upd:KBArticleID>\
         </upd:Properties><upd:LocalizedPropertiesCollection><upd:LocalizedProperties>\
         <upd:Language>en</upd:Language><upd:Title>Written by hand</upd:Title>\
         </upd:LocalizedProperties></upd:LocalizedPropertiesCollection><upd:Files>\
         <upd:File Digest=\"qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\" DigestAlgorithm=\"SHA1\" \
         FileName=\"abc.cab\" Size=\"3\" Modified=\"2024-06-11T17:00:00Z\" />\
         <upd:File Digest=\"+woVBgFHAZXEe06Nh/yz9QKSvrI=\" DigestAlgorithm=\"SHA1\" \
         FileName=\"example.exe\" Size=\"4\" Modified=\"2024-06-11T17:00:00Z\" />\
         </upd:Files></upd:Update>",
        ID.to_uppercase()
    );
    // The length field counts UTF-16 code units (all ASCII here: one per byte).
    let mut metadata = fs::read(members.join("metadata.txt")).unwrap();
    metadata.extend(format!("{ID},000000c8,{:08x},{record}\r\n", record.len()).bytes());
    fs::write(members.join("metadata.txt"), metadata).unwrap();
    let package = dir.join("by-hand.cab");
    let status = Command::new(gcab)
        .args(["--create", "--zip", "--nopath"])
        .arg(&package)
        .arg(members.join("package.xml"))
        .arg(members.join("metadata.txt"))
        .status()
        .unwrap();
    assert!(status.success());

    package
}
