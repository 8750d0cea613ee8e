//! `keygen`, `manifest create` and `manifest verify` on generated media: the signature, the
//! refusals, and the contents check, cross-checked with minisign, OpenSSL and b3sum.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use support::{Run, TestExport, run_command};
use wsus_airgap::manifest::create::{self, CreateOptions};
use wsus_airgap::manifest::keys::{PublicKey, SecretKey};
use wsus_airgap::manifest::trust::TrustState;
use wsus_airgap::manifest::verify::{self, MANIFEST_MAX, VerifyOptions};
use wsus_airgap::manifest::{
    Blake3Digest, MANIFEST_FILE, Manifest, SIGNATURE_FILE, Timestamp, TransferMode, signature,
    trusted_comment,
};

/// A generated export laid out as media (`export.cab`, `WsusContent/`), and a key pair in a
/// folder of its own.
struct Media {
    export: TestExport,
    keys: tempfile::TempDir,
}

impl Media {
    fn new() -> Self {
        let media = Media {
            export: TestExport::small(),
            keys: tempfile::tempdir().unwrap(),
        };
        support::keygen(&media.secret(), &media.public());
        media
    }

    fn folder(&self) -> &Path {
        self.export.site.dir.path()
    }

    fn content(&self) -> &Path {
        self.export.site.root()
    }

    fn secret(&self) -> PathBuf {
        self.keys.path().join("site.key")
    }

    fn public(&self) -> PathBuf {
        self.keys.path().join("site.pub")
    }

    fn manifest(&self) -> PathBuf {
        self.folder().join(MANIFEST_FILE)
    }

    fn signature(&self) -> PathBuf {
        self.folder().join(SIGNATURE_FILE)
    }

    /// `manifest create` of the media's content and package into the media folder.
    fn create(&self, more: &[&str]) -> Run {
        let mut command = Command::new(support::binary());
        command
            .args(["manifest", "create", "--quiet", "--content"])
            .arg(self.content())
            .arg("--package")
            .arg(&self.export.package)
            .arg("--key")
            .arg(self.secret())
            .arg("--out")
            .arg(self.folder())
            .args(more);
        run_command(&mut command)
    }

