//! A small harness for running the real `wsus-airgap` binary on generated sites.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod oracle;
pub mod trip;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use wsus_airgap::synth::{self, ExportSpec, Site, SiteSpec, SyntheticExport};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout without the timing line, which differs from run to run.
    pub fn stable_stdout(&self) -> String {
        self.stdout
            .lines()
            .filter(|line| !line.starts_with("hashed in "))
            .map(|line| format!("{line}\n"))
            .collect()
    }
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wsus-airgap"))
}

/// The stand-in for wsusutil.exe: the binary, which started under the name `wsusutil` behaves
/// as the stand-in (see `src/main.rs`), placed as `wsusutil` (`wsusutil.exe` on Windows) in
/// `stand-in` below cargo's temporary folder for tests, once per test process, by absolute
/// path. On Unix it is a hard link where the file system allows one, elsewhere a copy. It is
/// placed under a name of this process's own and then renamed over the copy of a previous run,
/// so that a test process of another run that still starts that copy is not disturbed.
pub fn stand_in_wsusutil() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| stand_in("wsusutil"))
}

/// The stand-in for Windows PowerShell running the WSUS script (see
/// `src/synth/powershell.rs`), placed as [`stand_in_wsusutil`] is, as `powershell`
/// (`powershell.exe` on Windows). Its WSUS server is the file `WSUS_STANDIN_STATE` names.
pub fn stand_in_powershell() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| stand_in("powershell"))
}

/// This binary, placed as `name` in `stand-in` below cargo's temporary folder for tests.
fn stand_in(name: &str) -> PathBuf {
    let folder = std::path::absolute(Path::new(env!("CARGO_TARGET_TMPDIR")).join("stand-in"))
        .expect("the temporary folder for tests has an absolute path");
    fs::create_dir_all(&folder).unwrap();
    let suffix = std::env::consts::EXE_SUFFIX;
    let program = folder.join(format!("{name}{suffix}"));
    let staged = folder.join(format!("{name}-{}.new{suffix}", std::process::id()));
    let _ = fs::remove_file(&staged);
    if cfg!(windows) || fs::hard_link(binary(), &staged).is_err() {
        fs::copy(binary(), &staged).unwrap();
    }
    fs::rename(&staged, &program).unwrap();
    program
}

/// Runs the binary with `args` and collects what it did.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_command(Command::new(binary()).args(args))
}

