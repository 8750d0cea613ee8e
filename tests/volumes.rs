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
    assert_eq!(
        document["volume"],
        serde_json::json!({ "volume": 1, "count": volumes.len() })
    );
    let written = trip.path("verify.json");
    fs::write(&written, &json.stdout).unwrap();
    support::assert_valid_against_schema("verify-report.schema.json", &written);
}

/// What the signed manifest puts on `volume`: the files it holds whole, its chunks, and
/// whether it holds the package, counted from the manifest's JSON.
fn on_volume(volume_folder: &Path, volume: u64) -> (usize, usize, bool) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(volume_folder.join("manifest.json")).unwrap()).unwrap();
    let entries = manifest["entries"].as_array().unwrap();
    let whole = entries
        .iter()
        .filter(|entry| entry["volume"].as_u64() == Some(volume))
        .count();
    let chunks = entries
        .iter()
        .flat_map(|entry| entry["chunks"].as_array().cloned().unwrap_or_default())
        .filter(|chunk| chunk["volume"].as_u64() == Some(volume))
        .count();
    let package = manifest["volumes"]["package_volume"].as_u64() == Some(volume);
    (whole, chunks, package)
}

/// `import --dry-run` of volumes says what taking each would do and what would still be
/// needed, in text and in JSON (both documents, the dry run's and the waiting import's, as
/// their schema describes), and changes nothing on the receiving side.
#[test]
fn a_dry_run_of_volumes_says_what_each_would_do_and_changes_nothing() {
    let trip = trip(7);
    let volumes = export(&trip, &trip.path("media"), &[]);
    let count = volumes.len();
    assert!(count >= 3, "{count} volumes");
    let taken = import(&trip, &[&volumes[0]]);
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let before = trip.disconnected_files();

    let mut command = trip.gate("import", &volumes[0]);
    command.arg("--dry-run");
    for volume in &volumes[1..] {
        command.arg("--media").arg(volume);
    }
    let run = run_command(&mut command);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut expected = vec![format!(
        "volume 1 ({}): taken before; nothing to do",
        volumes[0].display()
    )];
    for (index, volume) in volumes.iter().enumerate().skip(1) {
        let (whole, chunks, package) = on_volume(volume, index as u64 + 1);
        let line = run
            .stdout
            .lines()
            .find(|line| line.starts_with(&format!("volume {} (", index + 1)))
            .unwrap_or_else(|| panic!("no line for volume {}:\n{}", index + 1, run.stdout));
        assert!(
            line.starts_with(&format!(
                "volume {} ({}): would place {whole} files (",
                index + 1,
                volume.display()
            )),
            "{line}"
        );
        assert!(
            line.ends_with(&format!(
                ", 0 already in place; stage {chunks} chunks{}",
                if package { " and the package" } else { "" }
            )),
            "{line}"
        );
        expected.push(line.to_owned());
    }
    expected.extend([
        format!("volumes taken before: 1 (of {count})"),
        "still needed: none; with these the import of sequence 1 would finish (completeness \
         proof, wsusutil import)"
            .to_owned(),
        "result: dry run; nothing was changed".to_owned(),
    ]);
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), expected);
    assert_eq!(
        trip.disconnected_files(),
        before,
        "a dry run changes nothing"
    );
    assert_eq!(record(&trip), "", "and runs nothing");

    // One volume alone: the rest are still needed; the JSON document says the same.
    let json = run_command(
        trip.gate("import", &volumes[1])
            .args(["--dry-run", "--json"]),
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["result"], "volumes-dry-run");
    assert_eq!(document["taken"], serde_json::json!([1]));
    let needed: Vec<u64> = (3..=count as u64).collect();
    assert_eq!(document["needed"], serde_json::json!(needed));
    let (whole, chunks, package) = on_volume(&volumes[1], 2);
    let would = &document["would_take"][0];
    assert_eq!(would["volume"], 2);
    assert_eq!(would["taken_before"], false);
    assert_eq!(would["place"]["copy_files"], whole);
    assert_eq!(would["chunks"], chunks);
    assert_eq!(would["package"], package);
    let written = trip.path("dry-run.json");
    fs::write(&written, &json.stdout).unwrap();
    support::assert_valid_against_schema("import-report.schema.json", &written);
    assert_eq!(trip.disconnected_files(), before);

    // The waiting import's document, for real this time.
    let json = run_command(trip.gate("import", &volumes[1]).arg("--json"));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        document,
        serde_json::json!({
            "result": "waiting", "sequence": 1, "volumes": count,
            "taken": [1, 2], "needed": needed,
        })
    );
    fs::write(&written, &json.stdout).unwrap();
    support::assert_valid_against_schema("import-report.schema.json", &written);
}