    fn created(sequence: u64) -> Self {
        let media = Media::new();
        let run = media.create(&["--sequence", &sequence.to_string()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        media
    }

    /// `manifest verify` of the media folder with the media's public key.
    fn verify(&self, more: &[&str]) -> Run {
        let mut command = Command::new(support::binary());
        command
            .args(["manifest", "verify", "--quiet"])
            .arg(self.folder())
            .arg("--trust")
            .arg(self.public())
            .args(more);
        run_command(&mut command)
    }

    fn read_manifest(&self) -> Manifest {
        serde_json::from_slice(&fs::read(self.manifest()).unwrap()).unwrap()
    }

    /// Asserts that `manifest` lists every file of the site, plus anonymousCheckFile.txt,
    /// sorted, each with its size and digests as computed independently.
    fn assert_lists_every_file(&self, manifest: &Manifest) {
        let site = &self.export.site.site;
        let mut expected: Vec<String> = site.files.iter().map(|f| f.path.clone()).collect();
        expected.push("anonymousCheckFile.txt".into());
        expected.sort();
        let listed: Vec<String> = manifest
            .entries
            .iter()
            .map(|e| e.path.to_string())
            .collect();
        assert_eq!(listed, expected);
        for entry in &manifest.entries {
            let path = entry.path.under(self.content());
            assert_eq!(entry.size, fs::metadata(&path).unwrap().len());
            assert_eq!(entry.blake3.to_string(), support::independent_blake3(&path));
            let sha1 = entry.sha1.map(|sha1| sha1.to_string());
            if entry.path.as_str() == "anonymousCheckFile.txt" {
                assert_eq!(sha1, None);
            } else {
                assert_eq!(sha1, Some(support::independent_sha1(&path)));
            }
        }
    }

    /// Signs `bytes` as the media's manifest with the media's key, whatever they hold.
    fn sign_raw(&self, bytes: &[u8], comment: &str) {
        let secret = SecretKey::read(&self.secret()).unwrap();
        fs::write(self.manifest(), bytes).unwrap();
        fs::write(self.signature(), signature::sign(&secret, bytes, comment)).unwrap();
    }

    /// Signs `manifest` properly, as `manifest create` would.
    fn sign(&self, manifest: &Manifest) {
        let secret = SecretKey::read(&self.secret()).unwrap();
        create::sign_and_write(manifest, &secret, self.folder()).unwrap();
    }

    /// The library's verdict on the media as it is, with default options.
    fn library_verdict(&self) -> Result<(), String> {
        let public = PublicKey::read(&self.public()).unwrap();
        verify::verify(self.folder(), &public, &options())
            .map(drop)
            .map_err(|error| error.to_string())
    }

    fn key_id(&self) -> String {
        PublicKey::read(&self.public()).unwrap().id.to_string()
    }
}

fn options() -> VerifyOptions {
    VerifyOptions {
        now: SystemTime::now(),
        allow_expired: false,
        allow_rollback: false,
        state: None,
        allow_already_accepted: false,
    }
}

/// Whether stock minisign (at `minisign`) accepts the media's signature.
fn minisign_accepts(minisign: &Path, media: &Media) -> bool {
    let output = Command::new(minisign)
        .arg("-Vm")
        .arg(media.manifest())
        .arg("-p")
        .arg(media.public())
        .output()
        .unwrap();
    output.status.success()
}

fn stderr_line(run: &Run) -> &str {
    run.stderr.lines().next().unwrap_or_default()
}

#[test]
fn a_created_manifest_verifies_and_lists_every_file_with_its_digests() {
    let media = Media::new();
    let created = media.create(&["--sequence", "7", "--expires", "10"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    let manifest = media.read_manifest();
    let id = media.key_id();
    let comment = trusted_comment(&manifest);
    assert_eq!(
        created.stdout,
        format!(
            "manifest: {} ({} files, {}; package export.cab)\nsignature: {} (key {id})\ntrusted comment: {comment}\n",
            media.manifest().display(),
            manifest.totals.files,
            indicatif::HumanBytes(manifest.totals.bytes),
            media.signature().display(),
        )
    );

    media.assert_lists_every_file(&manifest);
    assert_eq!(manifest.sequence, 7);
    assert_eq!(manifest.mode, TransferMode::Incremental);
    assert_eq!(
        manifest
            .expires
            .time()
            .duration_since(manifest.created.time())
            .unwrap(),
        Duration::from_secs(10 * 86_400)
    );
    let package = manifest.package.as_ref().unwrap();
    assert_eq!(package.name.as_str(), "export.cab");
    assert_eq!(
        package.blake3.to_string(),
        support::independent_blake3(&media.export.package)
    );
    assert_eq!(
        manifest.source.server_id.as_deref(),
        Some(wsus_airgap::synth::SERVER_ID)
    );
    support::assert_valid_against_schema("manifest.schema.json", &media.manifest());

    let verified = media.verify(&[]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert_eq!(
        verified.stdout,
        format!(
            "signature: good, key {id}\n\
             trusted comment: {comment}\n\
             manifest: sequence 7, created {}, expires {}, mode incremental, {} files, {}\n\
             sequence: not checked (no --state given)\n\
             package: {}: intact\n\
             result: intact: {} files, {}\n",
            manifest.created,
            manifest.expires,
            manifest.totals.files,
            indicatif::HumanBytes(manifest.totals.bytes),
            media.folder().join("export.cab").display(),
            manifest.totals.files,
            indicatif::HumanBytes(manifest.totals.bytes),
        )
    );
}

#[cfg_attr(
    windows,
    ignore = "minisign is a Linux program here: the Linux run cross-checks"
)]
#[test]
fn stock_minisign_accepts_the_signature_and_rejects_a_changed_byte() {
    let Some(minisign) = support::tool("minisign") else {
        return;
    };
    let media = Media::created(1);
    assert!(minisign_accepts(&minisign, &media));
    let mut bytes = fs::read(media.manifest()).unwrap();
    bytes[100] ^= 0x01;
    fs::write(media.manifest(), &bytes).unwrap();
    assert!(!minisign_accepts(&minisign, &media));
}

#[test]
fn any_changed_byte_of_manifest_or_signature_is_refused() {
    let media = Media::new();
    // A small manifest, so that every byte can be tried.
    let mut manifest = media.read_manifest_after_create();
    manifest.entries.truncate(2);
    manifest.totals.files = 2;
    manifest.totals.bytes = manifest.entries.iter().map(|e| e.size).sum();
    media.sign(&manifest);
    assert_eq!(media.library_verdict(), Ok(()));

    let original = fs::read(media.manifest()).unwrap();
    for position in 0..original.len() {
        let mut bytes = original.clone();
        bytes[position] ^= 0x20;
        fs::write(media.manifest(), &bytes).unwrap();
        let verdict = media.library_verdict().unwrap_err();
        assert!(
            verdict.contains("changed after signing"),
            "byte {position}: {verdict}"
        );
    }
    let mut longer = original.clone();
    longer.push(b'\n');
    fs::write(media.manifest(), &longer).unwrap();
    assert!(media.library_verdict().is_err());
    fs::write(media.manifest(), &original).unwrap();

    // Every byte of the signature file but the untrusted comment's free text.
    let signature = fs::read(media.signature()).unwrap();
    let free_text =
        "untrusted comment: ".len()..signature.iter().position(|&b| b == b'\n').unwrap();
    for position in (0..signature.len()).filter(|p| !free_text.contains(p)) {
        let mut bytes = signature.clone();
        bytes[position] ^= 0x01;
        fs::write(media.signature(), &bytes).unwrap();
        assert!(
            media.library_verdict().is_err(),
            "signature byte {position}"
        );
    }
    let mut bytes = signature.clone();
    bytes[free_text.start] ^= 0x01;
    fs::write(media.signature(), &bytes).unwrap();
    assert_eq!(
        media.library_verdict(),
        Ok(()),
        "the untrusted comment is not signed"
    );

    // And through the binary: exit 1, the reason on stderr, nothing on stdout.
    fs::write(media.signature(), &signature).unwrap();
    let mut bytes = original.clone();
    bytes[original.len() / 2] ^= 0x01;
    fs::write(media.manifest(), &bytes).unwrap();
    let refused = media.verify(&[]);
    assert_eq!(refused.code, 1);
    assert_eq!(refused.stdout, "");
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: refused: {}: the signature does not match the manifest: it was changed after signing",
            media.signature().display()
        )
    );
}

impl Media {
    fn read_manifest_after_create(&self) -> Manifest {
        let run = self.create(&["--sequence", "1"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        self.read_manifest()
    }
}

#[test]
fn a_signature_by_another_key_names_both_key_ids() {
    let media = Media::created(1);
    let other = Media::new();
    let mut command = Command::new(support::binary());
    command
        .args(["manifest", "verify", "--quiet"])
        .arg(media.folder())
        .arg("--trust")
        .arg(other.public());
    let refused = run_command(&mut command);
    assert_eq!(refused.code, 1);
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: refused: {}: signed by key {}, but the trusted key is {}",
            media.signature().display(),
            media.key_id(),
            other.key_id()
        )
    );
}

#[test]
fn an_altered_trusted_comment_is_refused() {
    let media = Media::created(3);
    let text = fs::read_to_string(media.signature()).unwrap();
    fs::write(media.signature(), text.replace("sequence:3", "sequence:9")).unwrap();
    let refused = media.verify(&[]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: refused: {}: the trusted comment does not match its signature: it was changed after signing",
            media.signature().display()
        )
    );
    if let Some(minisign) = support::tool("minisign") {
        assert!(!minisign_accepts(&minisign, &media));
    }
}

