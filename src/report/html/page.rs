//! The frame every report shares: the verdict, what it means, what was checked, the sections
//! of the command, and who made the report, when and where.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::report::Made;

/// The style sheet, inlined: a report fetches nothing.
const STYLE: &str = include_str!("style.css");

/// The verdict of a report, in one line and in plain words.
pub(super) struct Verdict {
    pub passed: bool,
    /// One or two words: `Complete`, `Refused`, `Ready to import`.
    pub word: &'static str,
    /// The verdict in one sentence.
    pub sentence: String,
    /// What it means for the import.
    pub meaning: String,
}

/// One line of "what was checked".
pub(super) type Fact = (&'static str, String);

/// The verdict's sentence without its word (`complete: every ...` after `Complete`), with a
/// capital.
fn sentence(verdict: &Verdict) -> String {
    let text = verdict.sentence.as_str();
    let prefix = format!("{}: ", verdict.word.to_lowercase());
    let text = match text.get(..prefix.len()) {
        Some(start) if start.to_lowercase() == prefix => &text[prefix.len()..],
        _ => text,
    };
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The whole page of a report of `command`.
pub(super) fn page(
    command: &str,
    verdict: &Verdict,
    checked: &[Fact],
    sections: &Markup,
    made: &Made,
) -> String {
    let made_facts: [Fact; 3] = [
        ("Report made by", made.tool.clone()),
        ("Report made at (UTC)", made.at.to_string()),
        ("Report made on host", made.host.clone()),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "wsus-airgap " (command) ": " (verdict.word) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    p.kind { "wsus-airgap " (command) " report" }
                    p.verdict.pass[verdict.passed].fail[!verdict.passed] id="verdict" {
                        strong { (verdict.word) } " " (sentence(verdict))
                    }
                    p.meaning id="meaning" { (verdict.meaning) }
                    section id="checked" {
                        h2 { "What was checked" }
                        table.facts {
                            @for (name, value) in checked.iter().chain(&made_facts) {
                                tr { th scope="row" { (name) } td { (value) } }
                            }
                        }
                    }
                    (sections)
                    footer {
                        "Made by " (made.tool) " on " (made.host) " at " (made.at)
                        ". The same run with --json writes this report's data as one JSON \
                         document."
                    }
                }
            }
        }
    }
    .into_string()
}
