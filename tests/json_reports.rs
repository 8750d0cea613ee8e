//! `--json` on every command that takes it: whatever the outcome (success, refusal with exit
//! code 1, error with exit code 2, or 3 when wsusutil failed), stdout holds exactly one JSON
//! document, with a `result`, valid against the command's schema in `manifests/`.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::trip::Trip;
use support::{TestExport, run_command};

/// Runs `command` with `--json`; asserts that stdout is exactly one JSON document, valid
/// against `manifests/<schema>`, and returns the exit code and the document. (stderr is
/// printed, for the message of a failing test.)
fn run_json(command: &mut Command, schema: &str) -> (i32, Value) {
    let run = run_command(command.arg("--json"));
    eprintln!("stderr of {command:?}:\n{}", run.stderr);
    let mut documents = serde_json::Deserializer::from_str(&run.stdout).into_iter::<Value>();
    let document = match documents.next() {
        Some(Ok(document)) => document,
        other => panic!("stdout is not a JSON document ({other:?}):\n{}", run.stdout),
    };
    assert!(
        documents.next().is_none(),
        "more than one document:\n{}",
        run.stdout
    );
    let written = tempfile::NamedTempFile::new().unwrap();
    fs::write(written.path(), &run.stdout).unwrap();
    support::assert_valid_against_schema(schema, written.path());
    (run.code, document)
}

/// Asserts that `document` is the error document: `result` and the message, nothing else.
fn assert_error_document(document: &Value) {
    let error = document["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "{document:#}");
    assert_eq!(document, &json!({ "result": "error", "error": error }));
}

/// Media exported from the connected content, its document checked.
fn exported(trip: &Trip) -> PathBuf {
    let media = trip.path("media");
    let (code, document) = run_json(&mut trip.export(&media, None), "export-report.schema.json");
    assert_eq!((code, &document["result"]), (0, &json!("exported")));
    media
}

/// Replaces a manifest's signature with one minisign cannot read.
fn spoil_signature(folder: &Path) {
    fs::write(
        folder.join("manifest.json.minisig"),
        "untrusted comment: x\n",
    )
    .unwrap();
}

#[test]
fn export_writes_one_document_for_each_outcome() {
    const SCHEMA: &str = "export-report.schema.json";
    let trip = Trip::new(1);
    let package = trip.package();

    let dry_media = trip.path("dry-run");
    let mut dry_run = trip.export(&dry_media, Some(&package));
    let (code, document) = run_json(dry_run.arg("--dry-run"), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("dry-run")));
    assert_eq!(document["manifest"], Value::Null);
    assert!(!dry_media.join("manifest.json").exists());

    let media = trip.path("media");
    let (code, document) = run_json(&mut trip.export(&media, None), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("exported")));
    assert_eq!(document["media"], media.display().to_string());
    assert_eq!(
        document["manifest"],
        media.join("manifest.json").display().to_string()
    );

    let mut failing = trip.export(&trip.path("failed"), None);
    let (code, document) = run_json(failing.env("WSUSUTIL_FAIL", "1"), SCHEMA);
    assert_eq!(code, 3);
    assert_error_document(&document);

    let mut since_absent = trip.export(&trip.path("unsent"), None);
    since_absent
        .arg("--since")
        .arg(trip.path("absent-receipt.json"));
    let (code, document) = run_json(&mut since_absent, SCHEMA);
    assert_eq!(code, 2);
    assert_error_document(&document);

    // The package references a file the content no longer holds.
    let lost = trip.site.remove(7).unwrap();
    let (code, document) = run_json(&mut trip.export(&trip.path("gap"), Some(&package)), SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));
    assert_eq!(document["refusal"], "gaps");
    assert_eq!(
        document["files"],
        json!([{ "path": lost, "problem": "missing" }])
    );
    assert!(!document["updates_at_risk"].as_array().unwrap().is_empty());
    assert!(!trip.path("gap").join("manifest.json").exists());
}

