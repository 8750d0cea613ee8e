//! The demo: the whole round trip on sample sites, from a clean checkout, with no WSUS.

mod support;

use std::ffi::OsString;
use std::fs;

use support::run;

#[test]
fn demo_exports_verifies_and_imports_then_refuses_replay_and_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("demo");
    let demo = run([OsString::from("demo"), target.clone().into()]);
    assert_eq!(demo.code, 0, "{demo:?}");
    assert_approvals_step(&demo.stdout);
    for line in [
        "demo: 1. export on the connected side\n",
        "result: exported\n",
        "demo: 2. verify the media on the disconnected side\n",
        "result: ready to import\n",
        "demo: 3. import on the disconnected side\n",
        "result: imported sequence 1\n",
        "demo: done. Files worth opening:\n",
    ] {
        assert!(demo.stdout.contains(line), "{line:?} missing: {demo:?}");
    }
    // The disconnected site now holds every file of the connected one, byte for byte.
    let connected = target.join("connected").join("WsusContent");
    let disconnected = target.join("disconnected").join("WsusContent");
    let mut compared = 0;
    for entry in walkdir::WalkDir::new(&connected) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let relative = entry.path().strip_prefix(&connected).unwrap();
            assert_eq!(
                fs::read(entry.path()).unwrap(),
                fs::read(disconnected.join(relative)).unwrap(),
                "{}",
                relative.display()
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 203);
    let state = fs::read_to_string(target.join("disconnected").join("trust-state.json")).unwrap();
    assert!(state.contains("\"sequence\": 1"), "{state}");
    assert!(
        target
            .join("disconnected")
            .join("wsus-airgap-receipt.json")
            .is_file()
    );
    let log = fs::read_to_string(target.join("wsus-airgap.log")).unwrap();
    assert!(log.contains("export: finished: sequence 1 signed"), "{log}");
    assert!(
        log.contains("import: finished: sequence 1 imported"),
        "{log}"
    );

    // The same media again is a replay.
    let media = target.join("media");
    let verify = |extra: &[&str]| {
        let mut args: Vec<OsString> = vec![
            "verify".into(),
            "--media".into(),
            media.clone().into(),
            "--trust".into(),
            target.join("keys").join("site.pub").into(),
        ];
        args.extend(extra.iter().map(OsString::from));
        run(args)
    };
    let state_path = target.join("disconnected").join("trust-state.json");
    let replay = verify(&["--state", state_path.to_str().unwrap()]);
    assert_eq!(replay.code, 1, "{replay:?}");
    assert!(replay.stderr.contains("not newer than"), "{replay:?}");

    // The demo's last tip: its command passes until one byte of a content file changes, and
    // then refuses, naming the file.
    let tip: Vec<OsString> = demo
        .stdout
        .lines()
        .last()
        .and_then(|line| line.strip_prefix("$ wsus-airgap "))
        .expect("the demo ends with a command to try")
        .split(' ')
        .map(OsString::from)
        .collect();
    assert_eq!(run(tip.clone()).code, 0);
    let victim = walkdir::WalkDir::new(media.join("WsusContent"))
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .find(|entry| entry.depth() == 2 && entry.file_type().is_file())
        .unwrap()
        .into_path();
    let mut bytes = fs::read(&victim).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&victim, bytes).unwrap();
    let tampered = run(tip);
    assert_eq!(tampered.code, 1, "{tampered:?}");
    let relative = victim.strip_prefix(media.join("WsusContent")).unwrap();
    let changed = format!(
        "changed: {}: ",
        relative.to_str().unwrap().replace('\\', "/")
    );
    assert!(tampered.stderr.contains(&changed), "{tampered:?}");

    // It never writes into a folder that holds something already.
    let again = run([OsString::from("demo"), target.into()]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(
        again.stderr.contains("the folder is not empty"),
        "{again:?}"
    );
}

/// The demo's approvals step: those whose content arrived are applied, the one whose file is
/// missing is held back, saying so; the wait ends with every approved update ready.
fn assert_approvals_step(stdout: &str) {
    let held: Vec<&str> = (stdout.lines())
        .filter(|line| line.starts_with("held back: approval of "))
        .collect();
    assert_eq!(held.len(), 1, "{stdout}");
    assert!(
        held[0].ends_with(" for All Computers: content missing"),
        "{stdout}"
    );
    let approved = stdout.lines().filter(|line| line.starts_with("approved: "));
    assert_eq!(approved.count(), 8, "{stdout}");
    assert!(support::has_line(
        stdout,
        "created group: All Computers/Servers"
    ));
    assert!(
        support::has_line(
            stdout,
            "approvals: 9 approvals and 1 declines carried: 8 approved, 1 declined, 1 held \
             back, 0 already here"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nwait: all 7 approved updates ready after "),
        "{stdout}"
    );
}
