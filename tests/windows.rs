//! The Windows build on Windows' own terms, where the tool runs in production: paths with
//! backslashes, drive letters, `..` and trailing separators as people type them, relative
//! paths, UNC paths (`\\server\share\WsusContent`), paths longer than MAX_PATH's 260
//! characters, and the default locations under `%ProgramFiles%`, `%ProgramData%` and
//! `%LOCALAPPDATA%`. Each test runs the real binary through the round trip (or the commands
//! it is made of) and checks its output, the files on disk and the exit codes.
//!
//! Windows only. `scripts/windows-test` runs them under Wine, where it also provides the UNC
//! share. The stand-in for wsusutil.exe is the binary itself, copied as `wsusutil.exe`
//! (started under that name it behaves as the stand-in; see `src/main.rs`).

#![cfg(windows)]

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::{HumanBytes, HumanCount};
use serde_json::Value;
use support::{Run, files_below, has_line, last_line, run_command};
use wsus_airgap::synth::{self, Site, SiteSpec};

/// One air gap laid out in one folder: the connected server's content (generated) in
/// `connected\WsusContent` unless placed elsewhere, the key pair in `keys`, the stand-in
/// wsusutil in `tools`, the hash cache, and the file the stand-in records its imports in.
struct Gap {
    base: PathBuf,
    site: Site,
    key_id: String,
}

impl Gap {
    fn new(base: &Path, seed: u64) -> Self {
        Gap::with_connected(base, &base.join("connected").join("WsusContent"), seed)
    }

    /// A gap whose connected content is generated at `connected`.
    fn with_connected(base: &Path, connected: &Path, seed: u64) -> Self {
        let site = synth::generate(
            connected,
            &SiteSpec {
                files: 20,
                min_size: 100,
                max_size: 40_000,
                large_files: 0,
                large_size: 0,
                seed,
            },
        )
        .unwrap();
        let tools = base.join("tools");
        fs::create_dir(&tools).unwrap();
        install_stand_in(&tools.join("wsusutil.exe"));
        let keys = base.join("keys");
        fs::create_dir(&keys).unwrap();
        let key_id = support::keygen(&keys.join("site.key"), &keys.join("site.pub"));
        Gap {
            base: base.to_owned(),
            site,
            key_id,
        }
    }

    /// A path below the gap's folder, written with backslashes.
    fn path(&self, relative: &str) -> PathBuf {
        self.base.join(relative)
    }

    fn connected(&self) -> &Path {
        &self.site.root
    }

    fn record(&self) -> PathBuf {
        self.path("wsusutil-record.txt")
    }

    /// The binary, started in the gap's folder (for relative paths), with the hash cache
    /// there, the stand-in pointed at the connected content and at the record file, and no
    /// fault injected.
    ///
    /// A gap on a UNC path is the exception: Wine cannot start a program in a UNC folder (it
    /// warns and starts it in C:\windows), so there the commands get absolute paths only.
    fn command(&self) -> Command {
        let mut command =
            support::transfer_command(&self.path("cache"), self.connected(), &self.record());
        if !text(&self.base).starts_with(r"\\") {
            command.current_dir(&self.base);
        }
        command
    }

    /// `verify` or `import` (`verb`) of `media` into `content`, trusting the key at `trust`,
    /// quietly.
    fn gate_command(
        &self,
        verb: &str,
        media: &Path,
        trust: impl AsRef<OsStr>,
        content: &Path,
    ) -> Command {
        let mut command = self.command();
        command
            .args([verb, "--quiet"])
            .arg("--media")
            .arg(media)
            .arg("--trust")
            .arg(trust)
            .arg("--content")
            .arg(content);
        command
    }

    fn run(&self, command: &mut Command) -> Run {
        run_command(command)
    }

    /// Runs the binary with `args`, each spelled as given.
    fn run_args(&self, args: &[&OsStr]) -> Run {
        self.run(self.command().args(args))
    }

    /// The files of the connected content with their bytes, and their total size.
    fn connected_files(&self) -> (BTreeMap<String, Vec<u8>>, u64) {
        let files = files_below(self.connected());
        let bytes = files.values().map(|bytes| bytes.len() as u64).sum();
        (files, bytes)
    }

