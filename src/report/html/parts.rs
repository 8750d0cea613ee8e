//! Pieces several reports show: the updates that would show "Failed to download" with the
//! files they lack, counts of files and bytes, and how numbers are written.

use indicatif::{HumanBytes, HumanCount};
use maud::{Markup, html};

use crate::check::UpdateGap;

/// The heading of the section on the updates that would fail.
pub(super) const AT_RISK: &str = "Updates that would show \"Failed to download\"";

/// A file an update lacks, and what is wrong with it.
pub(super) struct FileLine<'a> {
    pub path: &'a str,
    /// `missing`, `corrupt`, `not-covered`, ...: also its colour.
    pub state: &'static str,
    /// Its name in the metadata, its size, what was found instead; may be empty.
    pub detail: String,
}

/// A table of `updates` under `heading`, each with the files it lacks as `file` describes
/// them; `none` when there are none.
pub(super) fn updates<'a>(
    id: &str,
    heading: &str,
    none: &str,
    updates: &'a [UpdateGap],
    file: impl Fn(&'a str) -> FileLine<'a>,
) -> Markup {
    html! {
        section id=(id) {
            h2 { (heading) " (" (count(updates.len() as u64)) ")" }
            @if updates.is_empty() {
                p.none { (none) }
            } @else {
                table.updates {
                    thead { tr { th { "KB" } th { "Update" } th { "Files it lacks" } } }
                    tbody {
                        @for update in updates { (update_row(update, &file)) }
                    }
                }
            }
        }
    }
}

fn update_row<'a>(update: &'a UpdateGap, file: &impl Fn(&'a str) -> FileLine<'a>) -> Markup {
    html! {
        tr {
            td.kb { @if let Some(kb) = &update.kb { "KB" (kb) } @else { span.none { "none" } } }
            td {
                span.title { (update.title.as_deref().unwrap_or("(no title)")) }
                br;
                span.id { "update " (update.id) ", revision " (update.revision) }
            }
            td {
                ul.files {
                    @for path in &update.files {
                        @let line = file(path);
                        li {
                            span class={ "s " (line.state) } { (line.state) } " "
                            code { (line.path) }
                            @if !line.detail.is_empty() { " " (line.detail) }
                        }
                    }
                    @for absent in &update.absent_updates {
                        li {
                            span.s.missing { "absent" } " bundled update " code { (absent) }
                            " is not in the package, so its content is unknown"
                        }
                    }
                }
            }
        }
    }
}

/// One row of a table of counts.
pub(super) struct Count {
    pub label: &'static str,
    /// Its colour, as in the charts.
    pub class: &'static str,
    pub files: u64,
    pub bytes: Option<u64>,
}

/// A table of files and bytes by state (or action: `heading`).
pub(super) fn counts(heading: &str, rows: &[Count]) -> Markup {
    html! {
        table.counts {
            thead { tr { th { (heading) } th.n { "Files" } th.n { "Bytes" } } }
            tbody {
                @for row in rows {
                    tr {
                        td { span class={ "swatch " (row.class) } {} (row.label) }
                        td.n { (count(row.files)) }
                        td.n {
                            @if let Some(total) = row.bytes {
                                span title={ (count(total)) " bytes" } { (bytes(total)) }
                            } @else { span.none { "unknown" } }
                        }
                    }
                }
            }
        }
    }
}

/// A list of at most `shown` of `items`, saying how many more the JSON report lists.
pub(super) fn capped<T>(items: &[T], shown: usize, item: impl Fn(&T) -> Markup) -> Markup {
    html! {
        ul.files {
            @for each in items.iter().take(shown) { li { (item(each)) } }
            @if items.len() > shown {
                li.none {
                    "... and " (count((items.len() - shown) as u64))
                    " more: the --json report lists them all"
                }
            }
        }
    }
}

/// `12,345`.
pub(super) fn count(value: u64) -> String {
    HumanCount(value).to_string()
}

/// `1.21 MiB`.
pub(super) fn bytes(value: u64) -> String {
    HumanBytes(value).to_string()
}

/// `count files (bytes)`, or `1 file (bytes)`.
pub(super) fn files_and_bytes(files: u64, total: u64) -> String {
    let word = if files == 1 { "file" } else { "files" };
    format!("{} {word} ({})", count(files), bytes(total))
}
