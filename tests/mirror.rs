//! `wsus-airgap mirror` on generated trees: agreement with rsync, the plan as the truth,
//! interrupted runs that converge, and every safety brake.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use support::{Run, run_command, snapshot};
use wsus_airgap::atomic_file::is_temporary_name;
use wsus_airgap::synth::SplitMix64;

/// A source and a destination folder side by side, and a private hash cache folder.
struct Sides {
    dir: tempfile::TempDir,
}

impl Sides {
    fn new() -> Self {
        Sides {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn source(&self) -> PathBuf {
        self.path("source")
    }

    fn destination(&self) -> PathBuf {
        self.path("destination")
    }

    /// `mirror SOURCE DEST` with more arguments.
    fn mirror(&self, more: &[&str]) -> Run {
        run_command(&mut self.command(&self.destination(), more))
    }

    fn command(&self, destination: &Path, more: &[&str]) -> Command {
        let mut command = Command::new(support::binary());
        command
            .env("WSUS_AIRGAP_CACHE_DIR", self.path("cache"))
            .arg("mirror")
            .arg("--quiet")
            .arg(self.source())
            .arg(destination)
            .args(more);
        command
    }
}

/// Writes `bytes` at `relative` below `root`, with an old modification time, so that a
/// same-size change written later differs in time as well (as rsync needs to notice it).
fn write(root: &Path, relative: &str, bytes: &[u8], old: bool) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, bytes).unwrap();
    if old {
        let file = fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000))
            .unwrap();
    }
}

/// True for a path (as [`snapshot`] names it) whose file name is one of the tool's temporary
/// files.
fn is_temporary(path: &str) -> bool {
    is_temporary_name(path.rsplit('/').next().unwrap_or(path))
}

fn random_bytes(random: &mut SplitMix64, size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    random.fill(&mut bytes);
    bytes
}

/// A random source tree (nested and empty folders, files of many sizes, all old) and a
/// destination that is an older, edited copy of it: some files missing, some changed at the
/// same size, some changed in size, extra files and folders.
fn random_sides(seed: u64) -> Sides {
    let sides = Sides::new();
    let mut random = SplitMix64(seed);
    let (source, destination) = (sides.source(), sides.destination());
    fs::create_dir_all(&source).unwrap();
    fs::create_dir_all(&destination).unwrap();
    write(&source, "anonymousCheckFile.txt", b"", true);
    for index in 0..60 {
        let depth = 1 + random.next() % 3;
        let folders: Vec<String> = (0..depth)
            .map(|_| format!("{:02X}", random.next() % 6))
            .collect();
        let relative = format!("{}/file{index}.cab", folders.join("/"));
        let size = (random.next() % 5000) as usize;
        let bytes = random_bytes(&mut random, size);
        write(&source, &relative, &bytes, true);
        match random.next() % 6 {
            0 => {} // the destination lacks it
            1 if size > 0 => {
                let mut changed = bytes.clone();
                changed[size / 2] ^= 0xFF;
                write(&destination, &relative, &changed, false);
            }
            2 => write(
                &destination,
                &relative,
                &random_bytes(&mut random, size + 7),
                false,
            ),
            _ => {
                let path = destination.join(&relative);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::copy(source.join(&relative), &path).unwrap();
            }
        }
    }
    fs::create_dir_all(source.join("empty/nested")).unwrap();
    fs::create_dir_all(source.join("0A/empty")).unwrap();
    for index in 0..8 {
        let relative = format!("{:02X}/gone{index}.cab", 10 + random.next() % 3);
        write(
            &destination,
            &relative,
            &random_bytes(&mut random, 100),
            false,
        );
    }
    fs::create_dir_all(destination.join("old/empty")).unwrap();
    sides
}

/// A copy of the tree at `from` in a new folder `to`, times kept (`cp -a`, with the rsync it
/// is compared with).
fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