    /// Asserts that `content` holds exactly the connected content's files, byte for byte.
    fn assert_content_equal(&self, content: &Path) {
        let (connected, _) = self.connected_files();
        assert!(connected.contains_key(synth::ANONYMOUS_CHECK_FILE));
        assert_eq!(connected.len(), self.site.files.len() + 1);
        support::assert_same_files(self.connected(), content);
    }

    /// The sequence the trust state at `state` holds for the gap's key.
    fn accepted_sequence(&self, state: &Path) -> u64 {
        let state: Value = serde_json::from_slice(&fs::read(state).unwrap()).unwrap();
        state["keys"][&self.key_id]["sequence"]
            .as_u64()
            .unwrap_or_else(|| panic!("no sequence for {} in {state}", self.key_id))
    }

    /// What the stand-in records for an import of the package at `package` with the trust
    /// state at `state`: wsusutil is handed the import's private copy, beside the state.
    fn import_record(&self, package: &Path, state: &Path) -> String {
        let updates = wsus_airgap::package::open(package).unwrap().updates.len();
        assert!(updates > 0);
        let copy = wsus_airgap::transfer::import::package_folder_of(state)
            .join(package.file_name().unwrap());
        format!("import {} {updates} updates\n", copy.display())
    }

    /// Asserts that `exported` is a successful export of the whole connected content to the
    /// media at `media` (as the command printed it).
    fn assert_exported(&self, exported: &Run, media: &Path) {
        assert_eq!(exported.code, 0, "{}", exported.stderr);
        let files = self.site.files.len() + 1;
        let wanted = [
            format!("package: {}", media.join("export.xml.gz").display()),
            format!(
                "manifest: {} ({files} files listed, {files} on the media)",
                media.join("manifest.json").display()
            ),
            format!("signed: sequence 1, key {}", self.key_id),
        ];
        for line in wanted {
            assert!(
                has_line(&exported.stdout, &line),
                "{line}\n{}",
                exported.stdout
            );
        }
        assert_eq!(last_line(&exported.stdout), "result: exported");
    }

    /// Asserts that `verified` is `verify` finding sequence 1 ready to import into an empty
    /// content folder, with the output's exact lines.
    fn assert_ready(&self, verified: &Run) {
        let (signature, rest) = Self::gate_lines(verified);
        let expected = format!(
            "signature: good, key {}, sequence 1 (last imported: none), expires ",
            self.key_id
        );
        assert!(signature.starts_with(&expected), "{}", verified.stdout);
        let (files, bytes) = self.counted();
        assert_eq!(
            rest,
            [
                self.media_line(),
                format!(
                    "content: an import would copy {files} ({bytes}) and replace 0; 0 already in place"
                ),
                "result: ready to import".to_owned(),
            ]
        );
    }

    /// Asserts that `imported` is a successful import of sequence 1 into an empty content
    /// folder whose receipt is `receipt`, with the output's exact lines.
    fn assert_imported(&self, imported: &Run, receipt: &Path) {
        let (signature, rest) = Self::gate_lines(imported);
        let expected = format!("signature: good, key {}, ", self.key_id);
        assert!(signature.starts_with(&expected), "{}", imported.stdout);
        let (files, bytes) = self.counted();
        assert_eq!(
            rest,
            [
                self.media_line(),
                format!(
                    "content: {files} to copy ({bytes}), 0 to replace (0 B), 0 to delete \
                     (0 B), 0 unchanged (0 B)"
                ),
                "wsusutil import: done".to_owned(),
                format!("receipt: {}", receipt.display()),
                "result: imported sequence 1".to_owned(),
            ]
        );
        assert!(receipt.is_file(), "{}", receipt.display());
    }

    /// The first line (the signature's) and the other lines of a `verify` or `import` that
    /// succeeded.
    fn gate_lines(run: &Run) -> (&str, Vec<&str>) {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let mut lines = run.stdout.lines();
        let signature = lines.next().unwrap_or_default();
        (signature, lines.collect())
    }

