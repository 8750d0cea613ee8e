//! The ordering rules of the transfer workflows, tested through the library: each workflow
//! runs with a sink that records every step together with what the disk held at that moment,
//! and imports run the stand-in wsusutil (this crate's binary under that name).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use support::{TestExport, snapshot, stand_in_wsusutil};
use wsus_airgap::manifest::keys;
use wsus_airgap::manifest::verify::VerifyError;
use wsus_airgap::manifest::{MANIFEST_FILE, SIGNATURE_FILE, TransferMode};
use wsus_airgap::progress::{Phase, Phases};
use wsus_airgap::synth::ExportSpec;
use wsus_airgap::transfer::{
    self, Events, ExportOptions, ImportOptions, Outcome, PackageSource, Refusal, Step,
    TransferError,
};

/// A connected site with its package, a key, media to write, and an empty disconnected site.
struct Sites {
    dir: tempfile::TempDir,
    connected: TestExport,
}

impl Sites {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let connected = TestExport::new(&support::small_spec(), &ExportSpec::default());
        fs::create_dir_all(dir.path().join("disconnected/WsusContent")).unwrap();
        keys::generate(
            &dir.path().join("site.key"),
            &dir.path().join("site.pub"),
            false,
        )
        .unwrap();
        Sites { dir, connected }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn media(&self) -> PathBuf {
        self.path("media")
    }

    fn sequence_file(&self) -> PathBuf {
        self.path("site.key.sequence")
    }

    fn content(&self) -> PathBuf {
        self.path("disconnected/WsusContent")
    }

    fn receipt(&self) -> PathBuf {
        self.path("disconnected/wsus-airgap-receipt.json")
    }

    fn import_log(&self) -> PathBuf {
        self.path("disconnected/wsusutil-import.log")
    }

    fn state(&self) -> PathBuf {
        self.path("trust-state.json")
    }

    fn export_options(&self) -> ExportOptions {
        ExportOptions {
            content: self.connected.site.root().to_owned(),
            media: self.media(),
            key: self.path("site.key"),
            package: PackageSource::Given(self.connected.package.clone()),
            mode: TransferMode::Incremental,
            since: None,
            expires_in_days: 30,
            sequence: None,
            allow_gaps: false,
            wsus: wsus_airgap::wsus::StateSource::Skip,
            dry_run: false,
            host: "connected".to_owned(),
            now: SystemTime::now(),
            cache_folder: None,
            jobs: None,
        }
    }

    fn import_options(&self) -> ImportOptions {
        ImportOptions {
            media: self.media(),
            trust: self.path("site.pub"),
            content: self.content(),
            wsusutil: stand_in_wsusutil().to_owned(),
            reset: false,
            state: self.state(),
            dry_run: false,
            max_delete: None,
            quarantine: None,
            now: SystemTime::now(),
            cache_folder: None,
            jobs: None,
        }
    }

    /// Exports to the media, which must succeed.
    fn exported(self) -> Self {
        let outcome = transfer::export(&self.export_options(), &Recorder::new(String::new));
        assert!(matches!(outcome, Ok(Outcome::Done(_))), "{outcome:?}");
        self
    }

    /// What nothing but a successful import may change: the content folder, the receipt,
    /// wsusutil's log, and the sequences the trust state accepted.
    fn disconnected_side(&self) -> Vec<Option<Vec<u8>>> {
        let mut all: Vec<_> = snapshot(&self.content()).into_values().collect();
        for file in [self.receipt(), self.import_log()] {
            all.push(fs::read(file).ok());
        }
        all.push(
            self.accepted()
                .map(|sequence| sequence.to_string().into_bytes()),
        );
        all
    }

    /// The last sequence the trust state accepted from the key.
    fn accepted(&self) -> Option<u64> {
        let text = fs::read_to_string(self.state()).ok()?;
        let state: serde_json::Value = serde_json::from_str(&text).unwrap();
        state["keys"].as_object()?.values().next()?["sequence"].as_u64()
    }
}