/// `export --json` of a split transfer says what each volume holds, as found on disk, and the
/// text names each volume; `verify` of a volume says which it is and where the package is.
#[test]
fn export_and_verify_say_what_each_volume_holds() {
    let trip = trip(8);
    let media = trip.path("media");
    let size = VOLUME_SIZE.to_string();
    let json = run_command(
        trip.export(&media, None)
            .args(["--volume-size", &size, "--json"]),
    );
    assert_eq!(json.code, 0, "{}", json.stderr);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let listed = document["volumes"].as_array().unwrap();
    let folders: Vec<PathBuf> = (1..=listed.len())
        .map(|volume| media.join(format!("volume-{volume:02}")))
        .collect();
    assert!(
        !media
            .join(format!("volume-{:02}", listed.len() + 1))
            .exists()
    );
    for (volume, folder) in listed.iter().zip(&folders) {
        let whole = support::files_below(&folder.join("WsusContent"));
        let chunks = support::files_below(&folder.join("chunks"));
        let package = folder.join("export.xml.gz");
        let package_bytes = fs::metadata(&package).map_or(0, |metadata| metadata.len());
        let bytes: u64 = whole
            .values()
            .chain(chunks.values())
            .map(|file| file.len() as u64)
            .sum();
        assert_eq!(volume["files"], whole.len(), "{volume}");
        assert_eq!(volume["chunks"], chunks.len(), "{volume}");
        assert_eq!(volume["package"], package.exists(), "{volume}");
        assert_eq!(volume["bytes"], bytes + package_bytes, "{volume}");
    }
    let written = trip.path("export.json");
    fs::write(&written, &json.stdout).unwrap();
    support::assert_valid_against_schema("export-report.schema.json", &written);

    let count = folders.len();
    let package_volume = listed
        .iter()
        .position(|volume| volume["package"] == true)
        .unwrap()
        + 1;
    let other = if package_volume == 1 { 2 } else { 1 };
    let verified = run_command(&mut trip.gate("verify", &folders[other - 1]));
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    let media_line = verified.stdout.lines().nth(1).unwrap();
    let on_disk: Vec<Vec<u8>> = ["WsusContent", "chunks"]
        .iter()
        .flat_map(|part| support::files_below(&folders[other - 1].join(part)).into_values())
        .collect();
    let bytes: u64 = on_disk.iter().map(|file| file.len() as u64).sum();
    assert!(bytes > 0);
    assert_eq!(
        media_line,
        format!(
            "media: volume {other} of {count}: {} files intact ({}), 0 held by the receiving \
             side, the package is on volume {package_volume}",
            on_disk.len(),
            indicatif::HumanBytes(bytes)
        )
    );
}

