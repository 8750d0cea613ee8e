//! The air-gap round trip with the stand-in wsusutil (the binary itself under the name
//! `wsusutil`; see `support::stand_in_wsusutil`): `export` on the connected side, `verify` and
//! `import` on the disconnected one, the receipt carried back for the next export, and every
//! refusal or failure leaving the content, the trust state and wsusutil untouched.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::HumanCount;
use serde_json::Value;
use support::{
    Run, file_names_below, has_line, last_line, run_command, snapshot, stand_in_wsusutil,
};
use wsus_airgap::atomic_file::is_temporary_name;
use wsus_airgap::synth::{self, Site, SiteSpec};

/// Both sides of the air gap in one temporary folder: the connected server's content
/// (generated), the signing keys, the disconnected server's folder (which exists, while its
/// `WsusContent` does not yet), the trust state, the hash cache, and the file the stand-in
/// records its imports in.
struct Trip {
    dir: tempfile::TempDir,
    site: Site,
    key_id: String,
}

impl Trip {
    fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let site = synth::generate(
            &dir.path().join("connected").join("WsusContent"),
            &spec(30, seed),
        )
        .unwrap();
        fs::create_dir(dir.path().join("disconnected")).unwrap();
        let key_id = support::keygen(&dir.path().join("site.key"), &dir.path().join("site.pub"));
        Trip { dir, site, key_id }
    }

    /// A trip whose connected content was exported, successfully, to the media `media`.
    fn exported(seed: u64) -> (Self, PathBuf) {
        let trip = Trip::new(seed);
        let media = trip.media("media");
        let exported = trip.export(&media);
        assert_eq!(exported.code, 0, "{}", exported.stderr);
        (trip, media)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn connected(&self) -> &Path {
        &self.site.root
    }

    fn disconnected(&self) -> PathBuf {
        self.path("disconnected")
    }

    fn content(&self) -> PathBuf {
        self.disconnected().join("WsusContent")
    }

    /// The receipt an import leaves beside the disconnected content folder.
    fn receipt(&self) -> PathBuf {
        self.disconnected().join("wsus-airgap-receipt.json")
    }

    fn secret(&self) -> PathBuf {
        self.path("site.key")
    }

    fn public(&self) -> PathBuf {
        self.path("site.pub")
    }

    fn sequence_file(&self) -> PathBuf {
        self.path("site.key.sequence")
    }

    fn state(&self) -> PathBuf {
        self.path("trust-state.json")
    }

    fn record(&self) -> PathBuf {
        self.path("wsusutil-record.txt")
    }

    fn media(&self, name: &str) -> PathBuf {
        self.path(name)
    }

    /// The binary, with the hash cache in the test's folder, the stand-in pointed at the
    /// connected content and at the record file, and no fault injected.
    fn command(&self) -> Command {
        support::transfer_command(&self.path("cache"), self.connected(), &self.record())
    }

    fn run(&self, command: &mut Command) -> Run {
        run_command(command)
    }

    /// `export` into `media`, running the stand-in wsusutil.
    fn export_command(&self, media: &Path) -> Command {
        let mut command = self.command();
        command
            .arg("export")
            .arg("--quiet")
            .arg("--no-approvals")
            .arg("--content")
            .arg(self.connected())
            .arg("--media")
            .arg(media)
            .arg("--key")
            .arg(self.secret())
            .arg("--wsusutil")
            .arg(stand_in_wsusutil());
        command
    }

    fn export(&self, media: &Path) -> Run {
        self.run(&mut self.export_command(media))
    }

    /// `export` into `media` with only what the disconnected side lacks by `receipt`.
    fn export_since(&self, media: &Path, receipt: &Path) -> Run {
        self.run(self.export_command(media).arg("--since").arg(receipt))
    }

    fn verify_command(&self, media: &Path) -> Command {
        self.verify_command_into(media, &self.content())
    }

    /// `verify --content content`, for another content folder than the trip's.
    fn verify_command_into(&self, media: &Path, content: &Path) -> Command {
        self.gate_command("verify", media, content)
    }

    /// `verify` or `import` of `media` into `content`, with the trip's key and state.
    fn gate_command(&self, verb: &str, media: &Path, content: &Path) -> Command {
        self.gate_command_with_state(verb, media, content, &self.state())
    }

    /// `verify` or `import` of `media` into `content`, with the trip's key and `state`.
    fn gate_command_with_state(
        &self,
        verb: &str,
        media: &Path,
        content: &Path,
        state: &Path,
    ) -> Command {
        let mut command = self.command();
        command
            .arg(verb)
            .arg("--quiet")
            .arg("--media")
            .arg(media)
            .arg("--trust")
            .arg(self.public())
            .arg("--content")
            .arg(content)
            .arg("--state")
            .arg(state);
        command
    }

    fn verify(&self, media: &Path) -> Run {
        self.run(&mut self.verify_command(media))
    }

    fn import_command(&self, media: &Path) -> Command {
        self.import_command_into(media, &self.content())
    }

    /// `import --content content`, for another content folder than the trip's.
    fn import_command_into(&self, media: &Path, content: &Path) -> Command {
        let mut command = self.gate_command("import", media, content);
        command.arg("--wsusutil").arg(stand_in_wsusutil());
        command
    }

    fn import(&self, media: &Path) -> Run {
        self.run(&mut self.import_command(media))
    }

    /// Exports into `media` (since the receipt, if given) and imports it; both must succeed.
    fn round(&self, media: &Path, since: Option<&Path>, sequence: u64) {
        let exported = match since {
            Some(receipt) => self.export_since(media, receipt),
            None => self.export(media),
        };
        assert_eq!(exported.code, 0, "{}", exported.stderr);
        let imported = self.import(media);
        assert_eq!(imported.code, 0, "{}", imported.stderr);
        assert_eq!(
            last_line(&imported.stdout),
            format!("result: imported sequence {sequence}")
        );
    }

    /// Adds `count` new content files to the connected side, generated with `seed`; returns
    /// their paths, sorted.
    fn add_files(&self, count: usize, seed: u64) -> Vec<String> {
        let more = synth::generate(
            &self.path(&format!("more-{seed}")).join("WsusContent"),
            &spec(count, seed),
        )
        .unwrap();
        let mut added = Vec::new();
        for file in &more.files {
            let to = self.connected().join(&file.path);
            assert!(!to.exists(), "{} is already there", file.path);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(more.root.join(&file.path), &to).unwrap();
            added.push(file.path.clone());
        }
        added
    }

    /// The sequence the trust state holds for the key, or `None` when there is no state file.
    fn accepted_sequence(&self) -> Option<u64> {
        let bytes = match fs::read(self.state()) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => panic!("{}: {error}", self.state().display()),
        };
        let state: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(state["format_version"], 1, "{state}");
        let keys = state["keys"].as_object().expect("keys is an object");
        assert_eq!(
            keys.keys().collect::<Vec<_>>(),
            [&self.key_id],
            "the state holds the one key"
        );
        Some(keys[&self.key_id]["sequence"].as_u64().unwrap())
    }

    /// The line the stand-in records for an import of the package on `media`: wsusutil is
    /// handed the import's private copy of it, beside the trust state.
    fn import_record(&self, media: &Path) -> String {
        self.import_record_of(
            &media.join("export.xml.gz"),
            &media.join("wsusutil-export.log"),
        )
    }

    /// The line the stand-in records for an import of `package`, named as its private copy.
    /// The count of updates is the one the stand-in's export logged (`export_log`) as it
    /// generated the package, not read back from the package by the reader under test.
    fn import_record_of(&self, package: &Path, export_log: &Path) -> String {
        let log = fs::read_to_string(export_log).unwrap();
        let updates: usize = log
            .lines()
            .find_map(|line| line.split_once("Exporting ")?.1.split_once(" updates"))
            .unwrap_or_else(|| panic!("{}: no count of updates in {log}", export_log.display()))
            .0
            .parse()
            .unwrap();
        assert!(updates > 0);
        let copy = wsus_airgap::transfer::import::package_folder_of(&self.state())
            .join(package.file_name().unwrap());
        format!("import {} {updates} updates\n", copy.display())
    }

    /// Asserts that `exported` is an export that succeeded and signed `sequence`.
    fn assert_signed(&self, exported: &Run, sequence: u64) {
        assert_eq!(exported.code, 0, "{}", exported.stderr);
        let signed = format!("signed: sequence {sequence}, key {}", self.key_id);
        assert!(has_line(&exported.stdout, &signed), "{}", exported.stdout);
    }

    /// Asserts that the disconnected content holds exactly the connected content's files,
    /// byte for byte. (Folders are not compared: a folder emptied on the connected side is
    /// not content, and nothing carries it across.)
    fn assert_content_equal(&self) {
        assert!(self.connected().join(synth::ANONYMOUS_CHECK_FILE).is_file());
        support::assert_same_files(self.connected(), &self.content());
    }
}