/// Records each step by the name of its kind, followed by what `observe` saw when it came.
struct Recorder<F> {
    steps: Mutex<Vec<String>>,
    observe: F,
}

impl<F: Fn() -> String + Sync> Recorder<F> {
    fn new(observe: F) -> Self {
        Recorder {
            steps: Mutex::new(Vec::new()),
            observe,
        }
    }

    fn steps(&self) -> Vec<String> {
        self.steps.lock().unwrap().clone()
    }
}

impl<F: Fn() -> String + Sync> Phases for Recorder<F> {}

impl<F: Fn() -> String + Sync> Events for Recorder<F> {
    fn step(&self, step: &Step<'_>) {
        let debug = format!("{step:?}");
        let name = debug
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap()
            .to_owned();
        let observed = (self.observe)();
        let line = if observed.is_empty() {
            name
        } else {
            format!("{name}: {observed}")
        };
        self.steps.lock().unwrap().push(line);
    }
}

fn exists(path: &Path) -> &'static str {
    if path.exists() { "yes" } else { "no" }
}

#[test]
fn export_removes_an_old_signature_first_signs_last_and_records_the_sequence_after_signing() {
    let sites = Sites::new();
    let media = sites.media();
    fs::create_dir_all(&media).unwrap();
    fs::write(media.join(SIGNATURE_FILE), "an earlier signature").unwrap();
    let recorder = Recorder::new(|| {
        format!(
            "manifest {}, signature {}, sequence {}",
            exists(&media.join(MANIFEST_FILE)),
            exists(&media.join(SIGNATURE_FILE)),
            fs::read_to_string(sites.sequence_file()).unwrap_or_else(|_| "none\n".into())
        )
    });

    let outcome = transfer::export(&sites.export_options(), &recorder).unwrap();

    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert_eq!(
        recorder.steps(),
        [
            "ExportStarted: manifest no, signature yes, sequence none\n",
            "PackageRead: manifest no, signature no, sequence none\n",
            "Staged: manifest no, signature no, sequence none\n",
            "Signed: manifest yes, signature yes, sequence 1\n",
        ]
    );
}

#[test]
fn an_export_that_cannot_write_its_manifest_signs_nothing_and_records_no_sequence() {
    let sites = Sites::new();
    fs::create_dir_all(sites.media().join(MANIFEST_FILE)).unwrap();
    let recorder = Recorder::new(String::new);

    let result = transfer::export(&sites.export_options(), &recorder);

    assert!(
        matches!(result, Err(TransferError::Create(_))),
        "{result:?}"
    );
    assert!(!sites.media().join(SIGNATURE_FILE).exists());
    assert!(!sites.sequence_file().exists());
    assert!(!recorder.steps().contains(&"Signed".to_owned()));
}

#[test]
fn import_runs_wsusutil_after_the_copy_and_records_only_after_wsusutil() {
    let sites = Sites::new().exported();
    let recorder = Recorder::new(|| {
        format!(
            "content files {}, wsusutil log {}, accepted {:?}, receipt {}",
            snapshot(&sites.content()).len(),
            exists(&sites.import_log()),
            sites.accepted(),
            exists(&sites.receipt()),
        )
    });

    let outcome = transfer::import(&sites.import_options(), &recorder).unwrap();

    let Outcome::Done(imported) = outcome else {
        panic!("{outcome:?}")
    };
    let files = snapshot(&sites.content()).len();
    assert!(files > 0);
    assert_eq!(
        recorder.steps(),
        [
            "ImportStarted: content files 0, wsusutil log no, accepted None, receipt no".to_owned(),
            "Verified: content files 0, wsusutil log no, accepted None, receipt no".to_owned(),
            format!("Copied: content files {files}, wsusutil log no, accepted None, receipt no"),
            format!(
                "WsusutilStarted: content files {files}, wsusutil log no, accepted None, receipt no"
            ),
            format!(
                "WsusutilEnded: content files {files}, wsusutil log yes, accepted None, receipt no"
            ),
            format!(
                "Imported: content files {files}, wsusutil log yes, accepted Some(1), receipt yes"
            ),
        ]
    );
    assert_eq!(imported.receipt.as_deref(), Some(sites.receipt().as_path()));
    assert_eq!(sites.accepted(), Some(1));
}