#[test]
fn an_expired_manifest_is_refused_unless_allowed_and_then_reported() {
    let media = Media::new();
    let long_ago = SystemTime::now() - Duration::from_secs(40 * 86_400);
    let built = create::build(
        &CreateOptions {
            content: media.content().to_owned(),
            package: Some(media.export.package.clone()),
            sequence: 2,
            expires_in_days: 30,
            mode: TransferMode::Mirror,
            host: "connected".into(),
            now: long_ago,
            jobs: None,
        },
        &wsus_airgap::progress::NoProgress,
    )
    .unwrap();
    media.sign(&built.manifest);
    let expires = built.manifest.expires;

    let refused = media.verify(&[]);
    assert_eq!(refused.code, 1);
    let first = stderr_line(&refused);
    let prefix = format!(
        "wsus-airgap: refused: {}: expired at {expires} (now ",
        media.manifest().display()
    );
    assert!(first.starts_with(&prefix), "{first}");
    assert!(refused.stderr.contains("hint: make fresh media"));

    let allowed = media.verify(&["--allow-expired"]);
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert!(allowed.stdout.contains(&format!(
        "\nwarning: expired at {expires}; accepted because of --allow-expired\n"
    )));
    let json = media.verify(&["--allow-expired", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["allowed"]["expired"], true);
    assert_eq!(report["manifest"]["mode"], "mirror");
    assert_eq!(report["manifest"]["source"]["host"], "connected");
}

#[test]
fn a_sequence_not_newer_than_the_trust_state_is_refused_unless_allowed() {
    let media = Media::created(5);
    let state_path = media.keys.path().join("trust-state.json");
    let public = PublicKey::read(&media.public()).unwrap();
    let when = Timestamp::new(SystemTime::now());
    let manifest_blake3 = Blake3Digest(blake3::hash(&fs::read(media.manifest()).unwrap()));
    let state_arg = state_path.to_str().unwrap();

    // No state file yet: the first media from this key.
    let first = media.verify(&["--state", state_arg]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first
            .stdout
            .contains("\nsequence: first accepted from this key\n")
    );

    for accepted in [5, 6] {
        let mut state = TrustState::default();
        state.accept(public.id, accepted, when, manifest_blake3);
        state.save(&state_path).unwrap();
        let refused = media.verify(&["--state", state_arg]);
        assert_eq!(refused.code, 1);
        assert_eq!(
            stderr_line(&refused),
            format!(
                "wsus-airgap: refused: {}: sequence 5 is not newer than sequence {accepted} already accepted from key {}: old or replayed media",
                media.manifest().display(),
                public.id
            )
        );
        let allowed = media.verify(&["--state", state_arg, "--allow-rollback"]);
        assert_eq!(allowed.code, 0, "{}", allowed.stderr);
        assert!(allowed.stdout.contains(&format!(
            "\nsequence: not newer than {accepted} accepted at {when}; accepted because of --allow-rollback\n"
        )));
    }

    let mut state = TrustState::default();
    state.accept(public.id, 4, when, manifest_blake3);
    state.save(&state_path).unwrap();
    let newer = media.verify(&["--state", state_arg]);
    assert_eq!(newer.code, 0, "{}", newer.stderr);
    assert!(
        newer
            .stdout
            .contains(&format!("\nsequence: newer than 4 accepted at {when}\n"))
    );
    // Verification never advances the state; only a completed import does.
    assert_eq!(TrustState::load(&state_path).unwrap(), state);
}

#[test]
fn every_unsafe_path_rejects_the_whole_manifest_naming_the_entry() {
    let media = Media::created(1);
    let text = fs::read_to_string(media.manifest()).unwrap();
    let manifest = media.read_manifest();
    let first = manifest.entries[0].path.to_string();
    let cases = [
        ("../../etc/passwd", "the path has a `.` or `..` component"),
        ("/etc/passwd", "the path is absolute"),
        (
            "C:/Windows/win.ini",
            "the path holds `:` (a drive letter or an alternate data stream)",
        ),
        (
            "00/file.cab:hidden",
            "the path holds `:` (a drive letter or an alternate data stream)",
        ),
        (
            "00\\\\x.cab",
            "the path holds a backslash; only `/` separates folders",
        ),
        (
            "00/x\\u0000.cab",
            "the path holds a NUL or control character",
        ),
        ("00/CON", "`CON` is a device name reserved by Windows"),
        (
            "00/nul.cab",
            "`nul.cab` is a device name reserved by Windows",
        ),
        (
            "00/x.cab.",
            "`x.cab.` ends in a dot or a space, which Windows strips",
        ),
        (
            "00 /x.cab",
            "`00 ` ends in a dot or a space, which Windows strips",
        ),
    ];
    for (bad, reason) in cases {
        let tampered = text.replacen(
            &format!("\"path\": \"{first}\""),
            &format!("\"path\": \"{bad}\""),
            1,
        );
        assert_ne!(tampered, text);
        media.sign_raw(tampered.as_bytes(), &trusted_comment(&manifest));
        let refused = media.verify(&[]);
        assert_eq!(refused.code, 1, "{bad}");
        let line = stderr_line(&refused);
        // The name as printed: decoded from JSON, control characters escaped.
        let shown: String = serde_json::from_str::<String>(&format!("\"{bad}\""))
            .unwrap()
            .chars()
            .map(|c| match c {
                c if c.is_control() => c.escape_unicode().to_string(),
                c => c.to_string(),
            })
            .collect();
        let expected = format!(
            "wsus-airgap: refused: {}: `{shown}`: {reason} at line ",
            media.manifest().display()
        );
        assert!(line.starts_with(&expected), "{bad}: {line}");
    }
}

#[test]
fn duplicates_case_collisions_and_inconsistencies_reject_the_manifest() {
    let media = Media::created(1);
    let original = media.read_manifest();
    let a = original.entries[0].clone();
    let b = original.entries[1].clone();
    let renamed = |entry: &wsus_airgap::manifest::FileEntry, path: &str| {
        let mut entry = entry.clone();
        entry.path = wsus_airgap::relpath::RelPath::new(path).unwrap();
        entry
    };
    let cases: Vec<(Vec<_>, String)> = vec![
        (
            vec![a.clone(), a.clone()],
            format!("entry `{}` is listed twice", a.path),
        ),
        (
            vec![b.clone(), a.clone()],
            format!(
                "entries are not sorted by path: `{}` comes before `{}`",
                b.path, a.path
            ),
        ),
        (
            vec![renamed(&a, "00/X.CAB"), renamed(&b, "00/x.cab")],
            "entries `00/X.CAB` and `00/x.cab` differ only in case: one file on Windows".into(),
        ),
        (
            vec![renamed(&a, "00"), renamed(&b, "00/x.cab")],
            "entry `00/x.cab` lies below `00`, which is listed as a file".into(),
        ),
    ];
    for (entries, reason) in cases {
        let mut manifest = original.clone();
        manifest.totals.files = entries.len() as u64;
        manifest.totals.bytes = entries.iter().map(|e| e.size).sum();
        manifest.entries = entries;
        media.sign(&manifest);
        let refused = media.verify(&[]);
        assert_eq!(refused.code, 1);
        assert_eq!(
            stderr_line(&refused),
            format!(
                "wsus-airgap: refused: {}: {reason}",
                media.manifest().display()
            )
        );
    }

    let mut manifest = original.clone();
    manifest.totals.bytes += 1;
    media.sign(&manifest);
    assert!(stderr_line(&media.verify(&[])).ends_with("do not add up to the entries"));
}

#[test]
fn an_unknown_format_version_is_refused() {
    let media = Media::created(1);
    let manifest = media.read_manifest();
    let text = fs::read_to_string(media.manifest()).unwrap();
    let tampered = text.replacen("\"format_version\": 1", "\"format_version\": 2", 1);
    media.sign_raw(tampered.as_bytes(), &trusted_comment(&manifest));
    let refused = media.verify(&[]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: refused: {}: format version 2; this version of wsus-airgap reads version 1",
            media.manifest().display()
        )
    );
    let unknown_field = text.replacen("\"tool\"", "\"tool2\"", 1);
    media.sign_raw(unknown_field.as_bytes(), &trusted_comment(&manifest));
    assert!(stderr_line(&media.verify(&[])).contains("unknown field `tool2`"));
}

