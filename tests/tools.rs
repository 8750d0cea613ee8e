//! The external tools the tests cross-check with: a missing one skips its cross-check with one
//! line, or fails the test when `WSUS_AIRGAP_REQUIRE_TOOLS=1`. Each case runs one of the
//! tests at the end of this file in a child process, which finds its tools in a folder made
//! here, put first on its `PATH`.

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use support::REQUIRE_TOOLS;

/// A program that no `PATH` holds; a plain file of that name, which is no program, is in the
/// folder of tools.
const ABSENT: &str = "wsus-airgap-test-absent-tool";
/// A program in the folder of tools.
const PRESENT: &str = "wsus-airgap-test-present-tool";
/// Tells a child test the folder of tools; without it the child tests do nothing.
const TOOLS: &str = "WSUS_AIRGAP_TEST_TOOLS";

const SKIP_LINE: &str = "skipped: wsus-airgap-test-absent-tool not installed \
                         (set WSUS_AIRGAP_REQUIRE_TOOLS=1 to require it)";

/// What a child test did: whether it passed, and its standard output, then its standard
/// error.
fn child(test: &str, require: Option<&str>) -> (bool, String) {
    let tools = tempfile::tempdir().unwrap();
    fs::write(tools.path().join(ABSENT), "not a program").unwrap();
    let present = tools
        .path()
        .join(format!("{PRESENT}{}", std::env::consts::EXE_SUFFIX));
    fs::write(&present, "").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&present, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut path = vec![tools.path().to_owned()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));

    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PATH", std::env::join_paths(path).unwrap())
        .env(TOOLS, tools.path());
    match require {
        Some(value) => command.env(REQUIRE_TOOLS, value),
        None => command.env_remove(REQUIRE_TOOLS),
    };
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn count_lines(text: &str, wanted: &str) -> usize {
    text.lines().filter(|line| *line == wanted).count()
}

#[test]
fn a_missing_tool_skips_its_cross_check_with_one_line() {
    for require in [None, Some("0"), Some("")] {
        let (passed, text) = child("cross_checks_with_an_absent_tool", require);
        assert!(passed, "{require:?}: {text}");
        assert_eq!(count_lines(&text, SKIP_LINE), 1, "{require:?}: {text}");
        assert!(
            text.contains("the test went on without it"),
            "{require:?}: {text}"
        );
    }
}

#[test]
fn a_missing_tool_fails_its_test_when_tools_are_required() {
    let (passed, text) = child("cross_checks_with_an_absent_tool", Some("1"));
    assert!(!passed, "{text}");
    assert!(
        text.contains(
            "wsus-airgap-test-absent-tool is not installed, \
             and WSUS_AIRGAP_REQUIRE_TOOLS=1 requires it"
        ),
        "{text}"
    );
    assert_eq!(count_lines(&text, SKIP_LINE), 0, "{text}");
    assert!(!text.contains("the test went on without it"), "{text}");
}

#[test]
fn a_tool_on_the_path_is_found_whether_required_or_not() {
    for require in [None, Some("1")] {
        let (passed, text) = child("cross_checks_with_a_present_tool", require);
        assert!(passed, "{require:?}: {text}");
        assert!(!text.contains("skipped:"), "{require:?}: {text}");
        assert!(text.contains("found it"), "{require:?}: {text}");
    }
}

/// The folder of tools, when this runs as a child of the tests above.
fn tools() -> Option<PathBuf> {
    std::env::var_os(TOOLS).map(PathBuf::from)
}

#[test]
#[ignore = "run by the tests above, in a child process"]
fn cross_checks_with_an_absent_tool() {
    if tools().is_none() {
        return;
    }
    // Asked twice, as by a helper called for each file: one line all the same.
    assert_eq!(support::tool(ABSENT), None);
    assert_eq!(support::tool(ABSENT), None);
    println!("the test went on without it");
}

#[test]
#[ignore = "run by the tests above, in a child process"]
fn cross_checks_with_a_present_tool() {
    let Some(tools) = tools() else {
        return;
    };
    let found = support::tool(PRESENT).expect("the tool is found");
    assert_eq!(
        found,
        tools.join(format!("{PRESENT}{}", std::env::consts::EXE_SUFFIX))
    );
    assert!(found.is_file());
    println!("found it");
}

/// The tests' own digests, used where sha1sum and b3sum are absent (as under Wine), give the
/// known answers and, where the tools are installed, what the tools give, at every size that
/// takes another path through BLAKE3's tree (block and chunk edges, several tree levels).
#[test]
fn the_fallback_digests_agree_with_known_answers_and_the_tools() {
    use support::oracle::{blake3_hex, sha1_hex};
    assert_eq!(sha1_hex(b"abc"), "A9993E364706816ABA3E25717850C26C9CD0D89D");
    assert_eq!(
        blake3_hex(b""),
        "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    assert_eq!(
        blake3_hex(b"abc"),
        "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
    );
    let dir = tempfile::tempdir().unwrap();
    for size in [
        1, 63, 64, 65, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 5120, 8193, 31_745, 102_400,
    ] {
        // The input the official test vectors use: bytes counting 0 to 250 over and over.
        let bytes: Vec<u8> = (0..size).map(|index| (index % 251) as u8).collect();
        let path = dir.path().join(format!("input-{size}"));
        fs::write(&path, &bytes).unwrap();
        if let Some(b3sum) = support::tool("b3sum") {
            let output = Command::new(b3sum)
                .arg("--no-names")
                .arg(&path)
                .output()
                .unwrap();
            let expected = String::from_utf8(output.stdout).unwrap();
            assert_eq!(blake3_hex(&bytes), expected.trim(), "{size} bytes");
        }
        if let Some(sha1sum) = support::tool("sha1sum") {
            let output = Command::new(sha1sum).arg(&path).output().unwrap();
            let expected = String::from_utf8(output.stdout).unwrap()[..40].to_uppercase();
            assert_eq!(sha1_hex(&bytes), expected, "{size} bytes");
        }
    }
}