#[test]
fn an_import_that_could_not_be_recorded_never_runs_wsusutil() {
    let sites = Sites::new().exported();
    // A trust state whose folder is a file.
    fs::write(sites.path("not-a-folder"), "").unwrap();
    let unwritable_state = ImportOptions {
        state: sites.path("not-a-folder/trust-state.json"),
        ..sites.import_options()
    };
    assert_not_started(&sites, &unwritable_state);
    // A receipt that would have to replace a folder.
    fs::create_dir_all(sites.receipt()).unwrap();
    assert_not_started(&sites, &sites.import_options());
}

/// Asserts that an import with `options` stops as unrecordable before it changes anything.
fn assert_not_started(sites: &Sites, options: &ImportOptions) {
    let before = sites.disconnected_side();
    let recorder = Recorder::new(String::new);

    let result = transfer::import(options, &recorder);

    assert!(
        matches!(result, Err(TransferError::Unrecordable(_))),
        "{result:?}"
    );
    assert_eq!(recorder.steps(), ["ImportStarted"]);
    assert_eq!(sites.disconnected_side(), before);
}

#[test]
fn a_refused_import_changes_nothing() {
    let sites = Sites::new().exported();
    let victim = sites.connected.site.site.files[0].path.clone();
    let on_media = sites.media().join("WsusContent").join(&victim);
    let original = fs::read(&on_media).unwrap();
    let mut tampered = original.clone();
    tampered[0] ^= 1;
    fs::write(&on_media, &tampered).unwrap();
    let before = sites.disconnected_side();
    let recorder = Recorder::new(String::new);

    let outcome = transfer::import(&sites.import_options(), &recorder).unwrap();

    let Outcome::Refused(Refusal::Media { contents, .. }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(contents.changed.len(), 1);
    assert_eq!(contents.changed[0].path, victim);
    assert_eq!(recorder.steps(), ["ImportStarted"]);
    assert_eq!(sites.disconnected_side(), before);

    // Repaired, it imports; the same media again is imported already, changing nothing.
    fs::write(&on_media, &original).unwrap();
    let outcome = transfer::import(&sites.import_options(), &Recorder::new(String::new));
    assert!(matches!(outcome, Ok(Outcome::Done(_))), "{outcome:?}");
    let before = sites.disconnected_side();
    let outcome = transfer::import(&sites.import_options(), &Recorder::new(String::new)).unwrap();
    assert!(
        matches!(&outcome, Outcome::Done(again) if again.already_imported.is_some()),
        "{outcome:?}"
    );
    assert_eq!(sites.disconnected_side(), before);
}

#[test]
fn a_failed_wsusutil_leaves_the_trust_state_and_the_receipt_as_they_were() {
    let sites = Sites::new().exported();
    let options = ImportOptions {
        wsusutil: sites.path("no-such-wsusutil"),
        ..sites.import_options()
    };
    let recorder = Recorder::new(String::new);

    let result = transfer::import(&options, &recorder);

    assert!(
        matches!(result, Err(TransferError::Wsusutil(_))),
        "{result:?}"
    );
    assert_eq!(
        recorder.steps(),
        [
            "ImportStarted",
            "Verified",
            "Copied",
            "WsusutilStarted",
            "WsusutilEnded"
        ]
    );
    assert!(!sites.receipt().exists());
    assert_eq!(sites.accepted(), None);
}

/// Replaces the file at `target` with the bytes of `replacement` when the workflow reaches the
/// step named `at_step` or starts the stage `at_phase`, as someone with write access to the
/// media might: the tool must by then hold the bytes it verified.
struct SwapAt {
    at_step: Option<&'static str>,
    at_phase: Option<Phase>,
    target: PathBuf,
    replacement: Vec<u8>,
    swapped: Mutex<bool>,
}

impl SwapAt {
    fn new(target: PathBuf, replacement: Vec<u8>) -> Self {
        SwapAt {
            at_step: None,
            at_phase: None,
            target,
            replacement,
            swapped: Mutex::new(false),
        }
    }

    fn swap(&self) {
        let mut swapped = self.swapped.lock().unwrap();
        if !*swapped {
            // A rename over it, as a script would: a new file under the old name.
            let staged = self.target.with_extension("swap");
            fs::write(&staged, &self.replacement).unwrap();
            fs::rename(&staged, &self.target).unwrap();
            *swapped = true;
        }
    }

    fn swapped(&self) -> bool {
        *self.swapped.lock().unwrap()
    }
}

impl Phases for SwapAt {
    fn progress(&self, phase: Phase) -> Box<dyn wsus_airgap::progress::Progress + '_> {
        if self.at_phase == Some(phase) {
            self.swap();
        }
        Box::new(wsus_airgap::progress::NoProgress)
    }
}