fn spec(files: usize, seed: u64) -> SiteSpec {
    SiteSpec {
        files,
        min_size: 100,
        max_size: 40_000,
        large_files: 0,
        large_size: 0,
        seed,
    }
}

/// Inverts the middle byte of a file, keeping its size.
fn flip_middle_byte(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    assert!(!bytes.is_empty(), "{}", path.display());
    let middle = bytes.len() / 2;
    bytes[middle] = !bytes[middle];
    fs::write(path, bytes).unwrap();
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// Asserts that `stderr` names an update that would fail to download for lack of `path`: a
/// `would fail to download: [KBnnn ]<title> [update <id>, revision <n>]` line, then among its
/// `  lacks` lines, this one.
fn assert_would_fail_for_lack_of(stderr: &str, path: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    let lacks = format!("  lacks {path}");
    let at = lines
        .iter()
        .position(|line| *line == lacks)
        .unwrap_or_else(|| panic!("no `{lacks}` line in:\n{stderr}"));
    let header = lines[..at]
        .iter()
        .rev()
        .find(|line| !line.starts_with("  lacks "))
        .unwrap_or_else(|| panic!("no update before `{lacks}` in:\n{stderr}"));
    let update = header
        .strip_prefix("would fail to download: ")
        .unwrap_or_else(|| panic!("`{header}` does not name an update in:\n{stderr}"));
    // A title, then the update id (a GUID) and its revision.
    let (title, id_and_revision) = update.rsplit_once(" [update ").unwrap();
    let (id, revision) = id_and_revision.split_once(", revision ").unwrap();
    assert!(!title.is_empty(), "{header}");
    assert!(revision.ends_with(']'), "{header}");
    assert_eq!(id.len(), 36, "{header}");
    assert_eq!(id.matches('-').count(), 4, "{header}");
}

/// The files of a trip that nothing but a successful import may change, as bytes. The
/// content folder's lock file (`WsusContent.lock`, empty, left for the next run) is none of
/// them.
fn untouchable(trip: &Trip) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut all = snapshot(&trip.disconnected());
    all.remove("WsusContent.lock");
    for file in [trip.state(), trip.record()] {
        all.insert(file.display().to_string(), fs::read(&file).ok());
    }
    all
}