#[test]
fn verify_writes_one_document_for_each_outcome() {
    const SCHEMA: &str = "verify-report.schema.json";
    let trip = Trip::new(2);
    let media = exported(&trip);

    let (code, document) = run_json(&mut trip.gate("verify", &media), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("ready")));
    // The connected content's files, and its anonymousCheckFile.txt.
    assert_eq!(document["import_would_copy"]["copy_files"], 13);

    let victim = &trip.site.files[3].path;
    let on_media = media.join("WsusContent").join(victim);
    let mut bytes = fs::read(&on_media).unwrap();
    bytes[0] = !bytes[0];
    fs::write(&on_media, bytes).unwrap();
    let (code, document) = run_json(&mut trip.gate("verify", &media), SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));
    assert_eq!(document["refusal"], "media");
    assert_eq!(
        document["files"],
        json!([{ "path": victim, "problem": "changed" }])
    );

    // With stderr's reader gone, the evidence is dropped and the verdict stands.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut unread = trip.gate("verify", &media);
    let (code, document) = run_json(unread.stderr(writer), SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));

    // No media where it was said to be: no signature, so refused as unfinished.
    let (code, document) = run_json(&mut trip.gate("verify", &trip.path("absent")), SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));
    assert_eq!(document["refusal"], "manifest");

    // A trust state that cannot be read: an error.
    fs::create_dir_all(trip.path("trust-state.json")).unwrap();
    let (code, document) = run_json(&mut trip.gate("verify", &media), SCHEMA);
    assert_eq!(code, 2);
    assert_error_document(&document);
}

#[test]
fn import_writes_one_document_for_each_outcome() {
    const SCHEMA: &str = "import-report.schema.json";
    let trip = Trip::new(3);
    let media = exported(&trip);

    // The files: every content file the site holds and its anonymousCheckFile.txt, each a
    // copy of its size; no folder the copy makes.
    let sorted = |files: &Value| {
        let mut files = files.as_array().unwrap().clone();
        files.sort_by_key(|file| file["path"].as_str().unwrap().to_owned());
        files
    };
    let expected = sorted(&Value::from_iter(
        (trip.site.files.iter())
            .map(|file| json!({ "kind": "copy", "path": file.path, "size": file.size }))
            .chain([json!({ "kind": "copy", "path": "anonymousCheckFile.txt", "size": 0 })]),
    ));

    let mut dry_run = trip.gate("import", &media);
    let (code, document) = run_json(dry_run.arg("--dry-run"), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("dry-run")));
    assert_eq!(document["receipt"], Value::Null);
    assert_eq!(sorted(&document["files"]), expected);

    let mut failing = trip.gate("import", &media);
    let (code, document) = run_json(failing.env("WSUSUTIL_FAIL", "1"), SCHEMA);
    assert_eq!(code, 3);
    assert_error_document(&document);

    let (code, document) = run_json(&mut trip.gate("import", &media), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("imported")));
    assert_eq!(document["sequence"], 1);
    // The import wsusutil failed had copied them all already.
    assert_eq!(document["files"], json!([]));
    assert_eq!(
        document["receipt"],
        trip.path("disconnected")
            .join("wsus-airgap-receipt.json")
            .display()
            .to_string()
    );

    // The same media again was imported already: nothing is done.
    let (code, document) = run_json(&mut trip.gate("import", &media), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("already-imported")));
    assert!(document["already_imported_at"].is_string(), "{document}");

    // Media that is not as signed is refused.
    fs::write(media.join("manifest.json"), b"{}").unwrap();
    let (code, document) = run_json(&mut trip.gate("import", &media), SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));
    assert_eq!(document["refusal"], "manifest");
}