impl Events for SwapAt {
    fn step(&self, step: &Step<'_>) {
        let debug = format!("{step:?}");
        if self.at_step.is_some_and(|name| debug.starts_with(name)) {
            self.swap();
        }
    }
}

/// A valid package other than the one the sites export: another site's.
fn another_package() -> Vec<u8> {
    let other = TestExport::new(
        &wsus_airgap::synth::SiteSpec {
            seed: 7,
            ..support::small_spec()
        },
        &ExportSpec {
            seed: 7,
            ..ExportSpec::default()
        },
    );
    fs::read(&other.package).unwrap()
}

/// The BLAKE3 of the package wsusutil imported, as the stand-in logs it.
fn imported_package_blake3(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains(" Package "))
        .unwrap_or_else(|| panic!("no package line in:\n{text}"));
    let (_, hash) = line.rsplit_once("(BLAKE3 ").unwrap();
    hash.trim_end_matches(')').to_owned()
}

#[test]
fn a_package_swapped_on_the_media_after_the_gate_never_reaches_wsusutil() {
    for at_step in ["Verified", "Copied", "WsusutilStarted"] {
        let sites = Sites::new().exported();
        let on_media = sites.media().join("export.cab");
        let verified = support::oracle::blake3_hex(&fs::read(&on_media).unwrap());
        let swap = SwapAt {
            at_step: Some(at_step),
            ..SwapAt::new(on_media.clone(), another_package())
        };

        let outcome = transfer::import(&sites.import_options(), &swap);

        assert!(matches!(outcome, Ok(Outcome::Done(_))), "{outcome:?}");
        assert!(swap.swapped(), "{at_step}");
        assert_eq!(
            imported_package_blake3(&sites.import_log()),
            verified,
            "swapped at {at_step}"
        );
        let log = fs::read_to_string(sites.import_log()).unwrap();
        assert!(
            !log.contains(&on_media.display().to_string()),
            "wsusutil was handed the media's package: {log}"
        );
        let private = transfer::import::package_folder_of(&sites.state());
        assert!(log.contains(&private.display().to_string()), "{log}");
        assert!(!private.exists(), "the private copy is left behind");
    }
}