#[test]
fn a_fresh_round_trip_leaves_the_disconnected_content_equal_to_the_connected() {
    let trip = Trip::new(1);
    let media = trip.media("media");

    let exported = trip.export(&media);
    trip.assert_signed(&exported, 1);
    assert_eq!(last_line(&exported.stdout), "result: exported");
    for name in [
        "export.xml.gz",
        "wsusutil-export.log",
        "README.txt",
        "manifest.json",
        "manifest.json.minisig",
    ] {
        assert!(media.join(name).is_file(), "{name} is on the media");
    }
    assert_eq!(
        file_names_below(&media.join("WsusContent")),
        file_names_below(trip.connected()),
        "every content file is on the media"
    );
    assert_eq!(fs::read_to_string(trip.sequence_file()).unwrap(), "1\n");
    let readme = fs::read_to_string(media.join("README.txt")).unwrap();
    assert!(readme.contains("Sequence:      1\r\n"), "{readme}");

    let verified = trip.verify(&media);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let files = trip.site.files.len() + 1; // and anonymousCheckFile.txt
    assert!(
        verified
            .stdout
            .lines()
            .any(|line| line.starts_with(&format!("content: an import would copy {files} ("))),
        "{}",
        verified.stdout
    );
    assert!(
        verified.stdout.ends_with("result: ready to import\n"),
        "{}",
        verified.stdout
    );
    // Verifying changed nothing.
    assert!(!trip.content().exists());
    assert_eq!(trip.accepted_sequence(), None);

    let imported = trip.import(&media);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(
        has_line(
            &imported.stdout,
            &format!("receipt: {}", trip.receipt().display())
        ),
        "{}",
        imported.stdout
    );
    let copied = imported
        .stdout
        .lines()
        .find(|line| line.starts_with("content: "))
        .unwrap_or_default();
    assert!(
        copied.starts_with(&format!("content: {files} to copy ("))
            && copied.ends_with("), 0 to replace (0 B), 0 to delete (0 B), 0 unchanged (0 B)"),
        "{}",
        imported.stdout
    );
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 1");
    trip.assert_content_equal();
    assert_eq!(
        fs::read_to_string(trip.record()).unwrap(),
        trip.import_record(&media),
        "wsusutil import ran once, on the private copy of the media's package"
    );
    assert_eq!(trip.accepted_sequence(), Some(1));
    assert!(trip.disconnected().join("wsusutil-import.log").is_file());

    for receipt in [trip.receipt(), media.join("receipt.json")] {
        let receipt = read_json(&receipt);
        assert_eq!(receipt["format_version"], 1);
        assert_eq!(receipt["key_id"], trip.key_id.as_str());
        assert_eq!(receipt["sequence"], 1);
        let held: BTreeSet<&str> = receipt["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            held,
            file_names_below(trip.connected())
                .iter()
                .map(String::as_str)
                .collect()
        );
    }
    assert_eq!(
        fs::read(trip.receipt()).unwrap(),
        fs::read(media.join("receipt.json")).unwrap()
    );
}

