//! What the README and `--help` promise an operator, held to by the real binary: dry runs
//! change nothing, one sequence record per key, unfinished media refused as such, deletions
//! named, and every flag documented.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::trip::Trip;
use support::{has_line, run_command};

/// `manifest create` of the connected content into `folder`, with more arguments.
fn manifest_create(trip: &Trip, folder: &Path, more: &[&str]) -> support::Run {
    fs::create_dir_all(folder).unwrap();
    run_command(
        Command::new(support::binary())
            .args(["manifest", "create", "--quiet", "--content"])
            .arg(&trip.site.root)
            .arg("--key")
            .arg(trip.path("site.key"))
            .arg("--out")
            .arg(folder)
            .args(more),
    )
}

fn recorded_sequence(trip: &Trip) -> String {
    fs::read_to_string(trip.path("site.key.sequence")).unwrap_or_default()
}

#[test]
fn an_export_dry_run_changes_nothing_and_needs_a_package() {
    let trip = Trip::new(21);
    let media = trip.path("media");
    let run = run_command(trip.export(&media, None).arg("--dry-run"));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--package"), "{}", run.stderr);
    assert!(!media.exists());
    assert_eq!(recorded_sequence(&trip), "");

    // After a real export, a dry run of another package leaves the signed media as it was.
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let before = support::snapshot(&media);
    let package = trip.package();
    let dry_run = run_command(trip.export(&media, Some(&package)).arg("--dry-run"));
    assert_eq!(dry_run.code, 0, "{}", dry_run.stderr);
    assert_eq!(support::snapshot(&media), before);
    assert_eq!(recorded_sequence(&trip), "1\n");
    let verified = run_command(&mut trip.gate("verify", &media));
    assert_eq!(verified.code, 0, "{}", verified.stderr);
}