#[test]
fn export_signs_the_package_it_read_even_if_the_media_copy_is_swapped() {
    let sites = Sites::new();
    let given = fs::read(&sites.connected.package).unwrap();
    let swap = SwapAt {
        at_phase: Some(Phase::Hashing),
        ..SwapAt::new(sites.media().join("export.cab"), another_package())
    };

    let outcome = transfer::export(&sites.export_options(), &swap).unwrap();

    let Outcome::Done(exported) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(swap.swapped());
    let package = exported.manifest.package.expect("a package");
    assert_eq!(package.size, given.len() as u64);
    assert_eq!(
        package.blake3.to_string(),
        support::oracle::blake3_hex(&given)
    );
}

/// Links on the media are refused as the content's links are, never followed: the content
/// folder, the manifest, its signature and the package, each a link to the real thing
/// elsewhere.
#[cfg_attr(
    windows,
    ignore = "Wine, where the Windows tests run, makes no usable link (it reports success and leaves nothing)"
)]
#[test]
fn links_on_the_media_are_refused_and_never_followed() {
    for name in ["WsusContent", MANIFEST_FILE, SIGNATURE_FILE, "export.cab"] {
        let sites = Sites::new().exported();
        let on_media = sites.media().join(name);
        let elsewhere = sites.path("elsewhere");
        fs::rename(&on_media, &elsewhere).unwrap();
        support::symlink(&elsewhere, &on_media);
        let before = sites.disconnected_side();

        let outcome = transfer::import(&sites.import_options(), &Recorder::new(String::new));

        let refused = match outcome {
            Ok(Outcome::Refused(refusal)) => refusal,
            Ok(Outcome::Done(_)) => panic!("{name}: imported through the link"),
            Err(error) => panic!("{name}: {error}"),
        };
        let named = refused
            .files()
            .iter()
            .any(|file| file.path == name && ["link", "changed"].contains(&file.problem));
        let said = refused.to_string();
        assert!(named || said.contains("link"), "{name}: {said}");
        assert_eq!(sites.disconnected_side(), before, "{name}");
        assert_eq!(sites.accepted(), None, "{name}");
    }
}

/// A kill after wsusutil ran but before the receipt was written: the same media again is
/// "already imported", changes nothing and writes the missing receipt; another manifest
/// with that sequence is still refused as replayed.
#[test]
fn the_manifest_last_accepted_is_already_imported_and_its_missing_receipt_rewritten() {
    let sites = Sites::new().exported();
    let first = transfer::import(&sites.import_options(), &Recorder::new(String::new));
    assert!(matches!(first, Ok(Outcome::Done(_))), "{first:?}");
    let receipt = fs::read(sites.receipt()).unwrap();
    fs::remove_file(sites.receipt()).unwrap();
    let state = fs::read(sites.state()).unwrap();
    let log = fs::read(sites.import_log()).unwrap();
    let recorder = Recorder::new(String::new);

    let outcome = transfer::import(&sites.import_options(), &recorder).unwrap();

    let Outcome::Done(again) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(again.already_imported.is_some(), "{again:?}");
    assert_eq!(
        recorder.steps(),
        ["ImportStarted", "Verified", "AlreadyImported"]
    );
    assert_eq!(
        fs::read(sites.receipt()).unwrap(),
        receipt,
        "rewritten as it was"
    );
    assert_eq!(fs::read(sites.state()).unwrap(), state);
    assert_eq!(
        fs::read(sites.import_log()).unwrap(),
        log,
        "wsusutil ran again"
    );

    // Another manifest signed with the same sequence is not the one accepted.
    let resigned = ExportOptions {
        sequence: Some(1),
        now: SystemTime::now() + std::time::Duration::from_secs(5),
        ..sites.export_options()
    };
    let outcome = transfer::export(&resigned, &Recorder::new(String::new));
    assert!(matches!(outcome, Ok(Outcome::Done(_))), "{outcome:?}");
    let outcome = transfer::import(&sites.import_options(), &Recorder::new(String::new)).unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::Refused(Refusal::Manifest(VerifyError::Replayed { .. }))
        ),
        "{outcome:?}"
    );
    assert_eq!(fs::read(sites.state()).unwrap(), state);
}