fn rsync(rsync: &Path, source: &Path, destination: &Path, delete: bool) {
    let mut command = Command::new(rsync);
    command.arg("-a");
    if delete {
        command.arg("--delete");
    }
    let status = command
        .arg(format!("{}/", source.display()))
        .arg(format!("{}/", destination.display()))
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg_attr(
    windows,
    ignore = "rsync is a Linux program here: the Linux run compares"
)]
#[test]
fn incremental_equals_rsync_a_and_mirror_equals_rsync_a_delete() {
    let Some(rsync_program) = support::tool("rsync") else {
        return;
    };
    for seed in 1..=6 {
        let sides = random_sides(seed);
        let source_before = snapshot(&sides.source());
        for (mode, delete) in [("incremental", false), ("mirror", true)] {
            let ours = sides.path(&format!("ours-{mode}"));
            let theirs = sides.path(&format!("rsync-{mode}"));
            copy_tree(&sides.destination(), &ours);
            copy_tree(&sides.destination(), &theirs);
            let run = run_command(&mut sides.command(&ours, &["--mode", mode]));
            assert_eq!(run.code, 0, "seed {seed} {mode}: {}", run.stderr);
            rsync(&rsync_program, &sides.source(), &theirs, delete);
            let (ours, theirs) = (snapshot(&ours), snapshot(&theirs));
            let differing: Vec<&String> = ours
                .keys()
                .chain(theirs.keys())
                .filter(|key| ours.get(*key) != theirs.get(*key))
                .collect();
            assert!(
                differing.is_empty(),
                "seed {seed} {mode}: differ at {differing:?}"
            );
            // A second run finds nothing to do.
            let again = run_command(
                &mut sides.command(&sides.path(&format!("ours-{mode}")), &["--mode", mode]),
            );
            assert!(again.stdout.starts_with("planned ("), "{}", again.stdout);
        }
        assert!(
            snapshot(&sides.source()) == source_before,
            "the source is untouched"
        );
    }
}

#[test]
fn a_real_run_does_exactly_what_its_dry_run_printed() {
    let sides = if cfg!(unix) {
        random_sides(9)
    } else {
        small_sides()
    };
    let action_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.starts_with(['+', '*', '-', '>']))
            .map(str::to_owned)
            .collect()
    };
    let dry = sides.mirror(&["--mode", "mirror", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.ends_with("dry run: nothing was changed\n"));
    let before = snapshot(&sides.destination());
    let real = sides.mirror(&["--mode", "mirror"]);
    assert_eq!(real.code, 0, "{}", real.stderr);
    let planned = action_lines(&dry.stdout);
    assert!(planned.iter().any(|l| l.starts_with("+ copy ")));
    assert!(planned.iter().any(|l| l.starts_with("* replace ")));
    assert!(planned.iter().any(|l| l.starts_with("- delete ")));
    assert_eq!(action_lines(&real.stdout), planned);
    assert_ne!(snapshot(&sides.destination()), before);
    assert!(real.stdout.ends_with("result: done\n"));
    // Copies keep the source's modification time.
    let modified = |path: &Path| fs::metadata(path).unwrap().modified().unwrap();
    for line in planned
        .iter()
        .filter(|l| l.starts_with("+ copy ") || l.starts_with("* replace "))
    {
        let path = line.split(' ').nth(2).unwrap();
        assert_eq!(
            modified(&sides.destination().join(path)),
            modified(&sides.source().join(path)),
            "{path}"
        );
    }
}

/// Windows has no rsync and no `cp -a`: a small hand-made pair of sides.
fn small_sides() -> Sides {
    let sides = Sides::new();
    let (source, destination) = (sides.source(), sides.destination());
    write(&source, "00/new.cab", b"new", true);
    write(&source, "01/same.cab", b"same", true);
    write(&source, "02/changed.cab", b"abcd", true);
    write(&destination, "01/same.cab", b"same", true);
    write(&destination, "02/changed.cab", b"abcX", false);
    write(&destination, "03/extra.cab", b"extra", false);
    sides
}

