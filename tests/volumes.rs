//! Transfers split over volumes, end to end through the binary: packed within one volume of
//! the minimum and none over its size, imported in any order with wsusutil run once after
//! the last, damaged or foreign volumes refused by name, and a killed import converging.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::trip::Trip;
use support::{assert_same_files, run_command};
use wsus_airgap::synth::{self, SiteSpec};

const VOLUME_SIZE: u64 = 30_000;

/// A trip whose site holds files larger than a volume.
fn trip(seed: u64) -> Trip {
    let dir = tempfile::tempdir().unwrap();
    let spec = SiteSpec {
        files: 12,
        min_size: 100,
        max_size: 4_000,
        large_files: 2,
        large_size: 40_000,
        seed,
    };
    let site = synth::generate(&dir.path().join("connected").join("WsusContent"), &spec).unwrap();
    fs::create_dir(dir.path().join("disconnected")).unwrap();
    support::keygen(&dir.path().join("site.key"), &dir.path().join("site.pub"));
    Trip { dir, site }
}

/// Exports the trip's site onto volumes in `media`; returns the volume folders in order.
fn export(trip: &Trip, media: &Path, more: &[&str]) -> Vec<PathBuf> {
    let size = VOLUME_SIZE.to_string();
    let made = run_command(
        trip.export(media, None)
            .args(["--volume-size", &size])
            .args(more),
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let mut volumes: Vec<PathBuf> = fs::read_dir(media)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    volumes.sort();
    volumes
}

fn import(trip: &Trip, volumes: &[&PathBuf]) -> support::Run {
    let mut command = trip.gate("import", volumes[0]);
    for volume in &volumes[1..] {
        command.arg("--media").arg(volume);
    }
    run_command(&mut command)
}

fn bytes_below(root: &Path) -> u64 {
    support::files_below(root)
        .values()
        .map(|bytes| bytes.len() as u64)
        .sum()
}

fn record(trip: &Trip) -> String {
    fs::read_to_string(trip.path("wsusutil-record.txt")).unwrap_or_default()
}

#[test]
fn volumes_are_few_none_too_large_and_import_in_reverse_order() {
    let trip = trip(1);
    let media = trip.path("media");
    let volumes = export(&trip, &media, &["--max-file-size", "9000"]);
    let total: u64 = volumes.iter().map(|volume| bytes_below(volume)).sum();
    let minimum = total.div_ceil(VOLUME_SIZE);
    assert!(
        volumes.len() as u64 <= minimum + 1,
        "{} volumes",
        volumes.len()
    );
    for volume in &volumes {
        assert!(bytes_below(volume) <= VOLUME_SIZE, "{}", volume.display());
        let readme = fs::read_to_string(volume.join("README.txt")).unwrap();
        assert!(
            readme.contains(&format!("of {}", volumes.len())),
            "{readme}"
        );
        let verified = run_command(trip.gate("verify", volume).arg("--json"));
        assert_eq!(verified.code, 0, "{}", verified.stderr);
    }
    let chunks = support::file_names_below(&media);
    assert!(
        chunks.iter().any(|name| name.contains("/chunks/")),
        "{chunks:?}"
    );
    for file in support::files_below(&media).values() {
        assert!(
            file.len() <= 9000 || file.len() > 20_000,
            "no file over the limit"
        );
    }

    let reversed: Vec<&PathBuf> = volumes.iter().rev().collect();
    for (index, volume) in reversed.iter().enumerate() {
        let run = import(&trip, &[volume]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        if index + 1 < volumes.len() {
            assert!(run.stdout.contains("still needed"), "{}", run.stdout);
            assert_eq!(record(&trip), "", "wsusutil waits for the last volume");
        } else {
            assert!(run.stdout.contains("imported sequence 1"), "{}", run.stdout);
        }
    }
    assert_eq!(record(&trip).lines().count(), 1, "{}", record(&trip));
    assert_same_files(&trip.site.root, &trip.content());
    assert!(!trip.path("disconnected/wsus-airgap-volumes").exists());
}

#[test]
fn volumes_shuffled_several_at_once_and_twice_give_the_same_content() {
    let trip = trip(2);
    let volumes = export(&trip, &trip.path("media"), &[]);
    assert!(volumes.len() >= 3, "{volumes:?}");
    let last = volumes.len() - 1;
    let first = import(&trip, &[&volumes[last], &volumes[0]]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("still needed: 2"), "{}", first.stdout);
    let again = import(&trip, &[&volumes[0]]);
    assert_eq!(
        again.code, 0,
        "a volume inserted twice is harmless: {}",
        again.stderr
    );
    let rest: Vec<&PathBuf> = volumes[1..last].iter().collect();
    let done = import(&trip, &rest);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(record(&trip).lines().count(), 1);
    assert_same_files(&trip.site.root, &trip.content());
}

#[test]
fn a_damaged_chunk_is_refused_by_volume_and_chunk_and_nothing_of_it_is_placed() {
    let trip = trip(3);
    let volumes = export(&trip, &trip.path("media"), &[]);
    let (volume, chunk) = volumes
        .iter()
        .find_map(|volume| {
            let names = support::file_names_below(&volume.join("chunks"));
            names
                .into_iter()
                .next()
                .map(|name| (volume, volume.join("chunks").join(name)))
        })
        .expect("a chunk");
    let mut bytes = fs::read(&chunk).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&chunk, bytes).unwrap();
    let before = trip.disconnected_files();
    for verb in ["verify", "import"] {
        let run = run_command(&mut trip.gate(verb, volume));
        assert_eq!(run.code, 1, "{verb}: {}", run.stderr);
        assert!(run.stderr.contains("chunks/"), "{}", run.stderr);
        let name = volume.file_name().unwrap().to_string_lossy().into_owned();
        assert!(run.stderr.contains(&name), "{}", run.stderr);
    }
    assert_eq!(trip.disconnected_files(), before);
}

#[test]
fn a_volume_of_an_older_transfer_is_refused_by_name() {
    let trip = trip(4);
    let older = export(&trip, &trip.path("older"), &[]);
    let newer = export(&trip, &trip.path("newer"), &[]);
    let started = import(&trip, &[&newer[0]]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    let refused = import(&trip, &[&older[1]]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("sequence 1, not of sequence 2"),
        "{}",
        refused.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_killed_volume_import_converges_on_a_rerun() {
    let trip = trip(5);
    let volumes = export(&trip, &trip.path("media"), &[]);
    let killed = trip
        .gate("import", &volumes[0])
        .env("WSUS_AIRGAP_TEST_ABORT_AFTER_BYTES", "5000")
        .output()
        .unwrap();
    assert!(!killed.status.success());
    for volume in &volumes {
        let run = import(&trip, &[volume]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert_eq!(record(&trip).lines().count(), 1);
    assert_same_files(&trip.site.root, &trip.content());
}

/// `verify` of one volume against the content folder names the other volumes still needed,
/// and forgets those an import took in already.
#[test]
fn verifying_one_volume_names_the_volumes_still_needed() {
    let trip = trip(6);
    let volumes = export(&trip, &trip.path("media"), &[]);
    assert!(volumes.len() >= 3, "{} volumes", volumes.len());
    let others: Vec<String> = (2..=volumes.len())
        .map(|volume| format!("volume {volume} ("))
        .collect();

    let verified = run_command(&mut trip.gate("verify", &volumes[0]));
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let needed = verified
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("still needed: "))
        .unwrap_or_else(|| panic!("no `still needed:` line in\n{}", verified.stdout));
    for other in &others {
        assert!(needed.contains(other.as_str()), "{other} in {needed}");
    }

    // Once volume 2 is in, it is no longer needed.
    let taken = import(&trip, &[&volumes[1]]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let verified = run_command(&mut trip.gate("verify", &volumes[0]));
    let needed = verified
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("still needed: "))
        .unwrap();
    assert!(!needed.contains(&others[0]), "{needed}");
    assert!(needed.contains(&others[1]), "{needed}");

    // The same in the JSON report, which its schema describes.
    let json = run_command(trip.gate("verify", &volumes[0]).arg("--json"));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let listed: Vec<u64> = document["volumes_needed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|needed| needed["volume"].as_u64().unwrap())
        .collect();
    assert!(!listed.contains(&2) && listed.contains(&3), "{listed:?}");
    let written = trip.path("verify.json");
    fs::write(&written, &json.stdout).unwrap();
    support::assert_valid_against_schema("verify-report.schema.json", &written);
}