/// Each kind of damage to the volume that holds the package is refused, naming what is
/// wrong: the package changed, a file the manifest does not put there, a whole file gone, a
/// marker that is missing or claims another set of volumes. Put right, the same volume
/// passes.
#[test]
fn a_volume_is_refused_for_each_kind_of_damage_and_passes_once_put_right() {
    let trip = trip(12);
    let volumes = export(&trip, &trip.path("media"), &[]);
    let volume = &volumes[0];
    let verify = || run_command(&mut trip.gate("verify", volume));
    let refused = |what: &str, expected: &str| {
        let run = verify();
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        assert!(
            run.stderr.lines().any(|line| line == expected),
            "{what}: {}",
            run.stderr
        );
    };

    let package = volume.join("export.xml.gz");
    let original = fs::read(&package).unwrap();
    let mut changed = original.clone();
    changed[original.len() / 2] ^= 0xff;
    fs::write(&package, &changed).unwrap();
    refused(
        "package",
        &format!(
            "package: {}: changed: found {} bytes, BLAKE3 {}",
            package.display(),
            indicatif::HumanCount(changed.len() as u64),
            support::independent_blake3(&package)
        ),
    );
    fs::write(&package, &original).unwrap();

    let extra = volume.join("WsusContent").join("extra.txt");
    fs::write(&extra, b"x").unwrap();
    refused("extra", "extra: WsusContent/extra.txt: not in the manifest");
    fs::remove_file(&extra).unwrap();

    let whole = support::file_names_below(&volume.join("WsusContent"))
        .into_iter()
        .next()
        .expect("a whole file on volume 1");
    let whole_path = volume.join("WsusContent").join(&whole);
    let bytes = fs::read(&whole_path).unwrap();
    fs::remove_file(&whole_path).unwrap();
    refused("gone", &format!("missing: WsusContent/{whole}"));
    fs::write(&whole_path, &bytes).unwrap();

    let marker = volume.join("volume.json");
    let said = fs::read_to_string(&marker).unwrap();
    let count = volumes.len();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&said).unwrap(),
        serde_json::json!({ "volume": 1, "count": count })
    );
    fs::remove_file(&marker).unwrap();
    refused("no marker", "missing: volume.json");
    // A marker of another set: more volumes than the manifest's, or a volume beyond them.
    for (volume_number, claimed_count) in [(1, count + 1), (count + 1, count)] {
        let other = format!("{{\"volume\": {volume_number}, \"count\": {claimed_count}}}");
        fs::write(&marker, other).unwrap();
        refused(
            &format!("{volume_number} of {claimed_count}"),
            "missing: volume.json",
        );
    }
    fs::write(&marker, &said).unwrap();

    let run = verify();
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A link where a whole file belongs is refused as not a file, never read through.
#[cfg_attr(
    windows,
    ignore = "Wine, where the Windows tests run, makes no usable link (it reports success and leaves nothing)"
)]
#[test]
fn a_link_where_a_whole_file_belongs_on_a_volume_is_refused() {
    let trip = trip(13);
    let volumes = export(&trip, &trip.path("media"), &[]);
    let volume = &volumes[0];
    let whole = support::file_names_below(&volume.join("WsusContent"))
        .into_iter()
        .next()
        .expect("a whole file on volume 1");
    let whole_path = volume.join("WsusContent").join(&whole);
    let elsewhere = trip.path("elsewhere.cab");
    fs::rename(&whole_path, &elsewhere).unwrap();
    support::symlink(&elsewhere, &whole_path);
    let run = run_command(&mut trip.gate("verify", volume));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let expected = format!(
        "changed: WsusContent/{whole}: expected {} bytes, BLAKE3 {}; found a link, not a file",
        indicatif::HumanCount(fs::metadata(&elsewhere).unwrap().len()),
        support::independent_blake3(&elsewhere)
    );
    assert!(
        run.stderr.lines().any(|line| line == expected),
        "{}",
        run.stderr
    );
}

/// Copies a freshly generated site's content files (seed `seed`) into the trip's connected
/// content, leaving those of the same name alone; returns the paths of those added.
fn add_files(trip: &Trip, files: usize, seed: u64) -> Vec<String> {
    let spec = SiteSpec {
        files,
        min_size: 100,
        max_size: 4_000,
        large_files: 1,
        large_size: 40_000,
        seed,
    };
    let more = synth::generate(&trip.path(&format!("more-{seed}")), &spec).unwrap();
    let mut added = Vec::new();
    for file in &more.files {
        let to = trip.site.root.join(&file.path);
        if !to.exists() {
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(more.root.join(&file.path), &to).unwrap();
            added.push(file.path.clone());
        }
    }
    assert!(added.len() >= files, "{added:?}");
    added
}

