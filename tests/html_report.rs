//! `--html FILE` on `check`, `audit`, `verify` and `import`: one self-contained page a change
//! board reads offline, read back here through an HTML parser. Each page must fetch nothing
//! and run nothing, show the verdict and what was checked, name the updates that would show
//! "Failed to download" with their files, show a hostile title as text, and agree with the
//! `--json` document of the same run. With Chromium installed, `scripts/report-screenshot`
//! renders reports as a reader's browser would.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{Run, TestExport, run_command, stand_in_wsusutil};
use wsus_airgap::synth::{self, ExportSpec, Site, SiteSpec, SyntheticExport, SyntheticUpdate};

/// A title that would run a script if it were not escaped.
const HOSTILE_TITLE: &str = "<script>alert(1)</script> & \"<b>bold</b>\"";

/// A report written by `--html`, checked to be self-contained when read.
struct Report {
    html: String,
}

impl Report {
    fn read(path: &Path) -> Self {
        let html = fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("{}: no report: {error}", path.display()));
        let report = Report { html };
        report.assert_self_contained();
        report
    }

    fn dom(&self) -> tl::VDom<'_> {
        tl::parse(&self.html, tl::ParserOptions::default()).expect("the report parses")
    }

    /// No script, no element that loads anything, no attribute that points anywhere but into
    /// the page, no style that fetches.
    fn assert_self_contained(&self) {
        let dom = self.dom();
        let parser = dom.parser();
        let loaders = [
            "script",
            "link",
            "img",
            "iframe",
            "frame",
            "object",
            "embed",
            "base",
            "audio",
            "video",
            "source",
            "image",
            "use",
            "foreignobject",
            "form",
        ];
        let pointers = [
            "src",
            "href",
            "xlink:href",
            "srcset",
            "action",
            "formaction",
            "data",
            "poster",
            "background",
            "ping",
        ];
        for node in dom.nodes() {
            let Some(tag) = node.as_tag() else { continue };
            let name = tag.name().as_utf8_str().to_lowercase();
            assert!(!loaders.contains(&name.as_str()), "a <{name}> element");
            for (key, value) in tag.attributes().iter() {
                let key = key.to_lowercase();
                let value = value.unwrap_or_default().to_lowercase();
                assert!(!key.starts_with("on"), "<{name} {key}>: an event handler");
                assert!(
                    !pointers.contains(&key.as_str()) || value.starts_with('#'),
                    "<{name} {key}={value:?}>: points outside the page"
                );
                assert!(
                    !value.contains("://")
                        && !value.contains("url(")
                        && !value.starts_with("javascript:"),
                    "<{name} {key}={value:?}>: a reference"
                );
            }
            if name == "style" {
                let style = tag.inner_text(parser).to_lowercase();
                assert!(!style.contains("url(") && !style.contains("@import"));
            }
        }
        let lower = self.html.to_lowercase();
        assert!(!lower.contains("<script"), "a script in the report");
        assert!(lower.starts_with("<!doctype html>"), "not an HTML document");
    }

    /// The decoded text of every element `inner` matches within an element `outer` matches
    /// (each a simple selector: `#id`, `tag`, `.class`, `tag.class`).
    fn texts(&self, outer: &str, inner: &str) -> Vec<String> {
        let dom = self.dom();
        let parser = dom.parser();
        let mut texts = Vec::new();
        for scope in dom.query_selector(outer).expect("a valid selector") {
            let scope = scope.get(parser).unwrap().as_tag().unwrap();
            for handle in scope
                .query_selector(parser, inner)
                .expect("a valid selector")
            {
                texts.push(decoded(&handle.get(parser).unwrap().inner_text(parser)));
            }
        }
        texts
    }

    /// The decoded text of the element with this id.
    fn text(&self, id: &str) -> String {
        let dom = self.dom();
        let parser = dom.parser();
        let element = dom.get_element_by_id(id).expect("the element");
        decoded(&element.get(parser).unwrap().inner_text(parser))
    }

    /// The verdict line's classes (`verdict pass` or `verdict fail`) and its text.
    fn verdict(&self) -> (String, String) {
        let dom = self.dom();
        let parser = dom.parser();
        let verdict = dom.get_element_by_id("verdict").expect("a verdict");
        let verdict = verdict.get(parser).unwrap();
        let class = verdict.as_tag().unwrap().attributes().class().unwrap();
        (
            class.as_utf8_str().into_owned(),
            decoded(&verdict.inner_text(parser)),
        )
    }

    /// "What was checked": each line's name and value.
    fn checked(&self) -> BTreeMap<String, String> {
        let names = self.texts("#checked", "th");
        let values = self.texts("#checked", "td");
        assert_eq!(names.len(), values.len());
        names.into_iter().zip(values).collect()
    }

    /// The rows of the tables of counts: label, then the number of files.
    fn counts(&self) -> BTreeMap<String, u64> {
        let cells = self.texts("table.counts", "td");
        cells
            .chunks(3)
            .map(|row| (row[0].clone(), row[1].replace(',', "").parse().unwrap()))
            .collect()
    }

    /// The KB number of each row of the table of updates that would fail in section `id`.
    fn kbs(&self, id: &str) -> Vec<String> {
        self.texts(&format!("#{id}"), "td.kb")
    }

    /// The titles in the table of updates in section `id`.
    fn titles(&self, id: &str) -> Vec<String> {
        self.texts(&format!("#{id}"), "span.title")
    }
}