#[test]
fn a_manifest_larger_than_the_cap_is_refused_before_it_is_read() {
    let media = Media::created(1);
    let file = fs::OpenOptions::new()
        .write(true)
        .open(media.manifest())
        .unwrap();
    file.set_len(MANIFEST_MAX + 1).unwrap();
    drop(file);
    let refused = media.verify(&[]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: refused: {}: {} bytes, more than the {MANIFEST_MAX} bytes allowed",
            media.manifest().display(),
            MANIFEST_MAX + 1
        )
    );
    fs::write(media.signature(), vec![b'x'; 9000]).unwrap();
    assert!(
        stderr_line(&media.verify(&[])).ends_with("9000 bytes, more than the 8192 bytes allowed")
    );
}

#[test]
fn missing_changed_and_extra_files_are_each_reported() {
    let media = Media::created(1);
    let site = &media.export.site.site;
    let removed = site.remove(0).unwrap();
    let changed = site.files[1].path.clone();
    site.corrupt(1).unwrap();
    let changed_path = site.path_of(1);
    let extra = media.content().join("00").join("extra.txt");
    fs::create_dir_all(extra.parent().unwrap()).unwrap();
    fs::write(&extra, "not listed").unwrap();
    let manifest = media.read_manifest();
    let entry = manifest
        .entries
        .iter()
        .find(|e| e.path.as_str() == changed)
        .unwrap();

    let report = media.verify(&[]);
    assert_eq!(report.code, 1, "{}", report.stderr);
    let tail: Vec<&str> = report.stdout.lines().skip(4).collect();
    assert_eq!(
        tail,
        [
            format!(
                "package: {}: intact",
                media.folder().join("export.cab").display()
            ),
            format!("missing: {removed}"),
            format!(
                "changed: {changed}: expected {} bytes, BLAKE3 {}; found {} bytes, BLAKE3 {}",
                indicatif::HumanCount(entry.size),
                entry.blake3,
                indicatif::HumanCount(entry.size),
                support::independent_blake3(&changed_path)
            ),
            "extra: 00/extra.txt: not in the manifest".to_owned(),
            "result: 3 problems (1 missing, 1 changed, 1 extra)".to_owned(),
        ]
    );

    let json = media.verify(&["--json"]);
    assert_eq!(json.code, 1);
    let path = media.folder().join("report.json");
    fs::write(&path, &json.stdout).unwrap();
    support::assert_valid_against_schema("manifest-verify-report.schema.json", &path);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["result"], "problems");
    assert_eq!(report["missing"][0], removed.as_str());
    assert_eq!(report["changed"][0]["found"], "content");
    assert_eq!(report["extra"][0]["path"], "00/extra.txt");
    fs::remove_file(&path).unwrap();

    // A changed package is a problem of its own.
    let mut bytes = fs::read(&media.export.package).unwrap();
    bytes.push(0);
    fs::write(&media.export.package, bytes).unwrap();
    fs::remove_file(&extra).unwrap();
    let report = media.verify(&[]);
    assert!(
        report
            .stdout
            .contains("result: 3 problems (1 missing, 1 changed, 1 package)")
    );
}