/// Imports every volume of `volumes`, last first; the last import's run.
fn import_all(trip: &Trip, volumes: &[PathBuf]) -> support::Run {
    let mut last = None;
    for volume in volumes.iter().rev() {
        let run = import(trip, &[volume]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        last = Some(run);
    }
    last.expect("a volume")
}

/// A month later, `export --since` the receipt in mirror mode onto volumes carries only
/// what is new, and its import (volumes in reverse) deletes what the connected side no
/// longer has: the content ends identical to the source, wsusutil having run once a month.
#[test]
fn since_and_mirror_mode_work_with_volumes() {
    let trip = trip(9);
    let first = export(&trip, &trip.path("month-1"), &[]);
    let imported = import_all(&trip, &first);
    assert!(
        imported.stdout.ends_with("result: imported sequence 1\n"),
        "{}",
        imported.stdout
    );
    let receipt = trip.path("disconnected/wsus-airgap-receipt.json");
    assert!(receipt.is_file());

    let added = add_files(&trip, 4, 90);
    let gone = trip.site.files[0].path.clone();
    fs::remove_file(trip.site.root.join(&gone)).unwrap();
    let receipt = receipt.to_str().unwrap();
    let second = export(
        &trip,
        &trip.path("month-2"),
        &["--since", receipt, "--mode", "mirror"],
    );
    // Only the new files travel (and the loose anonymousCheckFile.txt, which always does):
    // the rest are listed as held by the receiving side.
    let mut carried: Vec<String> = support::file_names_below(&trip.path("month-2"))
        .into_iter()
        .filter_map(|name| {
            let (_, path) = name.split_once("/WsusContent/")?;
            Some(path.to_owned())
        })
        .chain(
            support::file_names_below(&trip.path("month-2"))
                .into_iter()
                .filter_map(|name| {
                    let (_, chunk) = name.split_once("/chunks/")?;
                    Some(chunk.rsplit_once('.')?.0.to_owned())
                }),
        )
        .collect();
    carried.sort();
    carried.dedup();
    let mut expected = added.clone();
    expected.push("anonymousCheckFile.txt".to_owned());
    expected.sort();
    assert_eq!(carried, expected);

    let imported = import_all(&trip, &second);
    assert!(
        imported.stdout.ends_with("result: imported sequence 2\n"),
        "{}",
        imported.stdout
    );
    assert!(
        !trip.content().join(&gone).exists(),
        "{gone} was not deleted"
    );
    assert_same_files(&trip.site.root, &trip.content());
    assert_eq!(record(&trip).lines().count(), 2, "{}", record(&trip));
}

/// A package referencing a file the content lacks is refused onto volumes as onto single
/// media, nothing signed; with `--allow-gaps` it is exported, and the import of the last
/// volume names the gap and the update it leaves without its file.
#[test]
fn allow_gaps_works_with_volumes() {
    let trip = trip(10);
    let package = trip.package();
    let lost = trip.site.files[1].path.clone();
    fs::remove_file(trip.site.root.join(&lost)).unwrap();
    let size = VOLUME_SIZE.to_string();
    let media = trip.path("media");
    let refused = run_command(
        trip.export(&media, Some(&package))
            .args(["--volume-size", &size]),
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains(&lost), "{}", refused.stderr);
    assert!(
        support::file_names_below(&media)
            .iter()
            .all(|name| !name.ends_with("manifest.json.minisig")),
        "nothing was signed"
    );

    let volumes = {
        let made = run_command(trip.export(&media, Some(&package)).args([
            "--volume-size",
            &size,
            "--allow-gaps",
        ]));
        assert_eq!(made.code, 0, "{}", made.stderr);
        let mut volumes: Vec<PathBuf> = (fs::read_dir(&media).unwrap())
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_dir())
            .collect();
        volumes.sort();
        volumes
    };
    let imported = import_all(&trip, &volumes);
    assert!(
        support::has_line(&imported.stdout, &format!("acknowledged gap: {lost}")),
        "{}",
        imported.stdout
    );
    assert!(
        imported.stdout.ends_with("result: imported sequence 1\n"),
        "{}",
        imported.stdout
    );
    assert!(!trip.content().join(&lost).exists());
    assert_same_files(&trip.site.root, &trip.content());
}