#[test]
fn mirror_writes_one_document_for_each_outcome() {
    const SCHEMA: &str = "mirror-report.schema.json";
    let trip = Trip::new(4);
    let destination = trip.path("destination");

    let (code, document) = run_json(&mut trip.mirror(&destination, &["--dry-run"]), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("planned")));
    assert_eq!(document["run"], Value::Null);

    let (code, document) = run_json(&mut trip.mirror(&destination, &[]), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("done")));
    assert_eq!(document["run"]["complete"], true);

    // Deletions beyond the brake are refused, in the mirror's own report.
    fs::create_dir(destination.join("ZZ")).unwrap();
    fs::write(destination.join("ZZ").join("extra.cab"), "extra").unwrap();
    let brake = ["--mode", "mirror", "--max-delete", "0"];
    let (code, document) = run_json(&mut trip.mirror(&destination, &brake), SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));
    assert_eq!(document["run"]["deletions"]["state"], "too-many");

    // A destination inside the source is refused before anything is planned.
    let inside = trip.site.root.join("media");
    let (code, document) = run_json(&mut trip.mirror(&inside, &[]), SCHEMA);
    assert_eq!(code, 2);
    assert_error_document(&document);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .ends_with("one is inside the other"),
        "{document:#}"
    );
    assert!(!inside.exists());

    // A manifest that fails verification is refused as `manifest verify` refuses it.
    let signed = trip.path("signed");
    trip.manifest(&signed);
    spoil_signature(&signed);
    let mut from_manifest = trip.mirror(&destination, &[]);
    from_manifest
        .arg("--manifest")
        .arg(&signed)
        .arg("--trust")
        .arg(trip.path("site.pub"));
    let (code, document) = run_json(&mut from_manifest, SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));
    assert_eq!(document["folder"], signed.display().to_string());
    assert_eq!(document["refusal"], "manifest");
}

#[test]
fn manifest_verify_writes_one_document_for_each_outcome() {
    const SCHEMA: &str = "manifest-verify-report.schema.json";
    let trip = Trip::new(5);
    let signed = trip.path("signed");
    trip.manifest(&signed);
    let verify = |trust: &Path| {
        let mut command = Command::new(support::binary());
        command
            .args(["manifest", "verify", "--quiet"])
            .arg(&signed)
            .arg("--trust")
            .arg(trust)
            .arg("--content")
            .arg(&trip.site.root);
        command
    };

    let (code, document) = run_json(&mut verify(&trip.path("site.pub")), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("intact")));

    let (code, document) = run_json(&mut verify(&trip.path("absent.pub")), SCHEMA);
    assert_eq!(code, 2);
    assert_error_document(&document);

    spoil_signature(&signed);
    let (code, document) = run_json(&mut verify(&trip.path("site.pub")), SCHEMA);
    assert_eq!((code, &document["result"]), (1, &json!("refused")));
    assert_eq!(document["folder"], signed.display().to_string());
}

#[test]
fn inspect_writes_one_document_for_each_outcome() {
    const SCHEMA: &str = "inspect-report.schema.json";
    let export = TestExport::small();
    let inspect = |package: &Path| {
        let mut command = Command::new(support::binary());
        command.arg("inspect").arg(package);
        command
    };

    let (code, document) = run_json(&mut inspect(&export.package), SCHEMA);
    assert_eq!((code, &document["result"]), (0, &json!("read")));
    assert_eq!(document["package"], export.package.display().to_string());

    let absent = export.site.dir.path().join("absent.cab");
    let (code, document) = run_json(&mut inspect(&absent), SCHEMA);
    assert_eq!(code, 2);
    assert_error_document(&document);
}

#[test]
fn audit_and_check_of_a_missing_folder_write_the_error_document() {
    let export = TestExport::small();
    let absent = export.site.dir.path().join("absent");

    let mut audit = Command::new(support::binary());
    audit.args(["audit", "--quiet"]).arg(&absent);
    let (code, document) = run_json(&mut audit, "audit-report.schema.json");
    assert_eq!(code, 2);
    assert_error_document(&document);

    let mut check = Command::new(support::binary());
    check
        .args(["check", "--quiet", "--package"])
        .arg(&export.package)
        .arg("--content")
        .arg(&absent);
    let (code, document) = run_json(&mut check, "check-report.schema.json");
    assert_eq!(code, 2);
    assert_error_document(&document);
}