#[test]
fn a_file_spelled_in_another_case_is_the_listed_file_and_a_second_spelling_is_extra() {
    let media = Media::created(1);
    let site = &media.export.site.site;
    let listed = site.files[0].path.clone();
    let other = listed.to_lowercase();
    assert_ne!(listed, other);
    fs::rename(site.path_of(0), media.content().join(&other)).unwrap();
    let report = media.verify(&[]);
    assert_eq!(report.code, 0, "{}{}", report.stdout, report.stderr);

    // Where the file system tells the two spellings apart, the first one listed is the file
    // and the other is extra.
    if cfg!(target_os = "linux") {
        fs::copy(media.content().join(&other), site.path_of(0)).unwrap();
        let report = media.verify(&[]);
        assert_eq!(report.code, 1, "{}", report.stderr);
        assert!(
            report
                .stdout
                .contains(&format!("extra: {other}: not in the manifest")),
            "{}",
            report.stdout
        );
        assert!(report.stdout.contains("result: 1 problem (1 extra)"));
    }
}

#[test]
fn a_refusal_is_a_json_document_too() {
    let media = Media::created(1);
    fs::write(media.signature(), "untrusted comment: x\n").unwrap();
    let refused = media.verify(&["--json"]);
    assert_eq!(refused.code, 1);
    let report: serde_json::Value = serde_json::from_str(&refused.stdout).unwrap();
    assert_eq!(report["result"], "refused");
    assert_eq!(
        report["error"],
        format!(
            "{}: not a minisign signature: the signature line is missing",
            media.signature().display()
        )
    );
}