    /// The connected content's file count and size, as reports print them.
    fn counted(&self) -> (HumanCount, HumanBytes) {
        let (files, bytes) = self.connected_files();
        (HumanCount(files.len() as u64), HumanBytes(bytes))
    }

    /// The `media:` line of a report on the gap's whole content, all of it on the media.
    fn media_line(&self) -> String {
        let (files, bytes) = self.counted();
        format!(
            "media: {files} files intact ({bytes}), 0 held by the receiving side, package intact"
        )
    }
}

/// Copies the binary to `to`: started as `wsusutil.exe`, it is the stand-in for wsusutil.
fn install_stand_in(to: &Path) {
    fs::copy(support::binary(), to).unwrap();
}

fn os(text: &str) -> &OsStr {
    OsStr::new(text)
}

/// `path` as text, for building paths the way a person types them.
fn text(path: &Path) -> &str {
    path.to_str()
        .expect("the temporary folder's path is Unicode")
}

#[test]
fn backslashes_drive_letters_and_relative_paths_carry_a_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let base = text(dir.path());
    let drive = base.as_bytes();
    assert!(
        drive.len() > 3 && drive[0].is_ascii_alphabetic() && &drive[1..3] == b":\\",
        "the temporary folder is on a drive: {base}"
    );
    let gap = Gap::new(dir.path(), 1);

    // From the gap's folder: relative paths with backslashes, a drive-letter path with a
    // trailing backslash (as PowerShell completes folder names), one with forward slashes
    // (as the README and docs/commands.md write them), and `.` and `..`.
    let exported = gap.run_args(&[
        os("export"),
        os("--quiet"),
        os("--no-approvals"),
        os("--content"),
        os(r"connected\WsusContent"),
        os("--media"),
        os(&format!(r"{base}\media\")),
        os("--key"),
        os(r"keys\site.key"),
        os("--wsusutil"),
        os(r".\tools\wsusutil.exe"),
    ]);
    gap.assert_exported(&exported, &gap.path(r"media\"));
    let media = gap.path("media");
    assert_eq!(
        files_below(&media.join("WsusContent")),
        gap.connected_files().0,
        "every content file is on the media"
    );

    let verified = gap.run_args(&[
        os("verify"),
        os("--quiet"),
        os("--media"),
        os("media"),
        os("--trust"),
        os(&format!("{}/keys/site.pub", base.replace('\\', "/"))),
        os("--content"),
        os(r".\disconnected\WsusContent"),
        os("--state"),
        os(r"disconnected\..\state\trust-state.json"),
    ]);
    gap.assert_ready(&verified);
    assert!(
        !gap.path("disconnected").exists(),
        "verifying wrote nothing"
    );
    assert!(!gap.path("state").exists(), "verifying wrote nothing");

    let imported = gap.run_args(&[
        os("import"),
        os("--quiet"),
        os("--media"),
        os(r"media\"),
        os("--trust"),
        os(r"keys\site.pub"),
        os("--content"),
        os(r"disconnected\WsusContent\"),
        os("--state"),
        os(r"state\trust-state.json"),
        os("--wsusutil"),
        os(&format!(r"{base}\tools\wsusutil.exe")),
    ]);
    gap.assert_imported(
        &imported,
        &gap.path(r"disconnected\wsus-airgap-receipt.json"),
    );
    gap.assert_content_equal(&gap.path(r"disconnected\WsusContent"));
    assert_eq!(
        gap.accepted_sequence(&gap.path(r"state\trust-state.json")),
        1
    );
    assert!(gap.path(r"media\receipt.json").is_file());
    assert_eq!(
        fs::read_to_string(gap.record()).unwrap(),
        gap.import_record(
            &gap.path(r"media\export.xml.gz"),
            &gap.path(r"state\trust-state.json")
        )
    );
}

/// The folder on a UNC path that the UNC test works in, below a share that is:
/// - `WSUS_AIRGAP_TEST_UNC_SHARE` (`\\host\share`) when it is set: a real share;
/// - under Wine (which passes `WINEPREFIX` on from Unix), `\\wsus-airgap-test\share`, which
///   Wine resolves to the folder `dosdevices/unc/wsus-airgap-test/share` of its prefix,
///   made here;
/// - otherwise the temporary folder through the administrative share of its drive
///   (`C:\Users\...` -> `\\localhost\C$\Users\...`), as on a real Windows machine.
fn unc_folder() -> tempfile::TempDir {
    let share = if let Some(share) = std::env::var_os("WSUS_AIRGAP_TEST_UNC_SHARE") {
        PathBuf::from(share)
    } else if let Some(prefix) = std::env::var_os("WINEPREFIX") {
        let prefix = prefix.to_str().expect("the Wine prefix's path is Unicode");
        let folder = format!(
            r"Z:{}\dosdevices\unc\wsus-airgap-test\share",
            prefix.replace('/', r"\")
        );
        fs::create_dir_all(&folder).unwrap();
        PathBuf::from(r"\\wsus-airgap-test\share")
    } else {
        let temp = std::env::temp_dir();
        let temp = text(&temp);
        let (drive, rest) = temp
            .split_once(':')
            .unwrap_or_else(|| panic!("{temp} is not on a drive"));
        PathBuf::from(format!(r"\\localhost\{drive}${rest}"))
    };
    assert!(text(&share).starts_with(r"\\"), "{}", share.display());
    tempfile::tempdir_in(&share).unwrap_or_else(|error| {
        panic!(
            "{}: cannot make a folder on the share: {error}",
            share.display()
        )
    })
}

#[test]
fn unc_paths_carry_a_round_trip_in_mirror_mode() {
    let dir = unc_folder();
    let gap = Gap::new(dir.path(), 2);
    assert!(text(gap.connected()).starts_with(r"\\"));

    let media = gap.path("media");
    let exported = gap.run(
        gap.command()
            .arg("export")
            .arg("--quiet")
            .arg("--no-approvals")
            .arg("--mode")
            .arg("mirror")
            .arg("--content")
            .arg(gap.connected())
            .arg("--media")
            .arg(&media)
            .arg("--key")
            .arg(gap.path(r"keys\site.key"))
            .arg("--wsusutil")
            .arg(gap.path(r"tools\wsusutil.exe")),
    );
    gap.assert_exported(&exported, &media);

    // The disconnected side already holds files the connected side does not: in mirror
    // mode the import removes them, over the share too.
    let content = gap.path(r"disconnected\WsusContent");
    let stray = synth::generate(
        &content,
        &SiteSpec {
            files: 3,
            min_size: 10,
            max_size: 100,
            large_files: 0,
            large_size: 0,
            seed: 99,
        },
    )
    .unwrap();
    let gate = |verb: &str| {
        let mut command = gap.gate_command(verb, &media, gap.path(r"keys\site.pub"), &content);
        command.arg("--state").arg(gap.path("trust-state.json"));
        command
    };
    let imported = gap.run(
        gate("import")
            .arg("--wsusutil")
            .arg(gap.path(r"tools\wsusutil.exe")),
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let files = gap.site.files.len() + 1;
    let stray_bytes: u64 = stray.files.iter().map(|file| file.size).sum();
    let content_line = imported
        .stdout
        .lines()
        .find(|line| line.starts_with("content: "))
        .unwrap_or_default();
    assert_eq!(
        content_line,
        format!(
            "content: {} to copy ({}), 0 to replace (0 B), {} to delete ({}), 1 unchanged (0 B)",
            files - 1,
            HumanBytes(gap.connected_files().1),
            stray.files.len(),
            HumanBytes(stray_bytes),
        ),
        "{}",
        imported.stdout
    );
    assert!(
        has_line(
            &imported.stdout,
            &format!(
                "receipt: {}",
                gap.path(r"disconnected\wsus-airgap-receipt.json").display()
            )
        ),
        "{}",
        imported.stdout
    );
    assert_eq!(last_line(&imported.stdout), "result: imported sequence 1");
    gap.assert_content_equal(&content);
    assert_eq!(gap.accepted_sequence(&gap.path("trust-state.json")), 1);
    assert_eq!(
        fs::read_to_string(gap.record()).unwrap(),
        gap.import_record(&media.join("export.xml.gz"), &gap.path("trust-state.json"))
    );

    // The same media again: refused as replayed, over the share as anywhere.
    let replayed = gap.run(&mut gate("verify"));
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    assert!(
        replayed.stderr.starts_with("wsus-airgap: refused: ")
            && replayed.stderr.contains("not newer than"),
        "{}",
        replayed.stderr
    );
}

#[test]
fn paths_longer_than_max_path_are_mirrored_signed_verified_and_imported() {
    let dir = tempfile::tempdir().unwrap();
    // Four folders of 60 characters: every content file's path is over 300 characters,
    // past MAX_PATH (260), where Windows' classic file functions stop.
    let deep = ["a", "b", "c", "d"]
        .iter()
        .fold(dir.path().to_owned(), |path, letter| {
            path.join(letter.repeat(60))
        });
    assert!(text(&deep).len() > 260, "{}", deep.display());
    let gap = Gap::with_connected(dir.path(), &deep.join(r"connected\WsusContent"), 3);
    let media = deep.join("media");
    fs::create_dir(&media).unwrap();
    let package = media.join("export.xml.gz");

    let exported = gap.run(
        Command::new(gap.path(r"tools\wsusutil.exe"))
            .env("WSUSUTIL_CONTENT", gap.connected())
            .arg("export")
            .arg(&package)
            .arg(media.join("wsusutil-export.log")),
    );
    assert_eq!(exported.code, 0, "{}", exported.stderr);

    let mirrored = gap.run(
        gap.command()
            .arg("mirror")
            .arg("--quiet")
            .arg(gap.connected())
            .arg(media.join("WsusContent")),
    );
    assert_eq!(mirrored.code, 0, "{}", mirrored.stderr);
    let (files, bytes) = gap.connected_files();
    assert_eq!(
        mirrored.stdout.lines().rev().nth(1).unwrap_or_default(),
        format!(
            "planned (incremental mode): {} to copy ({}), 0 to replace (0 B), 0 to delete (0 B), \
             0 unchanged (0 B)",
            files.len(),
            HumanBytes(bytes)
        ),
        "{}",
        mirrored.stdout
    );
    assert_eq!(last_line(&mirrored.stdout), "result: done");
    assert_eq!(files_below(&media.join("WsusContent")), files);

    let signed = gap.run(
        gap.command()
            .args(["manifest", "create", "--quiet", "--sequence", "1"])
            .arg("--content")
            .arg(media.join("WsusContent"))
            .arg("--package")
            .arg(&package)
            .arg("--key")
            .arg(r"keys\site.key")
            .arg("--out")
            .arg(&media),
    );
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let lines: Vec<&str> = signed.stdout.lines().collect();
    assert_eq!(
        lines[..2],
        [
            format!(
                "manifest: {} ({} files, {}; package export.xml.gz)",
                media.join("manifest.json").display(),
                files.len(),
                HumanBytes(bytes)
            ),
            format!(
                "signature: {} (key {})",
                media.join("manifest.json.minisig").display(),
                gap.key_id
            ),
        ],
        "{}",
        signed.stdout
    );

    let checked = gap.run(
        gap.command()
            .args(["manifest", "verify", "--quiet"])
            .arg(&media)
            .arg("--trust")
            .arg(r"keys\site.pub"),
    );
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert!(
        has_line(
            &checked.stdout,
            &format!("package: {}: intact", package.display())
        ),
        "{}",
        checked.stdout
    );
    assert_eq!(
        last_line(&checked.stdout),
        format!(
            "result: intact: {} files, {}",
            HumanCount(files.len() as u64),
            HumanBytes(bytes)
        )
    );

    let content = deep.join(r"disconnected\WsusContent");
    let state = deep.join(r"state\trust-state.json");
    let gate = |verb: &str| {
        let mut command = gap.gate_command(verb, &media, r"keys\site.pub", &content);
        command.arg("--state").arg(&state);
        command
    };
    gap.assert_ready(&gap.run(&mut gate("verify")));
    let imported = gap.run(gate("import").arg("--wsusutil").arg(r"tools\wsusutil.exe"));
    gap.assert_imported(
        &imported,
        &deep.join(r"disconnected\wsus-airgap-receipt.json"),
    );
    gap.assert_content_equal(&content);
    assert_eq!(gap.accepted_sequence(&state), 1);
    assert_eq!(
        fs::read_to_string(gap.record()).unwrap(),
        gap.import_record(&package, &state)
    );
}

/// Points the folders Windows names by environment variables at `root`'s `Program Files`,
/// `ProgramData` and `AppData\Local`, and lets the hash cache take its default place.
///
/// Wine sets every 64-bit program's `ProgramFiles` from `ProgramW6432`, whatever its parent
/// passed (as 64-bit Windows keeps both equal in a 64-bit program): so both are set.
fn windows_folders_in<'a>(command: &'a mut Command, root: &Path) -> &'a mut Command {
    command
        .env("ProgramFiles", root.join("Program Files"))
        .env("ProgramW6432", root.join("Program Files"))
        .env("ProgramData", root.join("ProgramData"))
        .env("LOCALAPPDATA", root.join(r"AppData\Local"))
        .env_remove("WSUS_AIRGAP_CACHE_DIR")
}

#[test]
fn wsusutil_trust_state_and_cache_default_to_program_files_program_data_and_local_app_data() {
    let dir = tempfile::tempdir().unwrap();
    let gap = Gap::new(dir.path(), 4);
    let root = gap.path("windows");
    let media = gap.path("media");
    let export = || {
        let mut command = gap.command();
        windows_folders_in(&mut command, &root)
            .args(["export", "--quiet", "--no-approvals", "--media"])
            .arg(&media)
            .args(["--content", r"connected\WsusContent"])
            .args(["--key", r"keys\site.key"]);
        gap.run(&mut command)
    };

    // Before WSUS is installed: the error names where wsusutil was looked for.
    let default_program = root.join(r"Program Files\Update Services\Tools\wsusutil.exe");
    let failed = export();
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    let first = failed.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "wsus-airgap: wsusutil failed: {}: cannot start: ",
            default_program.display()
        )),
        "{}",
        failed.stderr
    );
    assert!(!media.join("manifest.json.minisig").exists());

    fs::create_dir_all(default_program.parent().unwrap()).unwrap();
    install_stand_in(&default_program);
    gap.assert_exported(&export(), &media);

    let gate = |verb: &str| {
        let content = Path::new(r"disconnected\WsusContent");
        let mut command = gap.gate_command(verb, &media, r"keys\site.pub", content);
        windows_folders_in(&mut command, &root);
        command
    };
    let state = root.join(r"ProgramData\wsus-airgap\trust-state.json");
    gap.assert_ready(&gap.run(&mut gate("verify")));
    assert!(!state.exists(), "verifying wrote nothing");
    gap.assert_imported(
        &gap.run(&mut gate("import")),
        &gap.path(r"disconnected\wsus-airgap-receipt.json"),
    );
    gap.assert_content_equal(&gap.path(r"disconnected\WsusContent"));
    assert_eq!(gap.accepted_sequence(&state), 1);
    assert_eq!(
        fs::read_to_string(gap.record()).unwrap(),
        gap.import_record(&gap.path(r"media\export.xml.gz"), &state),
        "the default wsusutil imported"
    );

    // The default trust state is the one verify reads too: the same media is now old.
    let replayed = gap.run(&mut gate("verify"));
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    assert!(
        replayed.stderr.starts_with("wsus-airgap: refused: ")
            && replayed.stderr.contains("not newer than"),
        "{}",
        replayed.stderr
    );

    // The hash caches of the trees export and import copied into.
    let caches: Vec<String> = fs::read_dir(root.join(r"AppData\Local\wsus-airgap\cache"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!caches.is_empty());
    assert!(
        caches
            .iter()
            .all(|name| name.starts_with("hashes-") && name.ends_with(".bin")),
        "{caches:?}"
    );
    assert!(
        !gap.path("cache").exists(),
        "WSUS_AIRGAP_CACHE_DIR was not set"
    );
}