/// Text as a reader sees it: the entities maud writes, decoded.
fn decoded(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}\n{}", run.stdout, run.stderr))
}

/// Asserts the facts every report shows about its making.
fn assert_made_here(report: &Report) {
    let checked = report.checked();
    assert_eq!(
        checked["Report made by"],
        format!("wsus-airgap {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(!checked["Report made on host"].is_empty());
    let at = &checked["Report made at (UTC)"];
    assert!(at.len() == 20 && at.ends_with('Z'), "{at}");
}

/// A package whose first software update has the hostile title; no bundles, so that each
/// update's gaps are reported under its own name.
fn hostile_spec() -> ExportSpec {
    ExportSpec {
        bundles: 0,
        unreferenced_files: 2,
        first_title: Some(HOSTILE_TITLE.to_owned()),
        ..ExportSpec::default()
    }
}

/// The update with the hostile title, as the package's latest revision has it.
fn hostile_update(export: &SyntheticExport) -> &SyntheticUpdate {
    let first = export
        .updates
        .iter()
        .find(|update| update.title == HOSTILE_TITLE)
        .expect("the hostile update");
    export.update(&first.id).unwrap()
}

#[test]
fn check_names_the_failing_update_shows_a_hostile_title_as_text_and_agrees_with_json() {
    let test = TestExport::new(&support::small_spec(), &hostile_spec());
    let lost = hostile_update(&test.export).files[0].path.clone();
    test.site.site.remove(test.index_of(&lost)).unwrap();
    let html = test.site.dir.path().join("reports").join("check.html");

    let run = test.check(&["--quiet", "--json", "--html", html.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let document = json(&run);
    let report = Report::read(&html);

    let (class, text) = report.verdict();
    assert_eq!(class, "verdict fail");
    assert_eq!(document["result"], "incomplete");
    assert!(text.starts_with("Incomplete"), "{text}");
    assert!(report.text("meaning").contains("Failed to download"));

    let checked = report.checked();
    assert_eq!(
        checked["Export package"],
        test.package.display().to_string()
    );
    assert_eq!(checked["Exported by WSUS server"], synth::SERVER_ID);
    assert_eq!(checked["Package created"], synth::CREATION_TIME);
    assert_eq!(
        checked["Content folder"],
        test.site.root().display().to_string()
    );
    assert_made_here(&report);

    // The failing updates, in the order of the JSON report, the hostile title as text.
    let failing = document["failing"].as_array().unwrap();
    let kbs: Vec<String> = failing
        .iter()
        .map(|update| format!("KB{}", update["kb"].as_str().unwrap()))
        .collect();
    assert_eq!(report.kbs("failing"), kbs);
    let hostile = hostile_update(&test.export);
    assert!(kbs.contains(&format!("KB{}", hostile.kb.as_deref().unwrap())));
    assert!(report.titles("failing").contains(&HOSTILE_TITLE.to_owned()));
    assert!(
        report
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    let files = report.texts("#failing", "li");
    assert!(
        files
            .iter()
            .any(|line| line.starts_with("missing ") && line.contains(&lost)),
        "{files:?}"
    );

    // The counts are the JSON report's.
    let totals = &document["totals"];
    let counts = report.counts();
    for (label, field) in [
        ("Present and intact", "present"),
        ("Missing", "missing"),
        ("Corrupt", "corrupt"),
        ("Unreadable", "unreadable"),
        ("Orphans: content no update references", "orphans"),
    ] {
        assert_eq!(Some(counts[label]), totals[field].as_u64(), "{label}");
    }
    assert_eq!(totals["orphans"], 2);
    assert_eq!(
        report.texts("figure.chart", "svg").len(),
        1,
        "a bar of bytes"
    );
}

#[test]
fn a_complete_check_and_a_clean_audit_are_green_and_a_damaged_folder_red() {
    let test = TestExport::small();
    let dir = test.site.dir.path();
    let check = test.check(&[
        "--quiet",
        "--html",
        dir.join("check.html").to_str().unwrap(),
    ]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    let report = Report::read(&dir.join("check.html"));
    assert_eq!(report.verdict().0, "verdict pass");
    assert!(report.verdict().1.starts_with("Complete"));
    assert!(report.kbs("failing").is_empty());

    let audit = |name: &str| {
        let html = dir.join(name);
        let run = support::run([
            "audit".as_ref(),
            test.site.root().as_os_str(),
            "--quiet".as_ref(),
            "--json".as_ref(),
            "--html".as_ref(),
            html.as_os_str(),
        ]);
        (run.code, json(&run), Report::read(&html))
    };
    let (code, _, clean) = audit("clean.html");
    assert_eq!(code, 0);
    assert_eq!(clean.verdict().0, "verdict pass");
    assert_eq!(
        clean.checked()["Content folder"],
        test.site.root().display().to_string()
    );
    assert_made_here(&clean);

    let corrupted = test.site.site.corrupt(3).unwrap();
    let (code, document, damaged) = audit("damaged.html");
    assert_eq!(code, 1);
    assert_eq!(document["result"], "problems");
    let (class, text) = damaged.verdict();
    assert_eq!(class, "verdict fail");
    assert!(text.contains("1 problem (1 corrupt)"), "{text}");
    let rows = damaged.texts("table.findings", "td.path");
    assert_eq!(rows.len() as u64, document["errors"].as_u64().unwrap());
    assert!(rows[0].contains(&corrupted), "{rows:?}");
}

/// Both sides of the air gap, with a connected site whose package has the hostile title.
struct Sides {
    dir: tempfile::TempDir,
    site: Site,
    package: PathBuf,
    export: SyntheticExport,
}

impl Sides {
    fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let spec = SiteSpec {
            files: 16,
            min_size: 100,
            max_size: 5_000,
            large_files: 0,
            large_size: 0,
            seed,
        };
        let site =
            synth::generate(&dir.path().join("connected").join("WsusContent"), &spec).unwrap();
        let package = dir.path().join("package.cab");
        let spec = ExportSpec {
            unreferenced_files: 0,
            ..hostile_spec()
        };
        let export = synth::write_export(&package, &site.files, &spec).unwrap();
        fs::create_dir(dir.path().join("disconnected")).unwrap();
        support::keygen(&dir.path().join("site.key"), &dir.path().join("site.pub"));
        Sides {
            dir,
            site,
            package,
            export,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn content(&self) -> PathBuf {
        self.path("disconnected").join("WsusContent")
    }

    fn command(&self) -> Command {
        support::transfer_command(&self.path("cache"), &self.site.root, &self.path("record"))
    }

    /// `export` of the package to `media` (with only what the receipt lacks, if given).
    fn export(&self, media: &str, since: Option<&Path>) -> PathBuf {
        let media = self.path(media);
        let mut command = self.command();
        command
            .args(["export", "--quiet", "--no-approvals", "--content"])
            .arg(&self.site.root)
            .arg("--media")
            .arg(&media)
            .arg("--key")
            .arg(self.path("site.key"))
            .arg("--package")
            .arg(&self.package);
        if let Some(receipt) = since {
            command.arg("--since").arg(receipt);
        }
        let run = run_command(&mut command);
        assert_eq!(run.code, 0, "{}", run.stderr);
        media
    }

    /// `verify` or `import` of `media` with `--json --html html`.
    fn gate(&self, verb: &str, media: &Path, html: &Path) -> (Run, Value, Report) {
        let mut command = self.command();
        command
            .args([verb, "--quiet", "--json", "--media"])
            .arg(media)
            .arg("--trust")
            .arg(self.path("site.pub"))
            .arg("--content")
            .arg(self.content())
            .arg("--state")
            .arg(self.path("trust-state.json"))
            .arg("--html")
            .arg(html);
        if verb == "import" {
            command.arg("--wsusutil").arg(stand_in_wsusutil());
        }
        let run = run_command(&mut command);
        let document = json(&run);
        (run, document, Report::read(html))
    }
}

#[test]
fn verify_and_import_reports_say_what_the_gate_proved_and_what_the_import_did() {
    let sides = Sides::new(31);
    let media = sides.export("media", None);

    let (run, document, report) = sides.gate("verify", &media, &sides.path("verify.html"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(document["result"], "ready");
    let (class, text) = report.verdict();
    assert_eq!(class, "verdict pass");
    assert!(text.starts_with("Ready to import"), "{text}");
    let checked = report.checked();
    let key_id = document["key_id"].as_str().unwrap();
    assert!(checked["Signature"].contains(key_id));
    assert_eq!(
        checked["Sequence"],
        "1 (last accepted: none recorded for this key)"
    );
    assert_eq!(checked["Expires"], document["expires"].as_str().unwrap());
    assert_eq!(checked["Exported by WSUS server"], synth::SERVER_ID);
    assert_eq!(checked["Package created"], synth::CREATION_TIME);
    assert_eq!(checked["Media"], media.display().to_string());
    assert_eq!(
        checked["Content folder"],
        sides.content().display().to_string()
    );
    assert_made_here(&report);
    let gate = &document["gate"];
    assert_eq!(gate["package"]["server_id"], synth::SERVER_ID);
    assert!(checked["Signed"].contains(gate["signed"].as_str().unwrap()));
    let would = &document["import_would_copy"];
    assert_eq!(
        Some(report.counts()["Copied in"]),
        would["copy_files"].as_u64()
    );
    assert!(would["copy_files"].as_u64().unwrap() > 0);
    assert_eq!(
        report.texts("#at-risk", "p.none").len(),
        1,
        "no update at risk"
    );

    let (run, document, report) = sides.gate("import", &media, &sides.path("import.html"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(document["result"], "imported");
    let (class, text) = report.verdict();
    assert_eq!(class, "verdict pass");
    assert_eq!(text, "Imported Sequence 1 imported");
    let content = &document["content"];
    let counts = report.counts();
    assert_eq!(Some(counts["Copied in"]), content["copy_files"].as_u64());
    assert_eq!(Some(counts["Replaced"]), content["replace_files"].as_u64());
    assert_eq!(
        Some(counts["Already in place"]),
        content["unchanged_files"].as_u64()
    );
    assert!(
        report
            .text("meaning")
            .contains(document["receipt"].as_str().unwrap())
    );
    let files = report.texts("#files", "li");
    assert_eq!(files.len(), document["files"].as_array().unwrap().len());
    assert!(
        files.iter().all(|line| line.starts_with("copy ")),
        "{files:?}"
    );

    // The same media again: refused as replayed, in red, with the reason.
    let (run, document, report) = sides.gate("verify", &media, &sides.path("again.html"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let (class, text) = report.verdict();
    assert_eq!(class, "verdict fail");
    assert_eq!(
        text,
        format!(
            "Refused {}",
            capitalised(document["error"].as_str().unwrap())
        )
    );
    assert!(report.checked()["Refused for"].starts_with("the manifest"));
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    let first = chars.next().unwrap();
    first.to_uppercase().chain(chars).collect()
}

#[test]
fn a_refused_verify_and_import_name_the_updates_at_risk_with_their_files_escaped() {
    let sides = Sides::new(32);
    let first = sides.export("media1", None);
    let imported = sides.gate("import", &first, &sides.path("first.html"));
    assert_eq!(imported.0.code, 0, "{}", imported.0.stderr);

    // The disconnected side loses a file its receipt claims: the next media leaves it off.
    let lost = hostile_update(&sides.export).files[0].path.clone();
    fs::remove_file(sides.content().join(&lost)).unwrap();
    let receipt = sides.path("disconnected").join("wsus-airgap-receipt.json");
    let media = sides.export("media2", Some(&receipt));

    for verb in ["verify", "import"] {
        let html = sides.path(&format!("{verb}.html"));
        let (run, document, report) = sides.gate(verb, &media, &html);
        assert_eq!(run.code, 1, "{verb}: {}", run.stderr);
        assert_eq!(document["refusal"], "not-covered");
        let (class, text) = report.verdict();
        assert_eq!(class, "verdict fail", "{verb}");
        assert!(text.starts_with("Refused"), "{text}");
        if verb == "import" {
            assert!(
                report
                    .text("meaning")
                    .contains("wsusutil import did not run")
            );
        }

        let at_risk = document["updates_at_risk"].as_array().unwrap();
        assert_eq!(report.kbs("at-risk").len(), at_risk.len());
        let hostile = hostile_update(&sides.export);
        assert!(
            report
                .kbs("at-risk")
                .contains(&format!("KB{}", hostile.kb.as_deref().unwrap()))
        );
        assert!(report.titles("at-risk").contains(&HOSTILE_TITLE.to_owned()));
        let files = report.texts("#at-risk", "li");
        assert!(
            files
                .iter()
                .any(|line| line == &format!("not-covered {lost}")),
            "{files:?}"
        );
        let concerned = report.texts("#concerned", "li");
        assert_eq!(concerned.len(), document["files"].as_array().unwrap().len());
    }
}

#[test]
fn a_report_that_cannot_be_written_stops_an_import_before_it_starts() {
    let sides = Sides::new(33);
    let media = sides.export("media", None);
    let blocker = sides.path("not-a-folder");
    fs::write(&blocker, "a file where the report's folder would be").unwrap();
    let mut command = sides.command();
    command
        .args(["import", "--quiet", "--media"])
        .arg(&media)
        .arg("--trust")
        .arg(sides.path("site.pub"))
        .arg("--content")
        .arg(sides.content())
        .arg("--state")
        .arg(sides.path("trust-state.json"))
        .arg("--wsusutil")
        .arg(stand_in_wsusutil())
        .arg("--html")
        .arg(blocker.join("import.html"));
    let run = run_command(&mut command);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot write the report"),
        "{}",
        run.stderr
    );
    assert!(!sides.content().exists(), "nothing was copied");
    assert!(!sides.path("trust-state.json").exists());
    assert!(!sides.path("record").exists(), "wsusutil never ran");
}

/// A check whose package has 10,000 updates, each lacking a file, and its report.
fn ten_thousand_failing(dir: &Path) -> PathBuf {
    let site = synth::generate(
        &dir.join("WsusContent"),
        &SiteSpec {
            files: 4,
            min_size: 10,
            max_size: 100,
            large_files: 0,
            large_size: 0,
            seed: 7,
        },
    )
    .unwrap();
    let package = dir.join("big.cab");
    let spec = ExportSpec {
        software_updates: 10_000,
        second_revisions: 0,
        bundles: 0,
        categories: 0,
        detectoids: 0,
        missing_files: 10_000,
        languages: 1,
        ..ExportSpec::default()
    };
    synth::write_export(&package, &site.files, &spec).unwrap();
    let html = dir.join("big.html");
    let run = support::run([
        "check".as_ref(),
        "--quiet".as_ref(),
        "--package".as_ref(),
        package.as_os_str(),
        "--content".as_ref(),
        site.root.as_os_str(),
        "--html".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    html
}

#[test]
fn a_check_with_ten_thousand_failing_updates_stays_under_ten_megabytes() {
    let dir = tempfile::tempdir().unwrap();
    let html = ten_thousand_failing(dir.path());
    let size = fs::metadata(&html).unwrap().len();
    assert!(size < 10_000_000, "{size} bytes");
    let report = Report::read(&html);
    assert_eq!(report.kbs("failing").len(), 10_000);
}

/// `scripts/report-screenshot REPORT PNG DOM`, with `chromium`: the DOM Chromium built.
fn render(chromium: &Path, html: &Path) -> String {
    let png = html.with_extension("png");
    let dom = html.with_extension("dom.html");
    let run = run_command(
        Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/report-screenshot"))
            .arg(html)
            .arg(&png)
            .arg(&dom)
            .env("CHROMIUM", chromium),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let png = fs::read(&png).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    fs::read_to_string(&dom).unwrap()
}

#[cfg_attr(
    windows,
    ignore = "Chromium is a Linux program here: the Linux run renders the page"
)]
#[test]
fn chromium_renders_the_verdict_the_failing_update_and_ten_thousand_of_them() {
    let Some(chromium) = support::tool("chromium") else {
        return;
    };
    let test = TestExport::new(&support::small_spec(), &hostile_spec());
    let hostile = hostile_update(&test.export);
    let lost = hostile.files[0].path.clone();
    test.site.site.remove(test.index_of(&lost)).unwrap();
    let html = test.site.dir.path().join("check.html");
    let run = test.check(&["--quiet", "--html", html.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    let dom = render(&chromium, &html);
    let rendered = Report { html: dom };
    let (class, text) = rendered.verdict();
    assert_eq!(class, "verdict fail");
    assert!(text.starts_with("Incomplete"), "{text}");
    let kb = format!("KB{}", hostile.kb.as_deref().unwrap());
    assert!(rendered.kbs("failing").contains(&kb));
    // The browser made no element of the title: it is text.
    assert!(
        rendered
            .titles("failing")
            .contains(&HOSTILE_TITLE.to_owned())
    );
    assert!(!rendered.html.to_lowercase().contains("<script"));

    // A large report renders whole (how fast is for a benchmark, not a test).
    let big = ten_thousand_failing(test.site.dir.path());
    let dom = render(&chromium, &big);
    assert_eq!(Report { html: dom }.kbs("failing").len(), 10_000);
}