#[test]
fn damaged_content_is_never_signed_and_nothing_is_written() {
    let media = Media::new();
    let site = &media.export.site.site;
    let corrupt = site.files[0].path.clone();
    site.corrupt(0).unwrap();
    let actual = support::independent_sha1(&site.path_of(0));
    let refused = media.create(&["--sequence", "1"]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        format!(
            "corrupt: {corrupt}: expected SHA-1 {} (from the name), found {actual}\n\
             wsus-airgap: refused: {} holds 1 file a manifest cannot vouch for; nothing was written\n",
            site.files[0].sha1,
            media.content().display()
        )
    );
    assert!(!media.manifest().exists());
    assert!(!media.signature().exists());
}

#[cfg(unix)]
#[test]
fn links_and_names_unsafe_on_windows_are_never_signed() {
    let media = Media::new();
    std::os::unix::fs::symlink("/etc/passwd", media.content().join("passwd")).unwrap();
    fs::write(media.content().join("aux.txt"), "x").unwrap();
    fs::write(media.content().join("AnonymousCheckFile.TXT"), "").unwrap();
    // Linux keeps names as bytes; one that is not UTF-8 cannot be spelt in a manifest.
    #[cfg(target_os = "linux")]
    fs::write(
        media
            .content()
            .join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"z\xff")),
        "x",
    )
    .unwrap();
    let (not_unicode, count) = if cfg!(target_os = "linux") {
        (
            "unsafe-name: z\u{FFFD}: the name is not valid Unicode (shown with replacement characters)\n",
            4,
        )
    } else {
        ("", 3)
    };
    let refused = media.create(&["--sequence", "1"]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        format!(
            "case-collision: anonymousCheckFile.txt: collides on Windows with AnonymousCheckFile.TXT\n\
             unsafe-name: aux.txt: `aux.txt` is a device name reserved by Windows\n\
             other: passwd: link, not followed\n\
             {not_unicode}\
             wsus-airgap: refused: {} holds {count} files a manifest cannot vouch for; nothing was written\n",
            media.content().display()
        )
    );
    assert!(!media.manifest().exists());
}