pub fn run_command(command: &mut Command) -> Run {
    let output = command.output().expect("the binary runs");
    Run {
        code: output.status.code().expect("the binary exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `command` with its standard output a pipe whose reader has already gone, as with
/// `| head` after head has exited: the exit code and stderr.
pub fn run_into_closed_pipe(command: &mut Command) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = command
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("the binary runs");
    (
        output.status.code().expect("the binary exited, not killed"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// Runs `command` with both its standard output and its standard error one pipe whose reader
/// has already gone, as with `2>&1 | head` after head has exited: the exit code.
pub fn run_into_closed_pipes(command: &mut Command) -> i32 {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let status = command
        .stdout(writer.try_clone().expect("a second writer"))
        .stderr(writer)
        .status()
        .expect("the binary runs");
    status.code().expect("the binary exited, not killed")
}

/// Environment variables that change how the binary or the stand-ins behave.
const FAULTS: [&str; 9] = [
    "WSUSUTIL_FAIL",
    "WSUSUTIL_HANG",
    "WSUSUTIL_EMPTY_PACKAGE",
    "WSUSUTIL_SEED",
    "WSUS_AIRGAP_TEST_ABORT_AFTER_BYTES",
    "WSUS_STANDIN_STATE",
    "WSUS_STANDIN_FAIL",
    "WSUS_STANDIN_FAIL_AFTER",
    "WSUS_STANDIN_READY_AFTER",
];

/// The binary for the round trip: the hash cache in `cache`, the stand-in wsusutil exporting
/// `connected` and recording its imports in `record`, and no fault injected, so that a test
/// sets exactly the ones it means to.
pub fn transfer_command(cache: &Path, connected: &Path, record: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .env("WSUS_AIRGAP_CACHE_DIR", cache)
        .env("WSUSUTIL_CONTENT", connected)
        .env("WSUSUTIL_RECORD", record);
    for fault in FAULTS {
        command.env_remove(fault);
    }
    command
}

/// Everything below `root`, by path relative to it with `/`: files with their bytes, folders
/// as `None`. Empty when `root` does not exist.
pub fn snapshot(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut all = BTreeMap::new();
    if !root.exists() {
        return all;
    }
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.unwrap();
        let relative = entry
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let value = if entry.file_type().is_dir() {
            None
        } else {
            Some(fs::read(entry.path()).unwrap())
        };
        all.insert(relative, value);
    }
    all
}

/// The files below `root` with their bytes, as [`snapshot`] names them.
pub fn files_below(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter_map(|(path, bytes)| Some((path, bytes?)))
        .collect()
}

/// The paths of the files below `root`, as [`snapshot`] names them.
pub fn file_names_below(root: &Path) -> BTreeSet<String> {
    files_below(root).into_keys().collect()
}

/// Asserts that `actual` holds exactly the files of `expected`, byte for byte, naming the
/// paths that differ. Folders are not compared.
pub fn assert_same_files(expected: &Path, actual: &Path) {
    let (expected, actual) = (files_below(expected), files_below(actual));
    let differing: Vec<&String> = expected
        .keys()
        .chain(actual.keys())
        .filter(|path| expected.get(*path) != actual.get(*path))
        .collect();
    assert!(differing.is_empty(), "differ at {differing:?}");
}

pub fn has_line(text: &str, wanted: &str) -> bool {
    text.lines().any(|line| line == wanted)
}

pub fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

/// Runs `keygen` to write a key pair at `secret` and `public`, checks that it did, and
/// returns the key id it printed.
pub fn keygen(secret: &Path, public: &Path) -> String {
    let made = run_command(
        Command::new(binary())
            .arg("keygen")
            .arg("--secret")
            .arg(secret)
            .arg("--public")
            .arg(public),
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let key_id = made
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("key id: "))
        .expect("keygen prints the key id");
    assert_eq!(key_id.len(), 16, "{}", made.stdout);
    key_id.to_owned()
}

/// A temporary folder holding a generated `WsusContent`.
pub struct TestSite {
    pub dir: tempfile::TempDir,
    pub site: Site,
}

impl TestSite {
    pub fn new(spec: &SiteSpec) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let site = synth::generate(&dir.path().join("WsusContent"), spec).unwrap();
        TestSite { dir, site }
    }

    /// A few dozen small files, generated in milliseconds.
    pub fn small() -> Self {
        TestSite::new(&small_spec())
    }

    pub fn root(&self) -> &Path {
        &self.site.root
    }

    /// Index of the first file with this extension.
    pub fn index_of_extension(&self, extension: &str) -> usize {
        self.site
            .files
            .iter()
            .position(|f| f.path.ends_with(&format!(".{extension}")))
            .unwrap()
    }
}

/// A generated site and, beside it, an export package whose updates reference its files.
pub struct TestExport {
    pub site: TestSite,
    pub package: PathBuf,
    pub export: SyntheticExport,
}

impl TestExport {
    pub fn new(spec: &SiteSpec, export_spec: &ExportSpec) -> Self {
        let site = TestSite::new(spec);
        let package = site.dir.path().join("export.cab");
        let export = synth::write_export(&package, &site.site.files, export_spec).unwrap();
        TestExport {
            site,
            package,
            export,
        }
    }

    /// The small site, in a package with bundles, a second revision and two orphans.
    pub fn small() -> Self {
        TestExport::new(
            &small_spec(),
            &ExportSpec {
                unreferenced_files: 2,
                ..ExportSpec::default()
            },
        )
    }

    /// Index in the site of the file at `path`.
    pub fn index_of(&self, path: &str) -> usize {
        self.site
            .site
            .files
            .iter()
            .position(|f| f.path == path)
            .unwrap()
    }

    /// Runs `check` on the package and the site, with more arguments.
    pub fn check(&self, more: &[&str]) -> Run {
        run_command(&mut self.check_command(more))
    }

    /// The `check` command on the package and the site, with more arguments.
    pub fn check_command(&self, more: &[&str]) -> Command {
        let mut command = Command::new(binary());
        command
            .arg("check")
            .arg("--package")
            .arg(&self.package)
            .arg("--content")
            .arg(self.site.root())
            .args(more);
        command
    }
}

pub fn small_spec() -> SiteSpec {
    SiteSpec {
        files: 24,
        min_size: 1,
        max_size: 200_000,
        large_files: 2,
        large_size: 600_000,
        seed: 42,
    }
}

/// SHA-1 of a file as upper-case hex, from an independent implementation: coreutils'
/// `sha1sum` where it is installed, otherwise (with that cross-check skipped as [`tool`] says)
/// [`oracle::sha1_hex`], which shares no code with the program's.
pub fn independent_sha1(path: &Path) -> String {
    match tool("sha1sum") {
        Some(sha1sum) => {
            // The file on standard input: sha1sum escapes some names in what it prints.
            let output = Command::new(sha1sum)
                .stdin(fs::File::open(path).unwrap())
                .output()
                .unwrap();
            assert!(output.status.success());
            String::from_utf8(output.stdout).unwrap()[..40].to_uppercase()
        }
        None => oracle::sha1_hex(&fs::read(path).unwrap()),
    }
}

/// BLAKE3 of a file as lower-case hex, from an independent implementation: `b3sum` where it
/// is installed, otherwise (with that cross-check skipped as [`tool`] says)
/// [`oracle::blake3_hex`], which shares no code with the program's.
pub fn independent_blake3(path: &Path) -> String {
    match tool("b3sum") {
        Some(b3sum) => {
            let output = Command::new(b3sum)
                .arg("--no-names")
                .arg(path)
                .output()
                .unwrap();
            assert!(output.status.success());
            String::from_utf8(output.stdout).unwrap().trim().to_owned()
        }
        None => oracle::blake3_hex(&fs::read(path).unwrap()),
    }
}

/// Where a missing tool fails the tests instead of skipping their cross-checks: set to `1`.
pub const REQUIRE_TOOLS: &str = "WSUS_AIRGAP_REQUIRE_TOOLS";

/// The external program `name` a test cross-checks with (`b3sum`, `minisign`, `cabextract`,
/// ...): its path, found on `PATH` as the system would find it. When it is not there, the
/// cross-check is skipped: this prints, on the test process's standard error and once per
/// test (each test runs on a thread of its own),
///
/// ```text
/// skipped: NAME not installed (set WSUS_AIRGAP_REQUIRE_TOOLS=1 to require it)
/// ```
///
/// and returns `None`, and the test goes on without it. With `WSUS_AIRGAP_REQUIRE_TOOLS=1`
/// it panics instead, failing the test.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = find_program(name);
    if found.is_none() {
        skip_or_fail(name);
    }
    found
}

/// Python with its `jsonschema` module, for validating reports against their schemas: the
/// `python3` that can import it, or `None` as [`tool`] says (named `jsonschema`).
pub fn python_with_jsonschema() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    let found = FOUND
        .get_or_init(|| {
            find_program("python3").filter(|python| {
                Command::new(python)
                    .args(["-c", "import jsonschema"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|status| status.success())
            })
        })
        .clone();
    if found.is_none() {
        skip_or_fail("jsonschema");
    }
    found
}

/// The first program called `name` in a folder of `PATH`: a file that the system would run
/// (executable on Unix; `NAME.exe` on Windows).
fn find_program(name: &str) -> Option<PathBuf> {
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH")?)
        .filter(|folder| !folder.as_os_str().is_empty())
        .map(|folder| folder.join(&file))
        .find(|path| {
            fs::metadata(path).is_ok_and(|metadata| {
                #[cfg(unix)]
                let runs =
                    std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o111 != 0;
                #[cfg(not(unix))]
                let runs = true;
                metadata.is_file() && runs
            })
        })
}

/// `name` is missing: fails the test when [`REQUIRE_TOOLS`] is `1`, otherwise says, once per
/// test, that its cross-check is skipped.
fn skip_or_fail(name: &str) {
    if std::env::var_os(REQUIRE_TOOLS).is_some_and(|value| value == "1") {
        panic!("{name} is not installed, and {REQUIRE_TOOLS}=1 requires it");
    }
    thread_local! {
        static SKIPPED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
    }
    if SKIPPED.with_borrow_mut(|skipped| skipped.insert(name.to_owned())) {
        let line = format!("skipped: {name} not installed (set {REQUIRE_TOOLS}=1 to require it)\n");
        // Written to the process's standard error itself, past the test harness's capture, so
        // that a run where every test passes still shows what it did not check; one write, so
        // that lines of tests running at once do not mix.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

/// Makes every file below `root` read-only and hidden, as media copied from a DVD or by
/// robocopy may be. (Wine's `attrib` sets no hidden attribute, so SetFileAttributesW does.)
/// Dropping the guard makes them writable again: Wine, unlike Windows 10, cannot remove a
/// read-only file, and so the test's temporary folder.
#[cfg(windows)]
#[must_use]
pub fn make_read_only_and_hidden(root: &Path) -> WritableAgain {
    use std::os::windows::ffi::OsStrExt;
    use std::os::windows::fs::MetadataExt;
    use windows_sys::Win32::Storage::FileSystem::{
        FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_READONLY, SetFileAttributesW,
    };
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let mut permissions = std::fs::metadata(path).unwrap().permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(path, permissions).unwrap();
        let wide: Vec<u16> = path.as_os_str().encode_wide().chain([0]).collect();
        let attributes = std::fs::metadata(path).unwrap().file_attributes() | FILE_ATTRIBUTE_HIDDEN;
        // SAFETY: `wide` is a NUL-terminated path.
        assert_ne!(unsafe { SetFileAttributesW(wide.as_ptr(), attributes) }, 0);
        let attributes = std::fs::metadata(path).unwrap().file_attributes();
        let both = FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_HIDDEN;
        assert_eq!(attributes & both, both, "{}", path.display());
    }
    WritableAgain(root.to_owned())
}

/// Clears the read-only attribute of every file below its folder when dropped.
#[cfg(windows)]
pub struct WritableAgain(PathBuf);

#[cfg(windows)]
impl Drop for WritableAgain {
    fn drop(&mut self) {
        for entry in walkdir::WalkDir::new(&self.0).into_iter().flatten() {
            if let Ok(metadata) = entry.metadata()
                && metadata.is_file()
            {
                let mut permissions = metadata.permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                permissions.set_readonly(false);
                let _ = std::fs::set_permissions(entry.path(), permissions);
            }
        }
    }
}

/// The files below `root` that are read-only or hidden, relative to it.
#[cfg(windows)]
pub fn read_only_or_hidden_files(root: &Path) -> Vec<PathBuf> {
    use std::os::windows::fs::MetadataExt;
    use windows_sys::Win32::Storage::FileSystem::{FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_READONLY};
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(Result::unwrap)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| {
            let attributes = entry.metadata().unwrap().file_attributes();
            attributes & (FILE_ATTRIBUTE_READONLY | FILE_ATTRIBUTE_HIDDEN) != 0
        })
        .map(|entry| entry.path().strip_prefix(root).unwrap().to_owned())
        .collect()
}

/// Validates the JSON document in `document` against `manifests/<schema>` with an
/// independent validator (Python's `jsonschema`), skipped as [`tool`] says where it is not
/// installed.
pub fn assert_valid_against_schema(schema: &str, document: &Path) {
    let Some(python) = python_with_jsonschema() else {
        return;
    };
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("manifests")
        .join(schema);
    let validate = Command::new(python)
        .arg("-c")
        .arg(
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2])))\n",
        )
        .arg(&schema)
        .arg(document)
        .output()
        .expect("python3 runs");
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
}

/// Makes `link`, a symbolic link to `target` (a folder link on Windows when `target` is a
/// folder).
pub fn symlink(target: &Path, link: &Path) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, link).unwrap();
    #[cfg(windows)]
    if target.is_dir() {
        std::os::windows::fs::symlink_dir(target, link).unwrap();
    } else {
        std::os::windows::fs::symlink_file(target, link).unwrap();
    }
}