#[test]
fn a_second_round_since_the_receipt_carries_only_the_new_files() {
    let trip = Trip::new(2);
    trip.round(&trip.media("media1"), None, 1);
    let added = trip.add_files(5, 102);
    assert_eq!(added.len(), 5);

    let media = trip.media("media2");
    let exported = trip.export_since(&media, &trip.receipt());
    trip.assert_signed(&exported, 2);
    assert_eq!(fs::read_to_string(trip.sequence_file()).unwrap(), "2\n");
    // And the loose anonymousCheckFile.txt, which is always carried.
    let expected = added
        .iter()
        .cloned()
        .chain(["anonymousCheckFile.txt".to_owned()]);
    assert_eq!(
        file_names_below(&media.join("WsusContent")),
        expected.collect::<BTreeSet<_>>(),
        "only the new files are on the media"
    );

    let manifest = read_json(&media.join("manifest.json"));
    assert_eq!(manifest["sequence"], 2);
    let entries = manifest["entries"].as_array().unwrap();
    let listed: BTreeSet<String> = entries
        .iter()
        .map(|entry| entry["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, file_names_below(trip.connected()), "all are listed");
    assert_eq!(listed.len(), 35 + 1); // and anonymousCheckFile.txt
    for entry in entries {
        let path = entry["path"].as_str().unwrap();
        if added.iter().any(|new| new == path) || path == "anonymousCheckFile.txt" {
            assert!(entry.get("carried").is_none(), "{entry}");
        } else {
            assert_eq!(entry["carried"], false, "{entry}");
        }
    }

    let verified = trip.verify(&media);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified.stdout.ends_with("result: ready to import\n"),
        "{}",
        verified.stdout
    );
    let imported = trip.import(&media);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 2");
    trip.assert_content_equal();
    assert_eq!(trip.accepted_sequence(), Some(2));
    assert_eq!(
        fs::read_to_string(trip.record()).unwrap(),
        trip.import_record(&trip.media("media1")) + &trip.import_record(&media)
    );
    assert_eq!(read_json(&trip.receipt())["sequence"], 2);
}

#[test]
fn tampered_media_is_refused_and_nothing_is_touched() {
    let (trip, media) = Trip::exported(3);
    let before = untouchable(&trip);
    assert!(before.values().all(Option::is_none), "nothing there yet");

    // One byte of a content file on the media.
    let victim = trip.site.files[trip.site.files.len() / 2].path.clone();
    let victim_path = media.join("WsusContent").join(&victim);
    let signed = fs::read(&victim_path).unwrap();
    flip_middle_byte(&victim_path);
    let found = fs::read(&victim_path).unwrap();
    let size = HumanCount(signed.len() as u64);
    let changed = format!(
        "changed: {victim}: expected {size} bytes, BLAKE3 {}; found {size} bytes, BLAKE3 {}",
        support::oracle::blake3_hex(&signed),
        support::oracle::blake3_hex(&found)
    );
    for run in [trip.verify(&media), trip.import(&media)] {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(has_line(&run.stderr, &changed), "{}", run.stderr);
        assert!(
            run.stderr
                .lines()
                .any(|line| line.starts_with("wsus-airgap: refused: ")),
            "{}",
            run.stderr
        );
    }
    // With --json, stdout carries the verdict as well, for scripts that read only stdout.
    for mut command in [trip.verify_command(&media), trip.import_command(&media)] {
        let run = trip.run(command.arg("--json"));
        assert_eq!(run.code, 1, "{}", run.stderr);
        let document: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(document["result"], "refused", "{document}");
        assert_eq!(document["media"], media.display().to_string(), "{document}");
        let error = document["error"].as_str().unwrap();
        assert_eq!(
            error,
            format!(
                "{}: 1 problem (1 changed); 0 package references the manifest does not list",
                media.display(),
            )
        );
        assert!(
            run.stderr
                .ends_with(&format!("wsus-airgap: refused: {error}\n")),
            "{}",
            run.stderr
        );
    }
    assert!(!trip.content().exists());
    assert!(!trip.record().exists(), "wsusutil never started");
    assert_eq!(untouchable(&trip), before);

    // One byte of the manifest: here, the sequence raised, as a replay would want it.
    flip_middle_byte(&victim_path); // flipped back: the content is intact again
    assert_eq!(trip.verify(&media).code, 0);
    let manifest_path = media.join("manifest.json");
    let manifest = fs::read_to_string(&manifest_path).unwrap();
    assert_eq!(
        manifest.matches("\"sequence\": 1,").count(),
        1,
        "{manifest}"
    );
    fs::write(
        &manifest_path,
        manifest.replace("\"sequence\": 1,", "\"sequence\": 9,"),
    )
    .unwrap();
    for run in [trip.verify(&media), trip.import(&media)] {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            run.stderr.starts_with("wsus-airgap: refused: "),
            "{}",
            run.stderr
        );
    }
    assert!(!trip.content().exists());
    assert!(!trip.record().exists(), "wsusutil never started");
    assert_eq!(untouchable(&trip), before);
}

#[test]
fn a_file_missing_from_the_media_is_refused() {
    let (trip, media) = Trip::exported(4);
    let before = untouchable(&trip);

    let victim = trip.site.files[3].path.clone();
    fs::remove_file(media.join("WsusContent").join(&victim)).unwrap();
    for run in [trip.verify(&media), trip.import(&media)] {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            has_line(&run.stderr, &format!("missing: {victim}")),
            "{}",
            run.stderr
        );
        assert!(
            last_line(&run.stderr).starts_with("wsus-airgap: refused: "),
            "{}",
            run.stderr
        );
    }
    assert!(!trip.content().exists());
    assert!(!trip.record().exists(), "wsusutil never started");
    assert_eq!(untouchable(&trip), before);
}

#[test]
fn a_receipt_claiming_a_file_the_other_side_lacks_makes_the_import_refuse_naming_the_update() {
    let trip = Trip::new(5);
    trip.round(&trip.media("media1"), None, 1);
    let added = trip.add_files(5, 105);

    // The receipt claims one of the new files, which the disconnected side does not hold.
    let claimed = added[2].clone();
    let bytes = fs::read(trip.connected().join(&claimed)).unwrap();
    let mut receipt = read_json(&trip.receipt());
    let content = receipt["content"].as_array_mut().unwrap();
    content.push(serde_json::json!({
        "path": claimed,
        "size": bytes.len(),
        "blake3": support::oracle::blake3_hex(&bytes),
    }));
    content.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    let edited = trip.path("edited-receipt.json");
    fs::write(&edited, serde_json::to_vec_pretty(&receipt).unwrap()).unwrap();

    let media = trip.media("media2");
    let exported = trip.export_since(&media, &edited);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert_eq!(
        file_names_below(&media.join("WsusContent")),
        added
            .iter()
            .filter(|path| **path != claimed)
            .cloned()
            .chain(["anonymousCheckFile.txt".to_owned()])
            .collect(),
        "the claimed file is left off the media"
    );
    let before = untouchable(&trip);

    let verified = trip.verify(&media);
    assert_eq!(verified.code, 1, "{}", verified.stderr);
    assert_would_fail_for_lack_of(&verified.stderr, &claimed);
    assert!(
        has_line(&verified.stderr, &format!("not covered: {claimed}")),
        "{}",
        verified.stderr
    );
    assert!(
        last_line(&verified.stderr).starts_with("wsus-airgap: refused: "),
        "{}",
        verified.stderr
    );

    let imported = trip.import(&media);
    assert_eq!(imported.code, 1, "{}", imported.stderr);
    assert_would_fail_for_lack_of(&imported.stderr, &claimed);
    assert!(
        last_line(&imported.stderr).starts_with("wsus-airgap: refused: "),
        "{}",
        imported.stderr
    );
    assert_eq!(untouchable(&trip), before, "nothing was written");
    assert_eq!(trip.accepted_sequence(), Some(1));
    assert!(!media.join("receipt.json").exists());
}