#[test]
fn keygen_never_replaces_a_key_without_force() {
    let media = Media::new();
    let public_before = fs::read(media.public()).unwrap();
    let secret_before = fs::read(media.secret()).unwrap();
    let mut command = Command::new(support::binary());
    command
        .args(["keygen", "--secret"])
        .arg(media.secret())
        .arg("--public")
        .arg(media.public());
    let refused = run_command(&mut command);
    assert_eq!(refused.code, 2);
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: error: {}: already exists; give --force to replace it",
            media.secret().display()
        )
    );
    assert_eq!(fs::read(media.public()).unwrap(), public_before);
    assert_eq!(fs::read(media.secret()).unwrap(), secret_before);

    let replaced = run_command(command.arg("--force"));
    assert_eq!(replaced.code, 0, "{}", replaced.stderr);
    assert_ne!(fs::read(media.secret()).unwrap(), secret_before);
    let id = PublicKey::read(&media.public()).unwrap().id;
    assert!(replaced.stdout.ends_with(&format!("key id: {id}\n")));
}

#[test]
fn keygen_says_where_the_keys_are_and_warns_of_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, public) = (dir.path().join("site.key"), dir.path().join("site.pub"));
    let made = run_command(
        Command::new(support::binary())
            .arg("keygen")
            .arg("--secret")
            .arg(&secret)
            .arg("--public")
            .arg(&public),
    );
    assert_eq!(made.stderr, "");
    assert_eq!(made.code, 0);
    let id = PublicKey::read(&public).unwrap().id;
    assert_eq!(
        made.stdout,
        format!(
            "secret key: {} (keep it on the connected side, readable by you only)\n\
             public key: {} (copy it to the disconnected side)\n\
             key id: {id}\n",
            secret.display(),
            public.display()
        )
    );
}

