//! WSUS itself, through the stand-in PowerShell (this crate's binary under that name, see
//! `src/synth/powershell.rs`), whose "server" is a JSON file: approvals, declines and
//! computer groups carried from the connected server in the signed manifest; planned, and
//! applied only where the imported content is proven complete; settings compared; the wait
//! for WSUS to see the files; and PowerShell failing or missing.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::trip::Trip;
use support::{Run, run_command, stand_in_powershell};
use wsus_airgap::package::{self, Update};

const ALL_COMPUTERS: &str = "a0a08746-4dbe-4a37-9adf-9e7652c0b421";
const SERVERS: &str = "11111111-1111-4111-8111-111111111111";
const SQL: &str = "22222222-2222-4222-8222-222222222222";
const DEADLINE: &str = "2027-01-01T00:00:00Z";

/// A round trip with a WSUS server on each side: the trip's content and keys, a package the
/// stand-in wsusutil made of it, and the package's updates.
struct Servers {
    trip: Trip,
    package: PathBuf,
    /// The software updates with files of their own, in the package's order (the stand-in
    /// wsusutil makes three).
    software: Vec<Update>,
    /// The bundles: each bundles two of the software updates.
    bundles: Vec<Update>,
}

impl Servers {
    fn new(seed: u64) -> Self {
        let trip = Trip::new(seed);
        let package = trip.package();
        let read = package::open(&package).unwrap();
        // Each update once, at its latest revision (the stand-in gives one a second).
        let mut software: Vec<Update> = Vec::new();
        for update in &read.updates {
            if update.kind != "Software" || update.files.is_empty() {
                continue;
            }
            match software.iter_mut().find(|known| known.id == update.id) {
                Some(known) if known.revision < update.revision => *known = update.clone(),
                Some(_) => {}
                None => software.push(update.clone()),
            }
        }
        let bundles: Vec<Update> = (read.updates.iter())
            .filter(|update| !update.bundled.is_empty())
            .cloned()
            .collect();
        assert_eq!((software.len(), bundles.len()), (3, 2));
        Servers {
            trip,
            package,
            software,
            bundles,
        }
    }

    fn connected_state(&self) -> PathBuf {
        self.trip.path("connected-wsus.json")
    }

    fn disconnected_state(&self) -> PathBuf {
        self.trip.path("disconnected-wsus.json")
    }

    fn media(&self) -> PathBuf {
        self.trip.path("media")
    }

    /// The connected server: the built-in groups, Servers under All Computers and SQL under
    /// Servers, and `approvals` and `declines`.
    fn connect(&self, approvals: Vec<Value>, declines: Vec<Value>) {
        let server = json!({
            "server": {"name": "WSUS-A", "version": "10.0.17763.678", "all_languages": false,
                       "languages": ["en"], "express_files": false},
            "groups": [
                {"id": ALL_COMPUTERS, "name": "All Computers", "parent": null},
                {"id": "b73ca6ed-5727-47f3-84de-015e03f6a88a", "name": "Unassigned Computers",
                 "parent": ALL_COMPUTERS},
                {"id": SERVERS, "name": "Servers", "parent": ALL_COMPUTERS},
                {"id": SQL, "name": "SQL", "parent": SERVERS},
            ],
            "approvals": approvals,
            "declines": declines,
        });
        write_json(&self.connected_state(), &server);
    }

    /// The disconnected server, before the import, as `server`.
    fn disconnect(&self, server: &Value) {
        write_json(&self.disconnected_state(), server);
    }

    /// `export` of the package with the connected server's state, and `more`.
    fn export(&self, more: &[&str]) -> Run {
        let mut command = self.trip.command();
        command
            .env("WSUS_STANDIN_STATE", self.connected_state())
            .args(["export", "--quiet", "--content"])
            .arg(&self.trip.site.root)
            .arg("--media")
            .arg(self.media())
            .arg("--key")
            .arg(self.trip.path("site.key"))
            .arg("--package")
            .arg(&self.package);
        if !more
            .iter()
            .any(|arg| ["--approvals", "--powershell", "--no-approvals"].contains(arg))
        {
            command.arg("--powershell").arg(stand_in_powershell());
        }
        run_command(command.args(more))
    }

    /// `verify` or `import` of the media on the disconnected server, with `more`.
    fn gate(&self, verb: &str, more: &[&str]) -> Command {
        let mut command = self.trip.gate(verb, &self.media());
        command
            .env("WSUS_STANDIN_STATE", self.disconnected_state())
            .arg("--powershell")
            .arg(stand_in_powershell())
            .args(more);
        command
    }