#[test]
fn replayed_older_media_is_refused() {
    let trip = Trip::new(6);
    // The first media mirrors: imported again after the second, it would delete the files
    // the second brought.
    let first = trip.media("media1");
    let exported = trip.run(trip.export_command(&first).args(["--mode", "mirror"]));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let imported = trip.import(&first);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    trip.add_files(5, 106);
    trip.round(&trip.media("media2"), Some(&trip.receipt()), 2);
    trip.assert_content_equal();
    let before = untouchable(&trip);

    for run in [trip.verify(&first), trip.import(&first)] {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("not newer than"), "{}", run.stderr);
        assert!(
            run.stderr.starts_with("wsus-airgap: refused: "),
            "{}",
            run.stderr
        );
    }
    assert_eq!(untouchable(&trip), before, "nothing changed");
    assert_eq!(trip.accepted_sequence(), Some(2));
    trip.assert_content_equal();
}

#[test]
fn an_interrupted_import_changes_no_state_and_a_rerun_completes_it() {
    let (trip, media) = Trip::exported(7);

    let total: u64 = trip.site.files.iter().map(|file| file.size).sum();
    let output = trip
        .import_command(&media)
        .env(
            "WSUS_AIRGAP_TEST_ABORT_AFTER_BYTES",
            (total / 3).to_string(),
        )
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_ne!(output.status.code(), Some(0));
    assert_ne!(
        snapshot(&trip.content()),
        snapshot(trip.connected()),
        "the copy stopped part of the way"
    );
    assert_eq!(
        trip.accepted_sequence(),
        None,
        "the trust state is unchanged"
    );
    assert!(!trip.record().exists(), "wsusutil never started");
    assert!(!trip.receipt().exists());
    assert!(!media.join("receipt.json").exists());

    let imported = trip.import(&media);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 1");
    trip.assert_content_equal();
    let leftovers: Vec<String> = file_names_below(&trip.disconnected())
        .into_iter()
        .filter(|path| is_temporary_name(path.rsplit('/').next().unwrap()))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(trip.accepted_sequence(), Some(1));
    assert_eq!(
        fs::read_to_string(trip.record()).unwrap(),
        trip.import_record(&media)
    );
}

