//! `wsus-airgap mirror`: plan, print, and (unless `--dry-run`) apply.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use anyhow::Result;
use indicatif::{HumanBytes, HumanCount};
use serde::Serialize;
use wsus_airgap::manifest::TransferMode;
use wsus_airgap::manifest::keys::PublicKey;
use wsus_airgap::manifest::verify::{self, VerifyOptions};
use wsus_airgap::mirror::{
    self, Action, ActionKind, Applied, ApplyOptions, Deletions, HashCache, Listing, MirrorError,
    Plan, PlanOptions, Side,
};
use wsus_airgap::progress::Progress;

use super::printable::{Printable, printable};
use super::progress_bar::Bar;
use super::{Exit, plural};
use crate::cli::{MirrorArgs, Mode};

/// Set to a number of bytes, makes the process abort once it has copied that many: for tests
/// of interrupted runs.
const ABORT_AFTER_ENV: &str = "WSUS_AIRGAP_TEST_ABORT_AFTER_BYTES";
/// Overrides where hash caches are kept.
const CACHE_DIR_ENV: &str = "WSUS_AIRGAP_CACHE_DIR";

pub fn run(args: &MirrorArgs) -> Result<Exit> {
    let (listing, manifest_mode) = match (&args.manifest, &args.trust) {
        (Some(folder), Some(trust)) => {
            let trusted = PublicKey::read(trust)?;
            let options = VerifyOptions {
                now: SystemTime::now(),
                allow_expired: false,
                allow_rollback: false,
                state: None,
            };
            let verified = match verify::verify(folder, &trusted, &options) {
                Ok(verified) => verified,
                Err(error) if error.is_refusal() => {
                    stderr_line!("wsus-airgap: refused: {}", printable(&error.to_string()));
                    return Ok(Exit::Problems);
                }
                Err(error) => return Err(error.into()),
            };
            let mode = verified.manifest.mode;
            (Listing::Manifest(verified.manifest.entries), Some(mode))
        }
        _ => (Listing::Scan, None),
    };
    let mode = match args.mode {
        Some(Mode::Incremental) => TransferMode::Incremental,
        Some(Mode::Mirror) => TransferMode::Mirror,
        None => manifest_mode.unwrap_or(TransferMode::Incremental),
    };
    let options = PlanOptions {
        mode,
        full: args.full,
        quarantine: args.quarantine.clone(),
        jobs: args.jobs,
    };
    let apply_options = ApplyOptions {
        max_delete: args.max_delete,
        quarantine: args.quarantine.clone(),
    };
    let (plan, applied) = plan_and_apply(
        &args.source,
        &args.destination,
        &listing,
        &options,
        (!args.dry_run).then_some(&apply_options),
        args.output.quiet,
    )?;

    let mut stdout = super::stdout::lock();
    if args.output.json {
        write_json(&plan, applied.as_ref(), &mut stdout)?;
    } else {
        write_text(&plan, applied.as_ref(), &mut Printable(&mut stdout))?;
    }
    stdout.flush()?;
    let Some(mut applied) = applied else {
        return Ok(Exit::Success);
    };
    if let Some(error) = applied.stopped.take() {
        return Err(error.into());
    }
    Ok(if applied.is_complete() {
        Exit::Success
    } else {
        Exit::Problems
    })
}

/// `N to copy (B), N to replace (B), N to delete (B), N unchanged (B)`.
pub(super) fn totals_text(totals: &mirror::PlanTotals) -> String {
    format!(
        "{} to copy ({}), {} to replace ({}), {} to delete ({}), {} unchanged ({})",
        HumanCount(totals.copy_files),
        HumanBytes(totals.copy_bytes),
        HumanCount(totals.replace_files),
        HumanBytes(totals.replace_bytes),
        HumanCount(totals.delete_files),
        HumanBytes(totals.delete_bytes),
        HumanCount(totals.unchanged_files),
        HumanBytes(totals.unchanged_bytes),
    )
}

fn write_text(plan: &Plan, applied: Option<&Applied>, out: &mut impl Write) -> io::Result<()> {
    let actions = applied.map_or(plan.actions.as_slice(), |applied| applied.done.as_slice());
    for action in actions {
        writeln!(out, "{}", action_line(action))?;
    }
    let totals = &plan.totals;
    let summary = totals_text(totals);
    let Some(applied) = applied else {
        writeln!(out, "plan ({} mode): {summary}", plan.mode)?;
        return writeln!(out, "dry run: nothing was changed");
    };
    for rejected in &applied.rejected {
        writeln!(
            out,
            "rejected: {}: expected BLAKE3 {}, the source holds {}; not put in place",
            rejected.path, rejected.expected, rejected.found
        )?;
    }
    match &applied.deletions {
        Deletions::Done => {}
        Deletions::SkippedAfterErrors => {
            writeln!(
                out,
                "deletions: none made, because the copies did not all succeed"
            )?;
        }
        Deletions::TooMany { planned, max } => writeln!(
            out,
            "deletions: none made: the plan deletes {planned} {}, more than --max-delete {max}",
            plural(*planned as usize, "file")
        )?,
    }
    writeln!(out, "planned ({} mode): {summary}", plan.mode)?;
    let verdict = if applied.stopped.is_some() {
        "stopped".to_owned()
    } else if !applied.rejected.is_empty() {
        format!(
            "{} {} rejected",
            applied.rejected.len(),
            plural(applied.rejected.len(), "file")
        )
    } else if applied.deletions != Deletions::Done {
        "deletions refused".to_owned()
    } else {
        "done".to_owned()
    };
    writeln!(out, "result: {verdict}")
}

