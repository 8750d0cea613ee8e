//! A small harness for running the real `wsus-airgap` binary on generated sites.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

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

/// Runs `keygen` to write a key pair at `secret` and `public`, and checks that it did.
pub fn keygen(secret: &Path, public: &Path) {
    let made = run_command(
        Command::new(binary())
            .arg("keygen")
            .arg("--secret")
            .arg(secret)
            .arg("--public")
            .arg(public),
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
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
        let mut command = Command::new(binary());
        command
            .arg("check")
            .arg("--package")
            .arg(&self.package)
            .arg("--content")
            .arg(self.site.root())
            .args(more);
        run_command(&mut command)
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

/// SHA-1 of a file as upper-case hex, from an independent implementation where the platform
/// has one (coreutils `sha1sum` on Unix), otherwise from the `sha1` crate.
pub fn independent_sha1(path: &Path) -> String {
    if cfg!(unix) {
        let output = Command::new("sha1sum")
            .arg(path)
            .output()
            .expect("sha1sum is installed");
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()[..40].to_uppercase()
    } else {
        use sha1::{Digest, Sha1};
        let digest = Sha1::digest(std::fs::read(path).unwrap());
        digest.iter().map(|b| format!("{b:02X}")).collect()
    }
}

/// Validates the JSON document in `document` against `manifests/<schema>` with an
/// independent validator (Python's `jsonschema`, which CI installs).
/// The Windows build's tests run where there is no Python: there, this checks nothing.
pub fn assert_valid_against_schema(schema: &str, document: &Path) {
    if cfg!(windows) {
        return;
    }
    let schema = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("manifests")
        .join(schema);
    let validate = Command::new("python3")
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