#[test]
fn a_failed_wsusutil_import_exits_3_changes_no_state_and_a_rerun_succeeds() {
    let (trip, media) = Trip::exported(8);

    let failed = trip.run(trip.import_command(&media).env("WSUSUTIL_FAIL", "1"));
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    assert!(
        failed.stderr.starts_with("wsus-airgap: wsusutil failed: "),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("Fatal error: the stand-in was told to fail"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        trip.accepted_sequence(),
        None,
        "the trust state is unchanged"
    );
    assert!(!trip.receipt().exists());
    assert!(!media.join("receipt.json").exists());
    assert!(!trip.record().exists(), "nothing was imported");

    let imported = trip.import(&media);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 1");
    assert_eq!(trip.accepted_sequence(), Some(1));
    assert!(trip.receipt().is_file());
    trip.assert_content_equal();
}

#[test]
fn a_failed_wsusutil_export_exits_3_and_leaves_no_signature() {
    let (trip, media) = Trip::exported(9);
    assert!(media.join("manifest.json.minisig").is_file());

    // Into the same media: the earlier signature must not stay to vouch for it.
    let failed = trip.run(trip.export_command(&media).env("WSUSUTIL_FAIL", "1"));
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    assert!(
        failed.stderr.starts_with("wsus-airgap: wsusutil failed: "),
        "{}",
        failed.stderr
    );
    assert!(
        failed
            .stderr
            .contains("Fatal error: the stand-in was told to fail"),
        "{}",
        failed.stderr
    );
    assert!(!media.join("manifest.json.minisig").exists());
    assert_eq!(fs::read_to_string(trip.sequence_file()).unwrap(), "1\n");
    // Unfinished media is refused as such (exit 1: the signature is missing).
    let verified = trip.verify(&media);
    assert_eq!(verified.code, 1, "{}", verified.stdout);
    assert!(
        verified
            .stderr
            .contains("manifest.json.minisig: unfinished or altered media: no signature"),
        "{}",
        verified.stderr
    );
}

#[test]
fn an_empty_export_package_exits_3_and_leaves_no_signature() {
    let trip = Trip::new(10);
    let media = trip.media("media");
    let failed = trip.run(
        trip.export_command(&media)
            .env("WSUSUTIL_EMPTY_PACKAGE", "1"),
    );
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    assert!(
        failed.stderr.starts_with("wsus-airgap: wsusutil failed: "),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains("empty package"), "{}", failed.stderr);
    assert!(
        !media.join("export.xml.gz").exists(),
        "an empty package was put on the media"
    );
    assert!(!media.join("manifest.json").exists());
    assert!(!media.join("manifest.json.minisig").exists());
    assert!(!trip.sequence_file().exists());
}

#[test]
fn content_lacking_a_referenced_file_is_refused_unless_gaps_are_allowed() {
    let trip = Trip::new(11);
    // A package made by the stand-in while the content was whole, then one file lost.
    let package = trip.path("package.cab");
    let made = Command::new(stand_in_wsusutil())
        .env("WSUSUTIL_CONTENT", trip.connected())
        .env_remove("WSUSUTIL_FAIL")
        .env_remove("WSUSUTIL_EMPTY_PACKAGE")
        .env_remove("WSUSUTIL_HANG")
        .arg("export")
        .arg(&package)
        .arg(trip.path("package.log"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let lost = trip.site.remove(7).unwrap();

    let media = trip.media("media");
    let export = |more: &[&str]| {
        let mut command = trip.command();
        command
            .arg("export")
            .arg("--quiet")
            .arg("--no-approvals")
            .arg("--content")
            .arg(trip.connected())
            .arg("--media")
            .arg(&media)
            .arg("--key")
            .arg(trip.secret())
            .arg("--package")
            .arg(&package)
            .args(more);
        trip.run(&mut command)
    };
    let refused = export(&[]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_would_fail_for_lack_of(&refused.stderr, &lost);
    assert!(
        refused
            .stderr
            .lines()
            .any(|line| line.starts_with("wsus-airgap: refused: ")
                && line.ends_with("; nothing was signed")),
        "{}",
        refused.stderr
    );
    assert!(!media.join("manifest.json").exists());
    assert!(!media.join("manifest.json.minisig").exists());
    assert!(!trip.sequence_file().exists());

    let allowed = export(&["--allow-gaps"]);
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert_would_fail_for_lack_of(&allowed.stderr, &lost);
    assert!(
        allowed
            .stderr
            .lines()
            .any(|line| line.starts_with("warning: ")),
        "{}",
        allowed.stderr
    );
    assert_eq!(last_line(&allowed.stdout), "result: exported");
    let manifest = read_json(&media.join("manifest.json"));
    assert_eq!(manifest["gaps"], serde_json::json!([lost]));
    assert!(media.join("manifest.json.minisig").is_file());

    let imported = trip.import(&media);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(
        has_line(&imported.stdout, &format!("acknowledged gap: {lost}")),
        "{}",
        imported.stdout
    );
    assert_would_fail_for_lack_of(&imported.stdout, &lost);
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 1");
    trip.assert_content_equal();
    assert_eq!(
        fs::read_to_string(trip.record()).unwrap(),
        trip.import_record_of(&media.join("package.cab"), &trip.path("package.log"))
    );
}

#[test]
fn the_step_log_records_export_and_import_in_order() {
    let trip = Trip::new(12);
    let media = trip.media("media");
    let log = trip.path("steps.log");
    let exported = trip.run(trip.export_command(&media).arg("--log").arg(&log));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let imported = trip.run(trip.import_command(&media).arg("--log").arg(&log));
    assert_eq!(imported.code, 0, "{}", imported.stderr);

    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let position = |step: &str| {
        let found: Vec<usize> = (0..lines.len())
            .filter(|&index| lines[index].contains(step))
            .collect();
        assert_eq!(found.len(), 1, "`{step}` once in:\n{text}");
        found[0]
    };
    let steps = [
        position("export: started"),
        position("export: finished"),
        position("import: started"),
        position("import: finished"),
    ];
    assert!(steps.is_sorted(), "{steps:?} in:\n{text}");
}

/// `verify` exits 0 only when an import would succeed (docs/commands.md), also when the
/// disconnected content folder's parent does not exist yet.
#[test]
fn verify_ready_means_import_succeeds_when_the_content_folder_parent_is_missing() {
    let (trip, media) = Trip::exported(13);
    let content = trip.path("new-server").join("WSUS").join("WsusContent");
    let verified = trip.run(&mut trip.verify_command_into(&media, &content));
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let imported = trip.run(&mut trip.import_command_into(&media, &content));
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 1");
    support::assert_same_files(trip.connected(), &content);
    assert_eq!(trip.accepted_sequence(), Some(1));
    let receipt = read_json(&content.with_file_name("wsus-airgap-receipt.json"));
    assert_eq!(receipt["sequence"], 1);
    assert_eq!(
        receipt["content"].as_array().unwrap().len(),
        file_names_below(trip.connected()).len()
    );
}

/// Media in mirror mode deletes content files the manifest does not list: verify says how
/// many, `--max-delete` stops the import before any deletion and before wsusutil, and
/// `--quarantine` moves them aside instead.
#[test]
fn mirror_mode_media_deletes_only_within_the_brakes() {
    let trip = Trip::new(12);
    let media = trip.media("media");
    let exported = trip.run(trip.export_command(&media).args(["--mode", "mirror"]));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let extras = ["00/EXTRA1.cab", "FF/EXTRA2.cab"];
    for (index, extra) in extras.iter().enumerate() {
        let path = trip.content().join(extra);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("local {index}")).unwrap();
    }

    let verified = trip.verify(&media);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let content_line = verified
        .stdout
        .lines()
        .find(|line| line.starts_with("content: "))
        .unwrap();
    assert!(
        content_line.contains(", and delete 2 the manifest does not list (14 B); "),
        "{content_line}"
    );

    let before = untouchable(&trip);
    let braked = trip.run(trip.import_command(&media).args(["--max-delete", "1"]));
    assert_eq!(braked.code, 1, "{}", braked.stderr);
    assert_eq!(
        braked.stderr,
        "would delete: 00/EXTRA1.cab\n\
         would delete: FF/EXTRA2.cab\n\
         wsus-airgap: refused: the media is in mirror mode and the copy would delete 2 content \
         files the manifest does not list, more than --max-delete 1; nothing was deleted and \
         wsusutil was not run (rerun with a larger --max-delete or with --quarantine DIR)\n"
    );
    for extra in extras {
        assert!(trip.content().join(extra).is_file(), "{extra} was deleted");
    }
    assert!(!trip.record().exists(), "wsusutil ran");
    assert_eq!(trip.accepted_sequence(), None);
    assert_ne!(untouchable(&trip), before, "the copies were made");

    let quarantine = trip.path("quarantine");
    let imported = trip.run(
        trip.import_command(&media)
            .args(["--max-delete", "2", "--quarantine"])
            .arg(&quarantine),
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    for (index, extra) in extras.iter().enumerate() {
        assert!(
            !trip.content().join(extra).exists(),
            "{extra} is still there"
        );
        assert_eq!(
            fs::read_to_string(quarantine.join(extra)).unwrap(),
            format!("local {index}")
        );
    }
    trip.assert_content_equal();
    assert_eq!(trip.accepted_sequence(), Some(1));
}

#[cfg(windows)]
#[test]
fn read_only_hidden_media_imports_as_plain_files_and_takes_the_next_export() {
    let (trip, media) = Trip::exported(13);
    // As if burnt to a DVD and copied off it: every file on the media read-only and hidden.
    let _writable_again = support::make_read_only_and_hidden(&media);
    let imported = trip.import(&media);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 1");
    trip.assert_content_equal();
    assert_eq!(
        support::read_only_or_hidden_files(&trip.content()),
        [] as [PathBuf; 0],
        "WSUS can replace every imported file"
    );

    // The next export goes onto the same media, over its read-only files: a file gone from
    // the connected side is deleted from it, new ones are added, and everything else is
    // written anew (package, log, README, manifest, signature).
    let gone = trip.site.files[0].path.clone();
    fs::remove_file(trip.connected().join(&gone)).unwrap();
    trip.add_files(3, 113);
    let _writable_again_too = support::make_read_only_and_hidden(&media);
    let exported = trip.export(&media);
    trip.assert_signed(&exported, 2);
    assert_eq!(
        file_names_below(&media.join("WsusContent")),
        file_names_below(trip.connected())
    );
    let verified = trip.verify(&media);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified.stdout.ends_with("result: ready to import\n"),
        "{}",
        verified.stdout
    );
}

/// A place where a trust state cannot be written although none is there to read: a
/// pseudo file system on Linux, a drive letter that does not exist on Windows.
fn unwritable_state_path() -> PathBuf {
    if cfg!(windows) {
        let drive = ('D'..='Y')
            .map(|letter| format!("{letter}:\\"))
            .find(|drive| !Path::new(drive).exists())
            .expect("a free drive letter");
        Path::new(&drive)
            .join("wsus-airgap")
            .join("trust-state.json")
    } else {
        PathBuf::from("/proc/trust-state.json")
    }
}

/// An import whose trust state cannot be written stops before it copies anything or runs
/// wsusutil, naming the state: otherwise it would import and then fail to record it, and
/// the same media could be imported again.
#[cfg(any(windows, target_os = "linux"))]
#[test]
fn an_import_that_could_not_be_recorded_is_not_started() {
    let (trip, media) = Trip::exported(14);
    let state = unwritable_state_path();
    let mut command = trip.gate_command_with_state("import", &media, &trip.content(), &state);
    command.arg("--wsusutil").arg(stand_in_wsusutil());

    let before = untouchable(&trip);
    let run = trip.run(&mut command);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let prefix = format!(
        "wsus-airgap: error: the import could not be recorded, so it was not started; nothing \
         was changed: {}: ",
        state.display()
    );
    assert!(run.stderr.starts_with(&prefix), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert_eq!(untouchable(&trip), before);
    assert!(!trip.record().exists(), "wsusutil ran");
    assert!(!state.exists());

    let imported = trip.import(&media);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
}

/// Media given as a relative path: wsusutil is handed the package by its absolute path.
#[test]
fn wsusutil_gets_the_package_by_its_absolute_path() {
    let (trip, media) = Trip::exported(15);
    let mut command = trip.import_command(Path::new("media"));
    let imported = trip.run(command.current_dir(trip.path("")));
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert_eq!(
        fs::read_to_string(trip.record()).unwrap(),
        trip.import_record(&media)
    );
}

/// The lock file that guards `guarded`: `<guarded>.lock`.
fn lock_file_of(guarded: &Path) -> PathBuf {
    let mut path = guarded.as_os_str().to_owned();
    path.push(".lock");
    path.into()
}

/// Takes the lock that guards `guarded` as another run would.
fn hold_lock_of(guarded: &Path) -> fs::File {
    let file = fs::File::create(lock_file_of(guarded)).unwrap();
    file.try_lock().expect("nothing else holds the lock");
    file
}

fn busy_error(guarded: &Path, work: &str) -> String {
    format!(
        "wsus-airgap: error: {}.lock: another wsus-airgap {work} is running (it holds this \
         lock); nothing was changed: run again once it has finished\n",
        guarded.display()
    )
}

/// One import at a time per trust state: an import holds the lock while it runs (here, while
/// wsusutil works), and the first completes.
#[test]
fn an_import_holds_its_lock_while_it_runs() {
    let (trip, media) = Trip::exported(16);

    let log = trip.path("first-import.log");
    let mut first = trip
        .import_command(&media)
        .env("WSUSUTIL_HANG", "10")
        .arg("--log")
        .arg(&log)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !fs::read_to_string(&log).is_ok_and(|text| text.contains(": running ")) {
        assert!(
            started.elapsed().as_secs() < 60,
            "the first import did not reach wsusutil"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let lock = fs::File::options()
        .write(true)
        .open(lock_file_of(&trip.state()))
        .unwrap();
    assert!(
        matches!(lock.try_lock(), Err(fs::TryLockError::WouldBlock)),
        "the running import holds its lock"
    );

    assert!(first.wait().unwrap().success());
    assert_eq!(trip.accepted_sequence(), Some(1));
    assert_eq!(
        fs::read_to_string(trip.record()).unwrap(),
        trip.import_record(&media)
    );
    lock.try_lock()
        .expect("the finished import let go of its lock");
}

/// While another run holds the lock, an import is turned away before its gate: media the
/// gate would refuse gives the busy error, not the refusal, and nothing changes.
#[test]
fn an_import_while_another_runs_is_turned_away_before_its_gate() {
    let (trip, media) = Trip::exported(18);
    fs::write(media.join("manifest.json"), b"{}").unwrap();

    let held = hold_lock_of(&trip.state());
    let before = untouchable(&trip);
    let busy = trip.import(&media);
    assert_eq!(
        (busy.code, busy.stderr.as_str()),
        (
            2,
            busy_error(&trip.state(), "import with this trust state").as_str()
        )
    );
    assert_eq!(untouchable(&trip), before);

    drop(held);
    let refused = trip.import(&media);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.starts_with("wsus-airgap: refused: "),
        "{}",
        refused.stderr
    );
}

/// One export at a time per key: a second one is turned away before it reads the key's
/// sequence, and writes nothing.
#[test]
fn an_export_while_another_signs_with_the_key_is_turned_away() {
    let trip = Trip::new(17);
    let media = trip.media("media");
    // A damaged counter would be an error of its own: the lock comes before reading it.
    fs::write(trip.sequence_file(), "damaged").unwrap();
    let held = hold_lock_of(&trip.sequence_file());
    let refused = trip.export(&media);
    assert_eq!(
        (refused.code, refused.stderr.as_str()),
        (
            2,
            busy_error(&trip.sequence_file(), "export signing with this key").as_str()
        )
    );
    assert!(!media.exists());

    drop(held);
    fs::remove_file(trip.sequence_file()).unwrap();
    let exported = trip.export(&media);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
}

/// Changes a byte of the file at `path` and sets its modification time back, as `touch -r`
/// would: size and time are as before, the bytes are not.
fn change_keeping_size_and_time(path: &Path) {
    let modified = fs::metadata(path).unwrap().modified().unwrap();
    flip_middle_byte(path);
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    assert_eq!(fs::metadata(path).unwrap().modified().unwrap(), modified);
}

/// A content file changed on the disconnected side with its time set back is not taken for
/// the file the hash cache remembers: media that does not carry it is refused as not
/// covering it (verify does not count it as in place), and media that does carries it in
/// again, before wsusutil runs.
#[test]
fn a_content_file_changed_with_its_time_set_back_is_never_taken_as_in_place() {
    let trip = Trip::new(19);
    trip.round(&trip.media("media1"), None, 1);
    let victim = trip.site.files[3].path.clone();
    change_keeping_size_and_time(&trip.content().join(&victim));

    let since = trip.media("media2");
    let exported = trip.export_since(&since, &trip.receipt());
    trip.assert_signed(&exported, 2);
    assert!(!since.join("WsusContent").join(&victim).exists());
    let verified = trip.verify(&since);
    assert_eq!(verified.code, 1, "{}", verified.stdout);
    assert!(
        has_line(&verified.stderr, &format!("not covered: {victim}")),
        "{}",
        verified.stderr
    );
    let before = untouchable(&trip);
    let refused = trip.import(&since);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert_eq!(
        untouchable(&trip),
        before,
        "wsusutil ran or something changed"
    );

    let whole = trip.media("media3");
    let exported = trip.export(&whole);
    trip.assert_signed(&exported, 3);
    let verified = trip.verify(&whole);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        verified.stdout.contains(" and replace 1; "),
        "{}",
        verified.stdout
    );
    let imported = trip.import(&whole);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    trip.assert_content_equal();
}

/// One import at a time into a content folder, whatever its trust state: while another run
/// holds the content folder's lock (`WsusContent.lock`), an import with another trust state
/// is turned away before its gate, changing nothing.
#[test]
fn an_import_into_a_content_folder_another_run_holds_is_turned_away() {
    let (trip, media) = Trip::exported(20);
    let held = hold_lock_of(&trip.content());
    let other_state = trip.path("other-state.json");
    let mut command = trip.gate_command_with_state("import", &media, &trip.content(), &other_state);
    command.arg("--wsusutil").arg(stand_in_wsusutil());
    let before = untouchable(&trip);

    let busy = trip.run(&mut command);
    assert_eq!(
        (busy.code, busy.stderr.as_str()),
        (
            2,
            busy_error(&trip.content(), "copy into this folder").as_str()
        )
    );
    assert_eq!(untouchable(&trip), before);
    assert!(!other_state.exists());

    drop(held);
    let imported = trip.run(&mut command);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
}