#[test]
fn an_interrupted_copy_converges_on_the_next_run_and_leaves_no_temporary_file() {
    let sides = Sides::new();
    let source = sides.source();
    let mut random = SplitMix64(5);
    for index in 0..6 {
        write(
            &source,
            &format!("0{index}/big{index}.cab"),
            &random_bytes(&mut random, 1 << 20),
            true,
        );
    }
    let source_before = snapshot(&source);
    let output = sides
        .command(&sides.destination(), &[])
        .env(
            "WSUS_AIRGAP_TEST_ABORT_AFTER_BYTES",
            (2_500_000).to_string(),
        )
        .output()
        .unwrap();
    assert!(!output.status.success(), "the run was aborted");
    // Whatever was renamed into place is whole; the file in flight is not in place.
    let partial = snapshot(&sides.destination());
    for (path, value) in &partial {
        if let Some(bytes) = value
            && !is_temporary(path)
        {
            assert_eq!(Some(bytes), source_before[path].as_ref(), "{path}");
        }
    }
    assert!(
        partial.keys().any(|p| is_temporary(p)),
        "a temporary file was left"
    );

    let rerun = sides.mirror(&[]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(rerun.stdout.lines().any(|l| l.starts_with("- temporary ")));
    let after = snapshot(&sides.destination());
    assert!(!after.keys().any(|p| is_temporary(p)));
    assert!(after == source_before, "the destination converged");
    assert!(
        snapshot(&source) == source_before,
        "the source is untouched"
    );
}

#[test]
fn a_killed_run_converges_on_the_next_run() {
    let sides = Sides::new();
    let source = sides.source();
    let mut random = SplitMix64(6);
    for index in 0..40 {
        write(
            &source,
            &format!("{:02X}/f{index}.cab", index % 7),
            &random_bytes(&mut random, 1 << 20),
            true,
        );
    }
    let source_before = snapshot(&source);
    let mut child = sides.command(&sides.destination(), &[]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(40));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let rerun = sides.mirror(&[]);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert!(snapshot(&sides.destination()) == source_before);
    assert!(snapshot(&source) == source_before);
}

/// `--max-delete N` allows exactly N deletions: the brake stops N + 1, not N.
#[test]
fn exactly_max_delete_deletions_are_made() {
    let sides = small_sides();
    let run = sides.mirror(&["--mode", "mirror", "--max-delete", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("- delete 03/extra.cab ("),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("result: done\n"), "{}", run.stdout);
    assert!(!sides.destination().join("03/extra.cab").exists());
}

#[test]
fn too_many_deletions_are_all_refused_and_copies_still_happen() {
    let sides = small_sides();
    let run = sides.mirror(&["--mode", "mirror", "--max-delete", "0"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "\ndeletions: none made: the plan deletes 1 file, more than --max-delete 0\n"
        )
    );
    assert!(run.stdout.ends_with("result: deletions refused\n"));
    assert!(sides.destination().join("03/extra.cab").exists());
    assert_eq!(
        fs::read(sides.destination().join("00/new.cab")).unwrap(),
        b"new"
    );
    assert_eq!(
        fs::read(sides.destination().join("02/changed.cab")).unwrap(),
        b"abcd"
    );
}

/// A mirror run of the small sides with `--quarantine quarantine` moves their one extra file
/// there, with its folder, instead of deleting it.
fn assert_quarantines_the_extra_file(sides: &Sides, quarantine: &Path) {
    let run = sides.mirror(&[
        "--mode",
        "mirror",
        "--quarantine",
        quarantine.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("\n> quarantine 03/extra.cab (5 bytes)\n")
    );
    assert_eq!(fs::read(quarantine.join("03/extra.cab")).unwrap(), b"extra");
    assert!(!sides.destination().join("03").exists());
}

#[test]
fn quarantine_moves_extras_out_instead_of_deleting_them() {
    let sides = small_sides();
    let quarantine = sides.path("quarantine");
    assert_quarantines_the_extra_file(&sides, &quarantine);
}

/// A plan's totals count each kind of action it lists, a leftover temporary file and the
/// folders made and removed among them.
#[test]
fn the_totals_count_every_kind_of_action() {
    let sides = small_sides();
    write(
        &sides.destination(),
        "01/.wsus-airgap-ABC123.tmp",
        b"partial",
        false,
    );
    let run = sides.mirror(&["--mode", "mirror", "--dry-run", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        document["plan"]["totals"],
        serde_json::json!({
            "copy_files": 1, "copy_bytes": 3,
            "replace_files": 1, "replace_bytes": 4,
            "delete_files": 1, "delete_bytes": 5,
            "create_folders": 1, "delete_folders": 1, "remove_temporary": 1,
            "unchanged_files": 1, "unchanged_bytes": 4,
        })
    );
}

/// The hash caches are trusted while a file's size, time and stamp are unchanged, and `--full`
/// ignores them: with a cache remembering a wrong hash for a file both sides hold alike, a
/// run plans to replace it, and a `--full` run finds it unchanged.
#[test]
fn full_ignores_the_hash_caches_a_run_trusts() {
    let sides = Sides::new();
    write(&sides.source(), "01/same.cab", b"same", true);
    write(&sides.destination(), "01/same.cab", b"same", true);
    let first = sides.mirror(&[]);
    assert!(
        first.stdout.contains(" 1 unchanged (4 B)\n"),
        "{}",
        first.stdout
    );
    // One side's cache now remembers another BLAKE3: it ends with the record's digest.
    let caches: Vec<PathBuf> = fs::read_dir(sides.path("cache"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(caches.len(), 2, "{caches:?}");
    let mut bytes = fs::read(&caches[0]).unwrap();
    *bytes.last_mut().unwrap() ^= 0xFF;
    fs::write(&caches[0], bytes).unwrap();

    let trusting = sides.mirror(&["--dry-run"]);
    assert!(
        trusting
            .stdout
            .starts_with("* replace 01/same.cab (4 bytes)\n"),
        "{}",
        trusting.stdout
    );
    let full = sides.mirror(&["--dry-run", "--full"]);
    assert_eq!(
        full.stdout,
        "plan (incremental mode): 0 to copy (0 B), 0 to replace (0 B), 0 to delete (0 B), \
         1 unchanged (4 B)\ndry run: nothing was changed\n"
    );
}

/// Where the file system keeps names differing only in case apart, a source file is paired
/// with the destination file of its own spelling, never with another spelling beside it: that
/// one is neither replaced nor deleted.
#[cfg_attr(windows, ignore = "NTFS holds no two names that differ only in case")]
#[test]
fn a_file_is_paired_with_its_own_spelling_and_another_spelling_beside_it_is_left_alone() {
    let sides = Sides::new();
    let (source, destination) = (sides.source(), sides.destination());
    write(&source, "0A/X.cab", b"same", true);
    write(&destination, "0A/X.cab", b"same", true);
    write(&destination, "0A/x.cab", b"other!", true);
    // A loose file the source lacks, named to come first: kept, even in mirror mode.
    write(&destination, "0-notes.txt", b"keep", true);
    let before = snapshot(&destination);
    assert_eq!(before.len(), 4, "{before:?}");
    for mode in ["incremental", "mirror"] {
        let run = sides.mirror(&["--mode", mode]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            run.stdout,
            format!(
                "planned ({mode} mode): 0 to copy (0 B), 0 to replace (0 B), 0 to delete (0 B), \
                 1 unchanged (4 B)\nresult: done\n"
            )
        );
        assert_eq!(snapshot(&destination), before, "{mode}");
    }
}

/// Names that differ only in case are one file on NTFS and FAT (and under Windows), two on
/// ext4. Either way a mirror run never deletes the destination's spelling of a source file:
/// where the file system takes them for one file, it is kept or replaced in place and the
/// next run has nothing to do; where it keeps them apart, the source's spelling is copied
/// beside it.
#[test]
fn names_differing_only_in_case_are_one_file_where_the_file_system_says_so() {
    let sides = Sides::new();
    let (source, destination) = (sides.source(), sides.destination());
    write(&source, "00/abc.cab", b"same", true);
    write(&destination, "00/ABC.cab", b"same", true);
    write(&source, "0A/x.cab", b"new!", false);
    write(&destination, "0a/X.CAB", b"old!", true);
    let one_file = destination.join("00/abc.CAB").exists();
    assert_eq!(one_file, cfg!(windows));
    let run = sides.mirror(&["--mode", "mirror"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after: Vec<(String, Option<Vec<u8>>)> = snapshot(&destination).into_iter().collect();
    let file = |path: &str, bytes: &[u8]| (path.to_owned(), Some(bytes.to_vec()));
    let folder = |path: &str| (path.to_owned(), None);
    if one_file {
        assert_eq!(
            run.stdout,
            "* replace 0A/x.cab (4 bytes)\n\
             planned (mirror mode): 0 to copy (0 B), 1 to replace (4 B), 0 to delete (0 B), 1 unchanged (4 B)\n\
             result: done\n"
        );
        // The old spelling of a replaced name may stay or change; the bytes are the source's.
        assert_eq!(after.len(), 4, "{after:?}");
        assert_eq!(after[..2], [folder("00"), file("00/ABC.cab", b"same")]);
        assert!(after[2].0.eq_ignore_ascii_case("0a"), "{after:?}");
        assert!(after[3].0.eq_ignore_ascii_case("0a/x.cab"), "{after:?}");
        assert_eq!(after[3].1.as_deref(), Some(&b"new!"[..]));
        let again = sides.mirror(&["--mode", "mirror"]);
        assert_eq!(
            again.stdout,
            "planned (mirror mode): 0 to copy (0 B), 0 to replace (0 B), 0 to delete (0 B), 2 unchanged (8 B)\n\
             result: done\n"
        );
    } else {
        assert_eq!(
            run.stdout,
            "+ folder 0A/\n\
             + copy 00/abc.cab (4 bytes)\n\
             + copy 0A/x.cab (4 bytes)\n\
             planned (mirror mode): 2 to copy (8 B), 0 to replace (0 B), 0 to delete (0 B), 0 unchanged (0 B)\n\
             result: done\n"
        );
        assert_eq!(
            after,
            [
                folder("00"),
                file("00/ABC.cab", b"same"),
                file("00/abc.cab", b"same"),
                folder("0A"),
                file("0A/x.cab", b"new!"),
                folder("0a"),
                file("0a/X.CAB", b"old!"),
            ]
        );
    }
}

/// /dev/shm is a tmpfs, so a quarantine there is on another file system than the test's
/// folder: the move is a copy and a removal.
#[cfg(target_os = "linux")]
#[test]
fn quarantine_on_another_file_system_is_copied_there_and_removed_here() {
    use std::os::unix::fs::MetadataExt;
    let sides = small_sides();
    let elsewhere = tempfile::tempdir_in("/dev/shm").unwrap();
    let device = |path: &Path| fs::metadata(path).unwrap().dev();
    assert_ne!(device(elsewhere.path()), device(&sides.destination()));
    let quarantine = elsewhere.path().join("quarantine");
    assert_quarantines_the_extra_file(&sides, &quarantine);
}

#[test]
fn incremental_mode_never_deletes_and_loose_top_level_files_survive_a_mirror() {
    let sides = small_sides();
    write(&sides.destination(), "anonymousCheckFile.txt", b"", false);
    write(&sides.destination(), "notes.txt", b"keep me", false);
    let run = sides.mirror(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(sides.destination().join("03/extra.cab").exists());
    let run = sides.mirror(&["--mode", "mirror"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!sides.destination().join("03/extra.cab").exists());
    assert_eq!(
        fs::read(sides.destination().join("notes.txt")).unwrap(),
        b"keep me"
    );
    assert!(sides.destination().join("anonymousCheckFile.txt").exists());
}

#[test]
fn nested_source_and_destination_are_refused() {
    let sides = small_sides();
    let inside = sides.source().join("media");
    let run = run_command(&mut sides.command(&inside, &[]));
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("overlap: one is inside the other"),
        "{}",
        run.stderr
    );
    assert!(!inside.exists());
}

#[cfg_attr(
    windows,
    ignore = "Wine, where the Windows tests run, makes no usable link (it reports success and leaves nothing)"
)]
#[test]
fn a_link_in_the_destination_is_never_followed() {
    let sides = small_sides();
    let outside = sides.path("outside");
    write(&outside, "new.cab", b"precious", false);
    support::symlink(&outside, &sides.destination().join("00"));
    for mode in ["incremental", "mirror"] {
        let run = sides.mirror(&["--mode", mode]);
        assert_eq!(run.code, 2, "{mode}");
        assert!(
            run.stderr.contains("00: a link (never followed) is where the source needs a folder; nothing was changed"),
            "{}",
            run.stderr
        );
        assert_eq!(fs::read(outside.join("new.cab")).unwrap(), b"precious");
    }
    // A link the source does not need is removed itself in mirror mode, its target kept.
    fs::remove_file(sides.destination().join("00")).unwrap();
    fs::create_dir(sides.destination().join("09")).unwrap();
    support::symlink(&outside, &sides.destination().join("09/out"));
    let run = sides.mirror(&["--mode", "mirror"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("\n- delete 09/out (0 bytes)\n- folder 09/\n"),
        "{}",
        run.stdout
    );
    assert!(fs::symlink_metadata(sides.destination().join("09")).is_err());
    assert_eq!(fs::read(outside.join("new.cab")).unwrap(), b"precious");
}

/// A name that is not valid Unicode cannot be spelt in a plan or a manifest: copying it under
/// its replacement-character spelling would name another file, so the run is refused.
#[cfg(target_os = "linux")]
#[test]
fn a_source_name_that_is_not_unicode_is_refused_before_anything_is_copied() {
    use std::os::unix::ffi::OsStrExt;
    let sides = small_sides();
    let before = snapshot(&sides.destination());
    let name = std::ffi::OsStr::from_bytes(b"bad\xff.cab");
    fs::write(sides.source().join("00").join(name), b"x").unwrap();
    let run = sides.mirror(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let expected = format!(
        "{}: the name cannot be copied safely: the name is not valid Unicode (shown with replacement characters)",
        sides.source().join("00").join(name).display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    assert_eq!(snapshot(&sides.destination()), before);
}

/// Media signed with a manifest, copied into a content folder: the manifest is the truth.
#[test]
fn from_a_manifest_a_file_that_differs_is_never_put_in_place_and_nothing_is_deleted() {
    let sides = small_sides();
    let keys = sides.path("keys");
    fs::create_dir_all(&keys).unwrap();
    let (secret, public) = (keys.join("site.key"), keys.join("site.pub"));
    support::keygen(&secret, &public);
    let media = sides.path("media");
    fs::create_dir_all(&media).unwrap();
    let mut create = Command::new(support::binary());
    create
        .args([
            "manifest",
            "create",
            "--quiet",
            "--sequence",
            "1",
            "--mode",
            "mirror",
            "--content",
        ])
        .arg(sides.source())
        .arg("--key")
        .arg(&secret)
        .arg("--out")
        .arg(&media);
    assert_eq!(run_command(&mut create).code, 0);
    // Damaged after signing, at the same size.
    write(&sides.source(), "00/new.cab", b"NEW", true);

    let manifest_args = [
        "--manifest",
        media.to_str().unwrap(),
        "--trust",
        public.to_str().unwrap(),
    ];
    let run = sides.mirror(&manifest_args);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!(
            "\nrejected: 00/new.cab: expected BLAKE3 {}, the source holds {}; not put in place\n",
            support::oracle::blake3_hex(b"new"),
            support::oracle::blake3_hex(b"NEW")
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\ndeletions: none made, because the copies did not all succeed\n")
    );
    assert!(!sides.destination().join("00/new.cab").exists());
    assert!(
        sides.destination().join("03/extra.cab").exists(),
        "nothing deleted"
    );
    assert_eq!(
        fs::read(sides.destination().join("02/changed.cab")).unwrap(),
        b"abcd"
    );
    let leftovers: Vec<_> = snapshot(&sides.destination())
        .into_keys()
        .filter(|p| is_temporary(p))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Repaired source: the mode comes from the manifest (mirror), and the run completes.
    write(&sides.source(), "00/new.cab", b"new", true);
    let run = sides.mirror(&manifest_args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("planned (mirror mode)"));
    assert!(!sides.destination().join("03/extra.cab").exists());
}

/// Opens `path` as another program that shares it with nobody would (WSUS writing it, an
/// antivirus scanning it): until the handle is dropped, nothing else can open, rename or
/// delete the file.
#[cfg(windows)]
fn hold_open(path: &Path) -> fs::File {
    use std::os::windows::fs::OpenOptionsExt;
    fs::File::options()
        .read(true)
        .share_mode(0)
        .open(path)
        .unwrap()
}

#[cfg(windows)]
fn held_open_error(path: &Path) -> String {
    format!(
        "wsus-airgap: error: {}: another program holds it open (WSUS or antivirus, for \
         example): still so after 6 tries over 8 s (os error 32); nothing was changed for this \
         file\n",
        path.display()
    )
}

#[cfg(windows)]
#[test]
fn a_source_file_held_open_throughout_stops_the_run_naming_it_and_changes_nothing() {
    let run = mirror_while_held_open(Sides::source);
    assert_eq!(
        run.stdout,
        "planned (incremental mode): 0 to copy (0 B), 1 to replace (13 B), 0 to delete (0 B), \
         0 unchanged (0 B)\nresult: stopped\n"
    );
}

/// A mirror run that replaces `00/held.cab` while that file, in the tree `side` gives, is
/// held open throughout: it must stop naming the file (exit 2) and leave the destination as
/// it was (no temporary file, the old file whole).
#[cfg(windows)]
fn mirror_while_held_open(side: fn(&Sides) -> PathBuf) -> Run {
    let sides = Sides::new();
    write(&sides.source(), "00/held.cab", b"the new bytes", false);
    write(&sides.destination(), "00/held.cab", b"old bytes", false);
    let destination_before = snapshot(&sides.destination());
    let held = side(&sides).join("00").join("held.cab");
    let holder = hold_open(&held);
    let run = sides.mirror(&[]);
    drop(holder);
    assert_eq!(run.stderr, held_open_error(&held));
    assert_eq!(run.code, 2);
    assert_eq!(snapshot(&sides.destination()), destination_before);
    run
}

#[cfg(windows)]
#[test]
fn a_source_file_held_open_for_a_moment_is_copied_once_it_is_let_go() {
    let sides = Sides::new();
    write(&sides.source(), "00/held.cab", b"the bytes", false);
    let holder = hold_open(&sides.source().join("00").join("held.cab"));
    let destination = sides.destination();
    let releaser = std::thread::spawn(move || {
        // The run makes the destination just before it copies: from then on, hold the file
        // a second longer, so that the run's first attempts to open it fail.
        for _ in 0..6000 {
            if destination.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(destination.exists(), "the run never began copying");
        std::thread::sleep(Duration::from_secs(1));
        drop(holder);
    });
    let run = sides.mirror(&[]);
    releaser.join().unwrap();
    assert_eq!(run.stderr, "");
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "+ folder 00/\n+ copy 00/held.cab (9 bytes)\nplanned (incremental mode): 1 to copy \
         (9 B), 0 to replace (0 B), 0 to delete (0 B), 0 unchanged (0 B)\nresult: done\n"
    );
    assert_eq!(snapshot(&sides.destination()), snapshot(&sides.source()));
}

#[cfg(windows)]
#[test]
fn a_destination_file_held_open_is_not_replaced_and_its_copy_is_removed() {
    mirror_while_held_open(Sides::destination);
}

#[cfg(windows)]
#[test]
fn read_only_hidden_sources_copy_to_plain_files_and_read_only_destinations_give_way() {
    let sides = small_sides();
    let (source, destination) = (sides.source(), sides.destination());
    let _writable_again = support::make_read_only_and_hidden(&source);
    // Only the file the run replaces and the one it deletes are read-only.
    for file in ["02/changed.cab", "03/extra.cab"] {
        let path = destination.join(file);
        let mut permissions = fs::metadata(&path).unwrap().permissions();
        permissions.set_readonly(true);
        fs::set_permissions(&path, permissions).unwrap();
    }
    let source_before = snapshot(&source);
    let run = sides.mirror(&["--mode", "mirror"]);
    assert_eq!(run.stderr, "");
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "+ folder 00/\n+ copy 00/new.cab (3 bytes)\n* replace 02/changed.cab (4 bytes)\n\
         - delete 03/extra.cab (5 bytes)\n- folder 03/\nplanned (mirror mode): 1 to copy (3 B), \
         1 to replace (4 B), 1 to delete (5 B), 1 unchanged (4 B)\nresult: done\n"
    );
    assert_eq!(snapshot(&destination), source_before);
    assert_eq!(
        support::read_only_or_hidden_files(&destination),
        [] as [PathBuf; 0]
    );
    assert_eq!(snapshot(&source), source_before);
    assert_eq!(support::read_only_or_hidden_files(&source).len(), 3);

    // Every hidden, read-only source file is read and hashed again, and found unchanged.
    let again = sides.mirror(&["--mode", "mirror", "--full"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        again.stdout,
        "planned (mirror mode): 0 to copy (0 B), 0 to replace (0 B), 0 to delete (0 B), \
         3 unchanged (11 B)\nresult: done\n"
    );
}

/// One run at a time into a destination: while another holds its lock (`<DEST>.lock`), a
/// mirror is turned away before it changes anything, then runs once it is let go.
#[test]
fn a_mirror_into_a_destination_another_run_holds_is_turned_away() {
    let sides = small_sides();
    let mut lock = sides.destination().into_os_string();
    lock.push(".lock");
    let held = fs::File::create(&lock).unwrap();
    held.try_lock().unwrap();
    let before = support::snapshot(&sides.destination());

    let busy = sides.mirror(&[]);
    assert_eq!(busy.code, 2, "{}", busy.stderr);
    assert_eq!(
        busy.stderr,
        format!(
            "wsus-airgap: error: {}.lock: another wsus-airgap copy into this folder is running \
             (it holds this lock); nothing was changed: run again once it has finished\n",
            sides.destination().display()
        )
    );
    assert_eq!(support::snapshot(&sides.destination()), before);

    drop(held);
    let done = sides.mirror(&[]);
    assert_eq!(done.code, 0, "{}", done.stderr);
}