    fn import(&self, more: &[&str]) -> Run {
        run_command(&mut self.gate("import", more))
    }

    /// The disconnected server as the stand-in left it.
    fn disconnected(&self) -> Value {
        serde_json::from_slice(&fs::read(self.disconnected_state()).unwrap()).unwrap()
    }

    /// The connected content file `path` (relative) removed.
    fn remove_content(&self, path: &str) {
        fs::remove_file(self.trip.site.root.join(path)).unwrap();
    }
}

fn write_json(path: &Path, value: &Value) {
    fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

/// An Install approval of `update` for `group`.
fn approval(update: &Update, group: &str, deadline: Option<&str>) -> Value {
    json!({"update_id": update.id, "revision": update.revision, "group_id": group,
           "action": "Install", "deadline": deadline, "optional": false, "state": "Active"})
}

fn decline(update: &Update) -> Value {
    json!({"update_id": update.id, "revision": update.revision})
}

/// `KB<n> <title> [update <id>, revision <n>]`: how the reports name an update.
fn name(update: &Update) -> String {
    let kb = update
        .kb
        .as_ref()
        .map_or(String::new(), |kb| format!("KB{kb} "));
    let title = update.title.as_deref().unwrap_or("(no title)");
    format!(
        "{kb}{title} [update {}, revision {}]",
        update.id, update.revision
    )
}

/// The lines of an import's report between the receipt and the result: its WSUS part.
fn wsus_lines(stdout: &str) -> Vec<String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("receipt: "))
        .unwrap()
        + 1;
    let end = lines
        .iter()
        .position(|line| line.starts_with("result: "))
        .unwrap();
    lines[start..end]
        .iter()
        .map(|line| line.to_string())
        .collect()
}

/// The approvals of `server`, as (update, group, action, deadline, state), sorted.
fn approvals_of(server: &Value) -> Vec<(String, String, String, Option<String>)> {
    let mut approvals: Vec<_> = server["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|approval| {
            (
                approval["update_id"].as_str().unwrap().to_owned(),
                approval["group_id"].as_str().unwrap().to_owned(),
                approval["action"].as_str().unwrap().to_owned(),
                approval["deadline"].as_str().map(str::to_owned),
            )
        })
        .collect();
    approvals.sort();
    approvals
}

/// The id of the group named `name` on `server`.
fn group_id(server: &Value, name: &str) -> String {
    let groups = server["groups"].as_array().unwrap();
    let group = groups.iter().find(|group| group["name"] == name);
    group.unwrap_or_else(|| panic!("no group {name}: {server:#}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The updates by KB number, as the reports list them.
fn by_kb<'a>(updates: &[&'a Update]) -> Vec<&'a Update> {
    let mut sorted = updates.to_vec();
    sorted.sort_by_key(|update| (update.kb.clone(), update.title.clone()));
    sorted
}