#[cfg(windows)]
#[test]
fn read_only_hidden_media_is_listed_hashed_signed_and_verified_and_signed_again() {
    let media = Media::new();
    // As if copied from a DVD: the package and every content file read-only and hidden.
    let _writable_again = support::make_read_only_and_hidden(media.folder());
    let created = media.create(&["--sequence", "1"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    let manifest = media.read_manifest();
    media.assert_lists_every_file(&manifest);
    let verified = media.verify(&[]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified.stdout.ends_with(&format!(
            "result: intact: {} files, {}\n",
            manifest.totals.files,
            indicatif::HumanBytes(manifest.totals.bytes)
        )),
        "{}",
        verified.stdout
    );

    // The manifest and signature, read-only now too, are replaced by the next signing.
    let _writable_again = support::make_read_only_and_hidden(media.folder());
    let again = media.create(&["--sequence", "2"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(media.read_manifest().sequence, 2);
    assert_eq!(media.verify(&[]).code, 0);
}

#[cfg(unix)]
#[test]
fn the_secret_key_is_owner_only_and_openssl_reads_both_ways() {
    use std::os::unix::fs::PermissionsExt;
    let media = Media::new();
    let mode = fs::metadata(media.secret()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let Some(openssl) = support::tool("openssl") else {
        return;
    };
    // OpenSSL derives the same public key from our secret key...
    let output = Command::new(&openssl)
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(media.secret())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let public = PublicKey::read(&media.public()).unwrap();
    assert_eq!(output.stdout[output.stdout.len() - 32..], public.key);

    // ...and a key OpenSSL made signs manifests that verify.
    let made = media.keys.path().join("openssl.key");
    let status = Command::new(&openssl)
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&made)
        .status()
        .unwrap();
    assert!(status.success());
    let secret = SecretKey::read(&made).unwrap();
    fs::write(media.public(), secret.public().to_file_text()).unwrap();
    let mut command = Command::new(support::binary());
    command
        .args([
            "manifest",
            "create",
            "--quiet",
            "--sequence",
            "1",
            "--content",
        ])
        .arg(media.content())
        .arg("--key")
        .arg(&made)
        .arg("--out")
        .arg(media.folder());
    assert_eq!(run_command(&mut command).code, 0);
    assert_eq!(media.verify(&[]).code, 0);
}

#[test]
fn the_documented_example_verifies_and_matches_the_schema() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/example");
    let public = PublicKey::read(&example.join("site.pub")).unwrap();
    let verified = verify::verify(
        &example,
        &public,
        &VerifyOptions {
            allow_expired: true,
            ..options()
        },
    )
    .unwrap();
    assert_eq!(verified.manifest.sequence, 42);
    assert_eq!(verified.manifest.entries.len(), 3);
    support::assert_valid_against_schema("manifest.schema.json", &example.join(MANIFEST_FILE));
    if let Some(minisign) = support::tool("minisign") {
        let status = Command::new(minisign)
            .arg("-Vqm")
            .arg(example.join(MANIFEST_FILE))
            .arg("-p")
            .arg(example.join("site.pub"))
            .status()
            .unwrap();
        assert!(status.success());
    }
}

#[cfg(unix)]
#[test]
fn names_that_collide_only_on_windows_are_never_signed() {
    let media = Media::new();
    // `ⱥ` and `Ⱥ` are one letter to NTFS, and differ in length in UTF-8; `ς` and `σ` too.
    fs::write(media.content().join("ⱥⱥⱥ"), "file").unwrap();
    fs::create_dir(media.content().join("ȺȺȺ")).unwrap();
    fs::write(media.content().join("ȺȺȺ").join("x"), "below").unwrap();
    fs::write(media.content().join("ς"), "1").unwrap();
    fs::write(media.content().join("σ"), "2").unwrap();
    let refused = media.create(&["--sequence", "1"]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        format!(
            "case-collision: ȺȺȺ/x: collides on Windows with ⱥⱥⱥ\n\
             case-collision: σ: collides on Windows with ς\n\
             wsus-airgap: refused: {} holds 2 files a manifest cannot vouch for; nothing was written\n",
            media.content().display()
        )
    );
}

#[cfg(unix)]
#[test]
fn names_on_media_cannot_forge_report_lines() {
    let media = Media::created(1);
    let forged = "zz\nresult: intact: 1 file, 1 B\n\u{1b}[31m";
    fs::write(media.content().join(forged), "x").unwrap();
    let report = media.verify(&[]);
    assert_eq!(report.code, 1);
    assert!(
        report.stdout.contains(
            "\nextra: zz\\u{a}result: intact: 1 file, 1 B\\u{a}\\u{1b}[31m: not in the manifest\n"
        ),
        "{}",
        report.stdout
    );
    assert!(!report.stdout.contains('\u{1b}'));
    assert_eq!(
        report
            .stdout
            .lines()
            .filter(|l| l.starts_with("result:"))
            .count(),
        1
    );
}

#[test]
fn a_sha1_contradicting_the_name_and_the_largest_sequence_reject_the_manifest() {
    let media = Media::created(1);
    let original = media.read_manifest();
    let position = original
        .entries
        .iter()
        .position(|entry| entry.sha1.is_some() && !entry.path.as_str().ends_with(".esd"))
        .expect("a content file that is not an .esd");
    let entry = &original.entries[position];
    let mut manifest = original.clone();
    let other = original
        .entries
        .iter()
        .find_map(|other| other.sha1.filter(|sha1| Some(*sha1) != entry.sha1))
        .unwrap();
    manifest.entries[position].sha1 = Some(other);
    media.sign(&manifest);
    let refused = media.verify(&[]);
    assert_eq!(refused.code, 1);
    let name_sha1 = entry.sha1.unwrap();
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: refused: {}: entry `{}` gives SHA-1 {other} where its name says \
             {name_sha1}",
            media.manifest().display(),
            entry.path
        )
    );

    let mut manifest = original.clone();
    manifest.sequence = u64::MAX;
    media.sign(&manifest);
    let refused = media.verify(&[]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        stderr_line(&refused),
        format!(
            "wsus-airgap: refused: {}: the sequence is {}, the largest there is: no later media \
             could be newer",
            media.manifest().display(),
            u64::MAX
        )
    );

    // Signed as it was made, it verifies: the check itself found nothing else.
    media.sign(&original);
    assert_eq!(media.verify(&[]).code, 0);
}