/// A newer transfer's volume takes over from an older one under way: the older one's staged
/// chunks are dropped, said so in the log, and the newer one completes on its own.
#[test]
fn a_newer_transfer_takes_over_from_an_older_one_under_way() {
    let trip = trip(11);
    let older = export(&trip, &trip.path("older"), &[]);
    let started = import(&trip, &[&older[0]]);
    assert_eq!(started.code, 0, "{}", started.stderr);
    let staging = trip.path("disconnected/wsus-airgap-volumes");
    let older_staging: Vec<String> = support::file_names_below(&staging).into_iter().collect();
    assert!(
        older_staging
            .iter()
            .any(|name| name.ends_with("progress.json")),
        "{older_staging:?}"
    );

    add_files(&trip, 2, 110);
    let newer = export(&trip, &trip.path("newer"), &[]);
    let log = trip.path("import.log");
    let mut command = trip.gate("import", &newer[0]);
    let took_over = run_command(command.arg("--log").arg(&log));
    assert_eq!(took_over.code, 0, "{}", took_over.stderr);
    let log = fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("the volumes staged of sequence 1 are dropped for a newer transfer"),
        "{log}"
    );
    let progress: serde_json::Value =
        serde_json::from_slice(&fs::read(staging.join("progress.json")).unwrap()).unwrap();
    assert_eq!(progress["sequence"], 2);
    assert_eq!(progress["taken"], serde_json::json!([1]));
    let folders: Vec<String> = (fs::read_dir(&staging).unwrap())
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "progress.json")
        .collect();
    assert_eq!(
        folders,
        [progress["transfer"].as_str().unwrap()],
        "one transfer staged"
    );

    let refused = import(&trip, &[&older[1]]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let imported = import_all(&trip, &newer[1..]);
    assert!(
        imported.stdout.ends_with("result: imported sequence 2\n"),
        "{}",
        imported.stdout
    );
    assert_same_files(&trip.site.root, &trip.content());
    assert_eq!(record(&trip).lines().count(), 1);
}

/// The package is never cut (wsusutil is given it whole, from the volume that holds it): a
/// package larger than a volume's room is refused before anything is written, naming the
/// sizes and what to do.
#[test]
fn a_package_larger_than_a_volume_is_refused_and_nothing_is_written() {
    let trip = trip(12);
    let package = trip.package();
    let package_size = fs::metadata(&package).unwrap().len();
    let roomy = export(&trip, &trip.path("roomy"), &[]);
    let manifest_size = fs::metadata(roomy[0].join("manifest.json")).unwrap().len();
    assert!(package_size > 2_000, "{package_size} bytes");
    // Room for the manifest and the 4 KiB kept for its signature, README.txt and
    // volume.json, and for half the package.
    let size = (manifest_size + 4_096 + package_size / 2).to_string();
    let media = trip.path("media");
    let refused = run_command(
        trip.export(&media, Some(&package))
            .args(["--volume-size", &size]),
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let message = format!(
        "wsus-airgap: error: the package ({package_size} bytes) does not fit whole on a volume, which holds "
    );
    assert!(refused.stderr.starts_with(&message), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .ends_with(" bytes besides the manifest; give a larger --volume-size\n"),
        "{}",
        refused.stderr
    );
    let written: Vec<String> = support::file_names_below(&media)
        .into_iter()
        .filter(|name| !name.ends_with(".log"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
}