#[test]
fn every_command_that_signs_keeps_one_sequence_record_per_key() {
    let trip = Trip::new(22);
    let created = manifest_create(&trip, &trip.path("first"), &["--sequence", "42"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(recorded_sequence(&trip), "42\n");

    let exported = run_command(&mut trip.export(&trip.path("media"), None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(
        exported.stdout.contains("signed: sequence 43,"),
        "{}",
        exported.stdout
    );

    let created = manifest_create(&trip, &trip.path("second"), &[]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(
        created.stdout.contains("\tsequence:44\t"),
        "{}",
        created.stdout
    );
    assert_eq!(recorded_sequence(&trip), "44\n");

    // A lower sequence only when asked for, with a warning; the record keeps the highest.
    let lower = run_command(
        trip.export(&trip.path("old"), None)
            .args(["--sequence", "5"]),
    );
    assert_eq!(lower.code, 0, "{}", lower.stderr);
    assert!(
        has_line(
            &lower.stderr,
            "warning: sequence 5 is not above 44, the last signed with this key: a receiving \
             side that imported 44 refuses it as replayed"
        ),
        "{}",
        lower.stderr
    );
    assert_eq!(recorded_sequence(&trip), "44\n");
}

#[test]
fn media_without_a_signature_is_refused_as_unfinished() {
    let trip = Trip::new(23);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    fs::remove_file(media.join("manifest.json.minisig")).unwrap();
    for folder in [media, trip.path("no-such-media")] {
        let run = run_command(&mut trip.gate("verify", &folder));
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert_eq!(
            run.stderr,
            format!(
                "wsus-airgap: refused: {}: unfinished or altered media: no signature\n",
                folder.join("manifest.json.minisig").display()
            )
        );
    }
}

#[test]
fn an_import_names_the_files_it_deletes_or_quarantines_and_a_dry_run_every_file() {
    let trip = Trip::new(24);
    let media = trip.path("media");
    let exported = run_command(trip.export(&media, None).args(["--mode", "mirror"]));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let extras = ["00/EXTRA1.cab", "FF/EXTRA2.cab"];
    for extra in extras {
        let path = trip.content().join(extra);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, extra).unwrap();
    }
    let listed: Vec<String> = support::file_names_below(&media.join("WsusContent"))
        .into_iter()
        .collect();

    let dry_run = run_command(trip.gate("import", &media).arg("--dry-run"));
    assert_eq!(dry_run.code, 0, "{}", dry_run.stderr);
    for path in &listed {
        assert!(
            has_line(&dry_run.stdout, &format!("would copy: {path}")),
            "{}",
            dry_run.stdout
        );
    }
    for extra in extras {
        let line = format!("would delete: {extra}");
        assert!(has_line(&dry_run.stdout, &line), "{}", dry_run.stdout);
    }

    let quarantine = trip.path("quarantine");
    let log = trip.path("import.log");
    let imported = run_command(
        trip.gate("import", &media)
            .arg("--quarantine")
            .arg(&quarantine)
            .arg("--log")
            .arg(&log),
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let log = fs::read_to_string(log).unwrap();
    for extra in extras {
        let moved = extra
            .split('/')
            .fold(quarantine.clone(), |path, part| path.join(part));
        assert!(moved.is_file());
        let line = format!("quarantined: {extra} (to {})", moved.display());
        assert!(has_line(&imported.stdout, &line), "{}", imported.stdout);
        let logged = format!("import: quarantined: {extra} (to {})", moved.display());
        assert!(log.contains(&logged), "{log}");
    }
    assert!(!imported.stdout.contains("would "), "{}", imported.stdout);
    // With no terminal to show a progress bar, the log says how far each stage came.
    for stage in ["checking the media", "copying"] {
        let line = format!("import: {stage}: 100% (");
        assert!(log.contains(&line), "{log}");
    }
}

/// The number before `marker` in the line of `text` that holds it.
fn count_before(text: &str, marker: &str) -> u64 {
    let line = text
        .lines()
        .find(|line| line.contains(marker))
        .unwrap_or_else(|| panic!("no `{marker}` in:\n{text}"));
    let before = &line[..line.find(marker).unwrap()];
    let number = before.trim_end().rsplit([' ', '(']).next().unwrap();
    number.replace(',', "").parse().unwrap()
}

#[test]
fn an_export_since_a_receipt_says_what_leaves_the_media_and_agrees_with_verify() {
    let trip = Trip::new(25);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let imported = run_command(&mut trip.gate("import", &media));
    assert_eq!(imported.code, 0, "{}", imported.stderr);

    // The next export into the same media: everything is held by the other side now.
    let receipt = trip.path("disconnected").join("wsus-airgap-receipt.json");
    let again = run_command(trip.export(&media, None).arg("--since").arg(&receipt));
    assert_eq!(again.code, 0, "{}", again.stderr);
    let staged = again
        .stdout
        .lines()
        .find(|l| l.starts_with("staged: "))
        .unwrap();
    assert!(
        staged.contains(" stale to remove from the media ("),
        "{staged}"
    );
    assert!(!staged.contains("to delete"), "{staged}");
    let held = count_before(&again.stdout, "held by the other side");
    assert_eq!(held, trip.site.files.len() as u64);

    fs::remove_file(trip.path("trust-state.json")).unwrap();
    let verified = run_command(&mut trip.gate("verify", &media));
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert_eq!(
        count_before(&verified.stdout, "held by the receiving side"),
        held
    );
}

#[test]
fn media_missing_a_file_names_the_updates_that_would_fail() {
    let trip = Trip::new(26);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let victim = trip.site.files[0].path.clone();
    fs::remove_file(media.join("WsusContent").join(&victim)).unwrap();

    let refused = run_command(&mut trip.gate("verify", &media));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let lines: Vec<&str> = refused.stderr.lines().collect();
    let lacks = lines
        .iter()
        .position(|line| *line == format!("  lacks {victim}"))
        .unwrap_or_else(|| panic!("no update named for {victim}:\n{}", refused.stderr));
    assert!(
        lines[..lacks]
            .iter()
            .any(|line| line.starts_with("would fail to download: ")),
        "{}",
        refused.stderr
    );
    assert!(has_line(&refused.stderr, &format!("missing: {victim}")));
}

#[test]
fn messages_say_what_is_wrong_in_the_operators_words() {
    let trip = Trip::new(27);
    // A package cut short says so, with where it ends and what its header expected.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wsus-export-2024.cab");
    let whole = fs::read(&fixture).unwrap();
    let cut = trip.path("cut.cab");
    fs::write(&cut, &whole[..3000]).unwrap();
    let inspected = support::run([Path::new("inspect"), &cut]);
    assert_eq!(inspected.code, 2);
    assert_eq!(
        inspected.stderr,
        format!(
            "wsus-airgap: error: {}: cabinet: cut short: it ends after 3000 bytes, and its \
             header says it holds {}; copy it again\n",
            cut.display(),
            whole.len()
        )
    );

    // A trust state whose folder is a file names the file.
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    fs::write(trip.path("a-file"), "").unwrap();
    let state = trip.path("a-file").join("trust-state.json");
    for verb in ["verify", "import"] {
        let mut command = trip.command();
        command.args([verb, "--quiet", "--media"]).arg(&media);
        command.arg("--trust").arg(trip.path("site.pub"));
        command
            .arg("--content")
            .arg(trip.content())
            .arg("--state")
            .arg(&state);
        let run = run_command(&mut command);
        assert_eq!(run.code, 2, "{}", run.stderr);
        let named = format!(
            "{} is a file, where a folder is needed",
            trip.path("a-file").display()
        );
        assert!(run.stderr.contains(&named), "{}", run.stderr);
    }

    // --help names the default trust state itself.
    for verb in ["verify", "import"] {
        let help = support::run([verb, "--help"]);
        assert!(help.stdout.contains("trust-state.json]"), "{}", help.stdout);
        assert!(!help.stdout.contains("see README"), "{}", help.stdout);
    }
}

/// The `--flags` in `text`.
fn flags_in(text: &str) -> std::collections::BTreeSet<String> {
    let mut flags = std::collections::BTreeSet::new();
    for (at, _) in text.match_indices("--") {
        let name: String = text[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
            .collect();
        let before = text[..at].chars().next_back();
        if name.starts_with(|c: char| c.is_ascii_lowercase())
            && !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
        {
            flags.insert(format!("--{name}"));
        }
    }
    flags
}

#[test]
fn every_flag_in_help_is_documented_and_every_documented_flag_exists() {
    let commands: [&[&str]; 12] = [
        &[],
        &["audit"],
        &["inspect"],
        &["check"],
        &["keygen"],
        &["manifest", "create"],
        &["manifest", "verify"],
        &["mirror"],
        &["export"],
        &["verify"],
        &["import"],
        &["demo"],
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = fs::read_to_string(root.join("README.md")).unwrap();
    for page in fs::read_dir(root.join("docs")).unwrap() {
        let page = page.unwrap().path();
        if page.extension().is_some_and(|extension| extension == "md") {
            docs += &fs::read_to_string(page).unwrap();
        }
    }
    let documented = flags_in(&docs);
    let mut existing = std::collections::BTreeSet::new();
    for command in commands {
        let help = support::run(command.iter().copied().chain(["--help"]));
        assert_eq!(help.code, 0, "{}", help.stderr);
        for flag in flags_in(&help.stdout) {
            assert!(
                documented.contains(&flag),
                "`wsus-airgap {} {flag}` is in --help but not in README.md or docs/",
                command.join(" ")
            );
            existing.insert(flag);
        }
    }
    // Flags of other programs the pages show: cargo's, the Windows build script's, and
    // scripts/mutants'.
    let others = [
        "--locked",
        "--release",
        "--target",
        "--test",
        "--check",
        "--changed",
        "--iterate",
    ];
    for flag in documented {
        assert!(
            existing.contains(&flag) || others.contains(&flag.as_str()),
            "README.md or docs/ documents {flag}, which no command has"
        );
    }
}

#[test]
fn manifest_show_lists_signed_media_without_reading_its_content() {
    let trip = Trip::new(28);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    // Nothing but the manifest is read: content gone from the media does not matter.
    fs::remove_dir_all(media.join("WsusContent")).unwrap();
    let shown = support::run([
        Path::new("manifest"),
        Path::new("show"),
        &media,
        Path::new("--trust"),
        &trip.path("site.pub"),
    ]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout.starts_with("signature: good, key "),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("\nmanifest: sequence 1, created "));
    for file in &trip.site.files {
        let size = file.size.to_string();
        let mut grouped = String::new();
        for (index, digit) in size.chars().enumerate() {
            if index > 0 && (size.len() - index) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let line = format!("  {} ({grouped} bytes)", file.path);
        assert!(
            has_line(&shown.stdout, &line),
            "{line} in\n{}",
            shown.stdout
        );
    }

    // Altered media is refused, as by every command that reads a manifest.
    fs::write(
        media.join("manifest.json.minisig"),
        "untrusted comment: x\n",
    )
    .unwrap();
    let refused = support::run([
        Path::new("manifest"),
        Path::new("show"),
        &media,
        Path::new("--trust"),
        &trip.path("site.pub"),
    ]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
}

#[test]
fn the_log_says_why_an_import_was_refused() {
    let trip = Trip::new(29);
    let media = trip.path("media");
    let exported = run_command(&mut trip.export(&media, None));
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let victim = media.join("WsusContent").join(&trip.site.files[0].path);
    let mut bytes = fs::read(&victim).unwrap();
    bytes[0] ^= 1;
    fs::write(&victim, bytes).unwrap();
    let log = trip.path("import.log");
    let refused = run_command(trip.gate("import", &media).arg("--log").arg(&log));
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    let log = fs::read_to_string(&log).unwrap();
    let line = log
        .lines()
        .find(|line| line.contains(" import: refused: "))
        .unwrap_or_else(|| panic!("no refusal in the log:\n{log}"));
    assert!(
        line.contains(": 1 problem (1 changed); ")
            && line.ends_with("; the trust state is unchanged"),
        "{line}"
    );
}