#[test]
fn approvals_are_carried_signed_and_applied_with_groups_created_and_a_decline() {
    let servers = Servers::new(1801);
    let (s0, s1, s2, b0) = (
        &servers.software[0],
        &servers.software[1],
        &servers.software[2],
        &servers.bundles[0],
    );
    servers.connect(
        vec![
            approval(s0, ALL_COMPUTERS, None),
            approval(s1, SQL, None),
            approval(b0, ALL_COMPUTERS, Some(DEADLINE)),
        ],
        vec![decline(s2)],
    );
    let exported = servers.export(&[]);
    assert_eq!(exported.code, 0, "{exported:?}");
    assert!(
        support::has_line(
            &exported.stdout,
            "wsus: 3 approvals, 1 declines, 4 computer groups carried"
        ),
        "{exported:?}"
    );
    assert_carried_in_the_manifest(&servers.media());
    let imported = servers.import(&["--approvals", "apply"]);
    assert_eq!(imported.code, 0, "{imported:?}");
    let mut expected = vec![
        "created group: All Computers/Servers".to_owned(),
        "created group: All Computers/Servers/SQL".to_owned(),
    ];
    for update in by_kb(&[s0, s1, b0]) {
        expected.push(if update == s0 {
            format!("approved: {} for All Computers (Install)", name(s0))
        } else if update == s1 {
            format!(
                "approved: {} for All Computers/Servers/SQL (Install)",
                name(s1)
            )
        } else {
            format!(
                "approved: {} for All Computers (Install, deadline {DEADLINE})",
                name(b0)
            )
        });
    }
    expected.push(format!("declined: {}", name(s2)));
    expected.push(
        "approvals: 3 approvals and 1 declines carried: 3 approved, 1 declined, 0 held back, 0 \
         already here"
            .to_owned(),
    );
    assert_eq!(wsus_lines(&imported.stdout), expected, "{imported:?}");

    let server = servers.disconnected();
    let sql_here = group_id(&server, "SQL");
    assert_ne!(sql_here, SQL);
    let servers_here = group_id(&server, "Servers");
    let sql_group = server["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == sql_here.as_str());
    assert_eq!(sql_group.unwrap()["parent"], json!(servers_here));
    let mut wanted = vec![
        (
            s0.id.clone(),
            ALL_COMPUTERS.to_owned(),
            "Install".to_owned(),
            None,
        ),
        (s1.id.clone(), sql_here, "Install".to_owned(), None),
        (
            b0.id.clone(),
            ALL_COMPUTERS.to_owned(),
            "Install".to_owned(),
            Some(DEADLINE.to_owned()),
        ),
    ];
    wanted.sort();
    assert_eq!(approvals_of(&server), wanted);
    assert_eq!(server["declines"][0]["update_id"], json!(s2.id));

    // Again: all there already, left alone, nothing unapproved.
    let again = servers.import(&["--approvals", "apply"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        wsus_lines(&again.stdout),
        [
            "approvals: 3 approvals and 1 declines carried: 0 approved, 0 declined, 0 held back, \
          4 already here"
        ]
    );
    assert_eq!(approvals_of(&servers.disconnected()), wanted);
}

#[test]
fn the_default_plans_and_changes_nothing() {
    let servers = Servers::new(1802);
    let s0 = &servers.software[0];
    servers.connect(vec![approval(s0, SERVERS, None)], Vec::new());
    assert_eq!(servers.export(&[]).code, 0);
    let log = servers.trip.path("import.log");
    let imported = servers.import(&["--log", log.to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{imported:?}");
    assert_eq!(
        wsus_lines(&imported.stdout),
        [
            "would create group: All Computers/Servers".to_owned(),
            format!(
                "would approve: {} for All Computers/Servers (Install)",
                name(s0)
            ),
            "approvals: 1 approvals and 0 declines carried: 1 to approve, 0 to decline, 0 held \
             back, 0 already here; nothing changed (--approvals apply applies them)"
                .to_owned(),
        ]
    );
    let server = servers.disconnected();
    assert_eq!(server["approvals"], json!([]));
    assert_eq!(server["groups"].as_array().unwrap().len(), 3, "{server:#}");
    // Once the plan reads right, the same media again applies it.
    let applied = servers.import(&["--approvals", "apply"]);
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(
        support::last_line(&applied.stdout).starts_with("result: already imported at "),
        "{applied:?}"
    );
    assert_eq!(
        wsus_lines(&applied.stdout)[..2],
        [
            "created group: All Computers/Servers".to_owned(),
            format!("approved: {} for All Computers/Servers (Install)", name(s0)),
        ]
    );
    assert_eq!(approvals_of(&servers.disconnected()).len(), 1);
    // The step log records the WSUS steps.
    let log = fs::read_to_string(log).unwrap();
    assert!(
        log.contains("import: WSUS read: version 10.0.17763.678"),
        "{log}"
    );
    assert!(
        log.contains("import: approvals planned: 1 to approve, 0 to decline, 1 groups to create"),
        "{log}"
    );
}

#[test]
fn approvals_are_held_back_for_missing_content_a_missing_update_and_a_missing_group() {
    let servers = Servers::new(1803);
    let (s0, s1, s2) = (
        &servers.software[0],
        &servers.software[1],
        &servers.software[2],
    );
    // s0 loses a file on the connected side; the bundles that bundle s0 lack it too.
    let lost = s0.files[0].content_path();
    servers.remove_content(&lost);
    let bundling_s0: Vec<&Update> = (servers.bundles.iter())
        .filter(|bundle| bundle.bundled.contains(&s0.id))
        .collect();
    assert!(!bundling_s0.is_empty());
    let absent = "33333333-3333-4333-8333-333333333333";
    let nowhere = "44444444-4444-4444-8444-444444444444";
    // The group of s2's approval is not among the carried groups, and has no path: an
    // approvals file can say so.
    let all = || json!(["All Computers"]);
    let mut entries = vec![
        (s0.id.as_str(), s0.revision, ALL_COMPUTERS, all()),
        (s1.id.as_str(), s1.revision, ALL_COMPUTERS, all()),
        (s2.id.as_str(), s2.revision, nowhere, json!([])),
        (absent, 1, ALL_COMPUTERS, all()),
    ];
    entries.extend(
        bundling_s0
            .iter()
            .map(|b| (b.id.as_str(), b.revision, ALL_COMPUTERS, all())),
    );
    let approvals_file = approvals_file(&servers, &entries);

    let exported = servers.export(&[
        "--allow-gaps",
        "--approvals",
        approvals_file.to_str().unwrap(),
    ]);
    assert_eq!(exported.code, 0, "{exported:?}");
    let html = servers.trip.path("import.html");
    let imported = servers.import(&["--approvals", "apply", "--html", html.to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{imported:?}");

    let mut expected = vec![format!(
        "approved: {} for All Computers (Install)",
        name(s1)
    )];
    let mut held: Vec<(Vec<String>, String)> = Vec::new();
    let lacking = |update: &Update| {
        format!(
            "held back: approval of {} for All Computers: content missing",
            name(update)
        )
    };
    for update in std::iter::once(s0).chain(bundling_s0.iter().copied()) {
        held.push((
            vec![lacking(update), format!("  lacks {lost}")],
            update.kb.clone().unwrap_or_default(),
        ));
    }
    held.push((
        vec![format!(
            "held back: approval of {}: group missing, and it cannot be created under the same \
             parent",
            name(s2)
        )],
        s2.kb.clone().unwrap_or_default(),
    ));
    held.sort_by(|a, b| a.1.cmp(&b.1));
    expected.extend(held.into_iter().flat_map(|(lines, _)| lines));
    expected.push(format!(
        "held back: approval of (no title) [update {absent}, revision 0] for All Computers: \
         update absent from the imported metadata"
    ));
    let total = 4 + bundling_s0.len();
    expected.push(format!(
        "approvals: {total} approvals and 0 declines carried: 1 approved, 0 declined, {} held \
         back, 0 already here",
        total - 1
    ));
    assert_eq!(wsus_lines(&imported.stdout), expected, "{imported:?}");
    // The change board's page says the same, in a section of its own.
    let page = fs::read_to_string(&html).unwrap();
    let section = page
        .split_once("<section id=\"wsus\">")
        .unwrap_or_else(|| panic!("no WSUS section in {page}"))
        .1;
    for line in &expected {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(section.contains(&escaped), "{line} not in {section}");
    }
    assert_eq!(
        approvals_of(&servers.disconnected()),
        [(
            s1.id.clone(),
            ALL_COMPUTERS.to_owned(),
            "Install".to_owned(),
            None
        )]
    );
}

#[test]
fn a_licence_is_accepted_only_for_an_update_being_approved() {
    let servers = Servers::new(1804);
    let (s0, s1) = (&servers.software[0], &servers.software[1]);
    // s1 loses a file: its approval is held back, and its licence stays unaccepted.
    servers.remove_content(&s1.files[0].content_path());
    servers.connect(
        vec![
            approval(s0, ALL_COMPUTERS, None),
            approval(s1, ALL_COMPUTERS, None),
        ],
        Vec::new(),
    );
    let licensed = |update: &Update| json!({"id": update.id, "revision": update.revision, "requires_licence": true});
    servers.disconnect(&json!({"updates": [licensed(s0), licensed(s1)]}));
    assert_eq!(servers.export(&["--allow-gaps"]).code, 0);
    let imported = servers.import(&["--approvals", "apply"]);
    assert_eq!(imported.code, 0, "{imported:?}");
    assert!(
        support::has_line(
            &imported.stdout,
            &format!(
                "approved: {} for All Computers (Install, licence accepted)",
                name(s0)
            )
        ),
        "{imported:?}"
    );
    let server = servers.disconnected();
    let accepted = |update: &Update| {
        let updates = server["updates"].as_array().unwrap();
        updates
            .iter()
            .find(|u| u["id"] == update.id.as_str())
            .unwrap()["licence_accepted"]
            .clone()
    };
    assert_eq!((accepted(s0), accepted(s1)), (json!(true), json!(false)));
}

#[test]
fn a_decline_is_held_back_where_the_update_is_approved_here() {
    let servers = Servers::new(1805);
    let (s0, s1) = (&servers.software[0], &servers.software[1]);
    servers.connect(Vec::new(), vec![decline(s0), decline(s1)]);
    servers.disconnect(&json!({
        "updates": [{"id": s1.id, "revision": s1.revision}],
        "approvals": [approval(s1, ALL_COMPUTERS, None)],
    }));
    assert_eq!(servers.export(&[]).code, 0);
    let imported = servers.import(&["--approvals", "apply"]);
    assert_eq!(imported.code, 0, "{imported:?}");
    assert_eq!(
        wsus_lines(&imported.stdout),
        [
            format!("declined: {}", name(s0)),
            format!(
                "held back: decline of {}: approved on this server; declining would unapprove it",
                name(s1)
            ),
            "approvals: 0 approvals and 2 declines carried: 0 approved, 1 declined, 1 held \
             back, 0 already here"
                .to_owned(),
        ]
    );
    let server = servers.disconnected();
    assert_eq!(server["declines"].as_array().unwrap().len(), 1);
    assert_eq!(approvals_of(&server).len(), 1);
}

#[test]
fn settings_that_differ_are_warned_by_verify_and_import() {
    let servers = Servers::new(1806);
    servers.connect(
        vec![approval(&servers.software[0], ALL_COMPUTERS, None)],
        Vec::new(),
    );
    servers.disconnect(&json!({
        "server": {"name": "WSUS-B", "version": "10.0.14393.0", "all_languages": false,
                   "languages": ["en", "de"], "express_files": true},
    }));
    assert_eq!(servers.export(&[]).code, 0);
    let languages = "warning: setting differs: update languages: the source downloads en, this \
                     server en, de; content in de never arrives, and approved updates with \
                     files in it would fail to download:";
    let approved = format!("  would fail to download: {}", name(&servers.software[0]));
    let express = "warning: setting differs: express installation files: off on the source, on \
                   on this server; these updates would fail to download:";
    let version = "warning: setting differs: WSUS version: this server runs 10.0.14393.0, \
                   older than the source's 10.0.17763.678; a receiving server must run the \
                   same version or a later one";
    let verified = run_command(&mut servers.gate("verify", &[]));
    assert_eq!(verified.code, 0, "{verified:?}");
    for line in [languages, &approved, express, version] {
        assert!(
            support::has_line(&verified.stderr, line),
            "{line}\n{verified:?}"
        );
    }
    let imported = servers.import(&[]);
    assert_eq!(imported.code, 0, "{imported:?}");
    for line in [languages, &approved, express, version] {
        assert!(
            support::has_line(&imported.stderr, line),
            "{line}\n{imported:?}"
        );
    }
    // The same settings: no warning.
    let same = Servers::new(1807);
    same.connect(Vec::new(), Vec::new());
    assert_eq!(same.export(&[]).code, 0);
    let verified = run_command(&mut same.gate("verify", &[]));
    assert_eq!(verified.code, 0, "{verified:?}");
    assert!(!verified.stderr.contains("setting differs"), "{verified:?}");
}

#[test]
fn waiting_ends_when_wsus_has_the_files() {
    let servers = Servers::new(1808);
    let (s0, s1) = (&servers.software[0], &servers.software[1]);
    servers.connect(
        vec![
            approval(s0, ALL_COMPUTERS, None),
            approval(s1, ALL_COMPUTERS, None),
        ],
        Vec::new(),
    );
    assert_eq!(servers.export(&[]).code, 0);
    // Pending until the server has been read three times: the import's read, then two polls.
    let mut command = servers.gate(
        "import",
        &[
            "--approvals",
            "apply",
            "--wait",
            "--wait-interval",
            "50ms",
            "--wait-timeout",
            "60s",
        ],
    );
    let imported = run_command(command.env("WSUS_STANDIN_READY_AFTER", "3"));
    assert_eq!(imported.code, 0, "{imported:?}");
    let lines = wsus_lines(&imported.stdout);
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("wait: all 2 approved updates ready after "),
        "{imported:?}"
    );
    assert_eq!(servers.disconnected()["reads"], json!(3));
}

#[test]
fn waiting_that_times_out_names_the_updates_not_ready_and_exits_1() {
    let servers = Servers::new(1809);
    let (s0, s1) = (&servers.software[0], &servers.software[1]);
    servers.connect(
        vec![
            approval(s0, ALL_COMPUTERS, None),
            approval(s1, ALL_COMPUTERS, None),
        ],
        Vec::new(),
    );
    assert_eq!(servers.export(&[]).code, 0);
    let mut command = servers.gate(
        "import",
        &[
            "--approvals",
            "apply",
            "--wait",
            "--wait-interval",
            "100ms",
            "--wait-timeout",
            "1s",
        ],
    );
    let imported = run_command(command.env("WSUS_STANDIN_READY_AFTER", "1000"));
    assert_eq!(imported.code, 1, "{imported:?}");
    let lines = wsus_lines(&imported.stdout);
    let waited: Vec<&String> = lines
        .iter()
        .filter(|line| !line.starts_with("approved: "))
        .collect();
    let mut expected: Vec<String> = by_kb(&[s0, s1])
        .iter()
        .map(|update| format!("not ready: {}", name(update)))
        .collect();
    expected.insert(0, lines[2].clone()); // the approvals line
    assert_eq!(
        waited[..3],
        expected.iter().collect::<Vec<_>>()[..],
        "{imported:?}"
    );
    assert!(
        waited[3].starts_with("wait: 2 of 2 approved updates not ready after "),
        "{imported:?}"
    );
    assert!(support::last_line(&imported.stdout).starts_with("result: imported sequence 1"));
}

#[test]
fn a_powershell_that_fails_midway_is_exit_3_and_what_it_applied_is_reported() {
    let servers = Servers::new(1810);
    let (s0, s1, s2) = (
        &servers.software[0],
        &servers.software[1],
        &servers.software[2],
    );
    servers.connect(
        vec![
            approval(s0, SERVERS, None),
            approval(s1, ALL_COMPUTERS, None),
        ],
        vec![decline(s2)],
    );
    assert_eq!(servers.export(&[]).code, 0);
    // Two steps of four: the group is created, then the first approval, then it fails.
    let mut command = servers.gate("import", &["--approvals", "apply"]);
    let imported = run_command(command.env("WSUS_STANDIN_FAIL_AFTER", "2"));
    assert_eq!(imported.code, 3, "{imported:?}");
    let server = servers.disconnected();
    let servers_here = group_id(&server, "Servers");
    let first = by_kb(&[s0, s1])[0];
    let first_group = if first == s0 {
        servers_here.as_str()
    } else {
        ALL_COMPUTERS
    };
    for line in [
        "wsus-airgap: PowerShell failed: PowerShell ".to_owned(),
        format!("applied before the failure: created group Servers ({servers_here})"),
        format!(
            "applied before the failure: approved update {} for group {first_group} (Install)",
            first.id
        ),
        "2 step(s) were applied in WSUS before the failure; rerun import to see the plan \
         against what is there now"
            .to_owned(),
    ] {
        assert!(
            imported.stderr.lines().any(|l| l.starts_with(&line)),
            "{line}\n{imported:?}"
        );
    }
    assert!(
        imported
            .stderr
            .contains("the stand-in was told to fail after 2 steps"),
        "{imported:?}"
    );
    assert_eq!(approvals_of(&server).len(), 1);
    assert_eq!(server["declines"], json!([]));
    // The import itself is done and recorded.
    assert!(support::last_line(&imported.stdout).starts_with("result: imported sequence 1"));
}

#[test]
fn a_powershell_that_fails_or_is_missing_stops_the_export_with_exit_3() {
    let servers = Servers::new(1811);
    servers.connect(Vec::new(), Vec::new());
    let mut command = servers.trip.command();
    command
        .env("WSUS_STANDIN_STATE", servers.connected_state())
        .env("WSUS_STANDIN_FAIL", "1")
        .args(["export", "--quiet", "--content"])
        .arg(&servers.trip.site.root)
        .arg("--media")
        .arg(servers.media())
        .arg("--key")
        .arg(servers.trip.path("site.key"))
        .arg("--package")
        .arg(&servers.package)
        .arg("--powershell")
        .arg(stand_in_powershell());
    let failed = run_command(&mut command);
    assert_eq!(failed.code, 3, "{failed:?}");
    assert!(
        failed
            .stderr
            .contains("wsus-airgap.ps1: the stand-in was told to fail"),
        "{failed:?}"
    );
    assert!(
        failed
            .stderr
            .contains("nothing was changed in WSUS before the failure")
    );
    assert!(!servers.media().join("manifest.json.minisig").exists());

    let missing = servers.trip.path("no-such-folder").join("powershell.exe");
    let exported = servers.export(&["--powershell", missing.to_str().unwrap()]);
    assert_eq!(exported.code, 3, "{exported:?}");
    assert!(
        exported.stderr.starts_with(&format!(
            "wsus-airgap: PowerShell failed: cannot start PowerShell: {} was not found (give it \
             with --powershell PATH, or do without WSUS: export --no-approvals, import \
             --approvals skip, verify --no-settings-check)\n",
            missing.display()
        )),
        "{exported:?}"
    );
    assert!(!servers.media().join("manifest.json.minisig").exists());
}

#[test]
fn a_powershell_missing_on_import_is_exit_3_after_the_import_is_recorded() {
    let servers = Servers::new(1812);
    servers.connect(
        vec![approval(&servers.software[0], ALL_COMPUTERS, None)],
        Vec::new(),
    );
    assert_eq!(servers.export(&[]).code, 0);
    let missing = servers.trip.path("no-such-folder").join("powershell.exe");
    let mut command = servers.trip.gate("import", &servers.media());
    command
        .args(["--approvals", "apply", "--powershell"])
        .arg(&missing);
    let imported = run_command(&mut command);
    assert_eq!(imported.code, 3, "{imported:?}");
    assert!(imported.stderr.contains("was not found"), "{imported:?}");
    assert!(
        imported
            .stderr
            .contains("nothing was changed in WSUS before the failure")
    );
    assert!(
        servers
            .trip
            .path("disconnected")
            .join("wsus-airgap-receipt.json")
            .is_file()
    );
}

#[test]
fn a_bad_approvals_file_is_refused_naming_the_file_before_anything_is_written() {
    let servers = Servers::new(1813);
    let file = servers.trip.path("approvals.json");
    fs::write(&file, r#"{"format_version": 1, "server": {}}"#).unwrap();
    let exported = servers.export(&["--approvals", file.to_str().unwrap()]);
    assert_eq!(exported.code, 2, "{exported:?}");
    assert!(
        exported.stderr.starts_with(&format!(
            "wsus-airgap: error: {}: not a WSUS state",
            file.display()
        )),
        "{exported:?}"
    );
    assert!(!servers.media().join("manifest.json").exists());
}

#[test]
fn the_json_reports_carry_the_wsus_steps_and_match_their_schemas() {
    let servers = Servers::new(1814);
    let (s0, s1) = (&servers.software[0], &servers.software[1]);
    servers.remove_content(&s1.files[0].content_path());
    servers.connect(
        vec![
            approval(s0, ALL_COMPUTERS, None),
            approval(s1, ALL_COMPUTERS, None),
        ],
        Vec::new(),
    );
    let exported = servers.export(&["--allow-gaps", "--json"]);
    assert_eq!(exported.code, 0, "{exported:?}");
    let document: Value = serde_json::from_str(&exported.stdout).unwrap();
    assert_eq!(
        document["wsus"],
        json!({"approvals": 2, "declines": 0, "groups": 4})
    );
    let written = servers.trip.path("export.json");
    fs::write(&written, &exported.stdout).unwrap();
    support::assert_valid_against_schema("export-report.schema.json", &written);
    support::assert_valid_against_schema(
        "manifest.schema.json",
        &servers.media().join("manifest.json"),
    );

    let verified = run_command(servers.gate("verify", &[]).arg("--json").env("X", "1"));
    assert_eq!(verified.code, 0, "{verified:?}");
    let document: Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(document["settings"], json!([]));
    fs::write(&written, &verified.stdout).unwrap();
    support::assert_valid_against_schema("verify-report.schema.json", &written);

    let imported = run_command(&mut servers.gate("import", &["--approvals", "apply", "--json"]));
    assert_eq!(imported.code, 0, "{imported:?}");
    let document: Value = serde_json::from_str(&imported.stdout).unwrap();
    let wsus = &document["wsus"];
    assert_eq!(wsus["mode"], "apply");
    assert_eq!(wsus["plan"]["approvals"][0]["update"]["id"], json!(s0.id));
    assert_eq!(wsus["plan"]["held"][0]["reason"], "content-missing");
    assert_eq!(wsus["plan"]["held"][0]["update"]["id"], json!(s1.id));
    assert_eq!(wsus["applied"][0]["step"], "approve");
    assert_eq!(wsus["failure"], Value::Null);
    fs::write(&written, &imported.stdout).unwrap();
    support::assert_valid_against_schema("import-report.schema.json", &written);
}

#[test]
fn the_manifest_schema_holds_the_wsus_state_schema_s_definitions() {
    let read = |name: &str| -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("manifests")
            .join(name);
        serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
    };
    let (state, manifest) = (read("wsus-state.schema.json"), read("manifest.schema.json"));
    let definitions = state["$defs"].as_object().unwrap();
    assert!(definitions.len() >= 8);
    for (name, definition) in definitions {
        assert_eq!(&manifest["$defs"][name], definition, "{name}");
    }
    assert_eq!(manifest["properties"]["wsus"]["$ref"], state["$ref"]);
}

/// The manifest carries the three approvals, the one for SQL with its path of names: in the
/// signed manifest, a changed approval breaks the signature.
fn assert_carried_in_the_manifest(media: &Path) {
    let manifest_path = media.join("manifest.json");
    let manifest: Value = serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    let carried = &manifest["wsus"]["approvals"];
    assert_eq!(carried.as_array().unwrap().len(), 3, "{manifest:#}");
    let sql = carried
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["group_id"] == SQL);
    assert_eq!(
        sql.unwrap()["group_path"],
        json!(["All Computers", "Servers", "SQL"])
    );
}

/// An approvals file (`export --approvals FILE`) of Install approvals, each (update,
/// revision, group, group path), with All Computers the only group described; checked
/// against its schema.
fn approvals_file(servers: &Servers, entries: &[(&str, u32, &str, Value)]) -> PathBuf {
    let approvals: Vec<Value> = (entries.iter())
        .map(|(update_id, revision, group, path)| {
            json!({"update_id": update_id, "revision": revision, "group_id": group,
                   "group_path": path, "action": "Install"})
        })
        .collect();
    let file = servers.trip.path("approvals.json");
    write_json(
        &file,
        &json!({
            "format_version": 1,
            "server": {"version": "10.0.17763.678", "all_languages": false,
                       "languages": ["en"], "express_files": false},
            "groups": [{"id": ALL_COMPUTERS, "name": "All Computers", "parent": null}],
            "approvals": approvals,
            "declines": [],
        }),
    );
    support::assert_valid_against_schema("wsus-state.schema.json", &file);
    file
}

#[test]
fn approvals_travel_with_a_transfer_split_over_volumes() {
    let servers = Servers::new(1815);
    let s0 = &servers.software[0];
    servers.connect(vec![approval(s0, SERVERS, None)], Vec::new());
    let exported = servers.export(&["--volume-size", "20000"]);
    assert_eq!(exported.code, 0, "{exported:?}");
    let mut volumes: Vec<PathBuf> = fs::read_dir(servers.media())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("volume-")
        })
        .collect();
    volumes.sort();
    assert!(volumes.len() > 1, "{exported:?}");
    let mut command = servers.trip.command();
    command
        .env("WSUS_STANDIN_STATE", servers.disconnected_state())
        .args(["import", "--quiet", "--trust"])
        .arg(servers.trip.path("site.pub"))
        .arg("--content")
        .arg(servers.trip.content())
        .arg("--state")
        .arg(servers.trip.path("trust-state.json"))
        .arg("--wsusutil")
        .arg(support::stand_in_wsusutil())
        .arg("--powershell")
        .arg(stand_in_powershell())
        .args(["--approvals", "apply"]);
    for volume in volumes.iter().rev() {
        command.arg("--media").arg(volume);
    }
    let imported = run_command(&mut command);
    assert_eq!(imported.code, 0, "{imported:?}");
    assert_eq!(
        wsus_lines(&imported.stdout),
        [
            "created group: All Computers/Servers".to_owned(),
            format!("approved: {} for All Computers/Servers (Install)", name(s0)),
            "approvals: 1 approvals and 0 declines carried: 1 approved, 0 declined, 0 held \
             back, 0 already here"
                .to_owned(),
        ]
    );
}

#[test]
fn verify_without_its_powershell_is_exit_3_unless_told_not_to_read_wsus() {
    let servers = Servers::new(1816);
    servers.connect(Vec::new(), Vec::new());
    assert_eq!(servers.export(&[]).code, 0);
    let missing = servers.trip.path("no-such-folder").join("powershell.exe");
    let mut command = servers.trip.gate("verify", &servers.media());
    let verified = run_command(command.arg("--powershell").arg(&missing));
    assert_eq!(verified.code, 3, "{verified:?}");
    assert!(
        verified
            .stderr
            .starts_with("wsus-airgap: PowerShell failed: cannot start PowerShell: "),
        "{verified:?}"
    );
    let mut command = servers.trip.gate("verify", &servers.media());
    let unchecked = run_command(command.arg("--no-settings-check"));
    assert_eq!(unchecked.code, 0, "{unchecked:?}");
    assert_eq!(
        support::last_line(&unchecked.stdout),
        "result: ready to import"
    );
}

#[test]
fn media_without_a_wsus_state_imports_as_before_without_touching_wsus() {
    let servers = Servers::new(1817);
    let exported = servers.export(&["--no-approvals"]);
    assert_eq!(exported.code, 0, "{exported:?}");
    let manifest = fs::read_to_string(servers.media().join("manifest.json")).unwrap();
    assert!(!manifest.contains("\"wsus\""), "{manifest}");
    // No PowerShell is started: even a missing one is no error.
    let missing = servers.trip.path("no-such-folder").join("powershell.exe");
    let mut command = servers.trip.gate("import", &servers.media());
    command
        .args(["--approvals", "apply", "--powershell"])
        .arg(&missing);
    let imported = run_command(&mut command);
    assert_eq!(imported.code, 0, "{imported:?}");
    assert_eq!(wsus_lines(&imported.stdout), Vec::<String>::new());
    assert!(!servers.disconnected_state().exists());
}