/// `+ copy 00/A.cab (1,234 bytes)` and the like: the same line in the plan and in the run.
fn action_line(action: &Action) -> String {
    let path = printable(action.path.as_str());
    let size = || format!("({} bytes)", HumanCount(action.size));
    match action.kind {
        ActionKind::RemoveTemporary => format!("- temporary {path} {}", size()),
        ActionKind::CreateFolder => format!("+ folder {path}/"),
        ActionKind::Copy => format!("+ copy {path} {}", size()),
        ActionKind::Replace => format!("* replace {path} {}", size()),
        ActionKind::Delete => format!("- delete {path} {}", size()),
        ActionKind::Quarantine => format!("> quarantine {path} {}", size()),
        ActionKind::DeleteFolder => format!("- folder {path}/"),
    }
}

fn write_json(plan: &Plan, applied: Option<&Applied>, out: &mut impl Write) -> io::Result<()> {
    #[derive(Serialize)]
    struct Run<'a> {
        done: &'a [Action],
        rejected: &'a [mirror::Rejected],
        deletions: &'a Deletions,
        stopped: Option<String>,
        complete: bool,
    }
    #[derive(Serialize)]
    struct Document<'a> {
        plan: &'a Plan,
        dry_run: bool,
        run: Option<Run<'a>>,
    }
    let document = Document {
        plan,
        dry_run: applied.is_none(),
        run: applied.map(|applied| Run {
            done: &applied.done,
            rejected: &applied.rejected,
            deletions: &applied.deletions,
            stopped: applied.stopped.as_ref().map(ToString::to_string),
            complete: applied.is_complete(),
        }),
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Plans a copy and, given `apply_options`, carries it out: with both sides' hash caches (saved
/// afterwards) and a progress bar unless `quiet`.
pub(super) fn plan_and_apply(
    source: &Path,
    destination: &Path,
    listing: &Listing,
    options: &PlanOptions,
    apply_options: Option<&ApplyOptions>,
    quiet: bool,
) -> Result<(Plan, Option<Applied>), MirrorError> {
    let cache_files = [cache_file(source), cache_file(destination)];
    let load_cache = |side: Side| {
        let file = match side {
            Side::Source => &cache_files[0],
            Side::Destination => &cache_files[1],
        };
        file.as_deref().map(HashCache::load).unwrap_or_default()
    };
    let bar = Bar::new(quiet);
    let planned = mirror::plan(source, destination, listing, options, load_cache, &bar);
    bar.finish();
    let (plan, mut caches) = planned?;
    let applied = apply_options.map(|apply_options| {
        let bar = Bar::new(quiet);
        let abort_after = std::env::var(ABORT_AFTER_ENV)
            .ok()
            .and_then(|n| n.parse().ok());
        let progress = AbortAfter {
            inner: &bar,
            copied: AtomicU64::new(0),
            limit: abort_after,
        };
        let applied = mirror::apply(&plan, apply_options, &mut caches, &progress);
        bar.finish();
        applied
    });
    // The caches only speed up the next run; failing to save them is not worth failing for.
    let [source_cache, destination_cache] = cache_files;
    if let Some(path) = source_cache {
        let _ = caches.source.save(&path);
    }
    if let Some(path) = destination_cache {
        let _ = caches.destination.save(&path);
    }
    Ok((plan, applied))
}

/// Where the hash cache of the tree at `root` lives: one file per tree, named by a hash of
/// its absolute path, under the user's cache folder. `None` when there is no such folder.
fn cache_file(root: &Path) -> Option<PathBuf> {
    let folder = std::env::var_os(CACHE_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| {
            if cfg!(windows) {
                std::env::var_os("LOCALAPPDATA")
                    .map(|local| PathBuf::from(local).join("wsus-airgap").join("cache"))
            } else {
                std::env::var_os("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache"))
                    })
                    .map(|cache| cache.join("wsus-airgap"))
            }
        })?;
    let absolute = std::path::absolute(root).ok()?;
    let key = blake3::hash(absolute.to_string_lossy().as_bytes()).to_hex();
    Some(folder.join(format!("hashes-{}.bin", &key[..16])))
}

/// Progress that aborts the process after a number of copied bytes (see [`ABORT_AFTER_ENV`]).
struct AbortAfter<'a> {
    inner: &'a dyn Progress,
    copied: AtomicU64,
    limit: Option<u64>,
}

impl Progress for AbortAfter<'_> {
    fn start(&self, files: u64, bytes: u64) {
        self.inner.start(files, bytes);
    }

    fn bytes_read(&self, bytes: u64) {
        self.inner.bytes_read(bytes);
        let copied = self.copied.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if self.limit.is_some_and(|limit| copied >= limit) {
            std::process::abort();
        }
    }

    fn file_done(&self) {
        self.inner.file_done();
    }
}
