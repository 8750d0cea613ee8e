//! The disconnected side's workflow. Nothing reaches the content folder before the media
//! passed the gate, and wsusutil never starts before the content is proven complete and the
//! import proven recordable. Only a successful import advances the trust state; any failure
//! leaves it as it was, and a rerun resumes where the copy stopped.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::atomic_file;
use crate::manifest::Timestamp;
use crate::manifest::keys::KeyId;
use crate::manifest::trust::TrustState;
use crate::mirror::{self, Action, ApplyOptions, Deletions, Plan, PlanTotals};
use crate::run_lock::RunLock;

use super::events::{Events, FileLine, Step};
use super::gate::{self, Against, Copy, MediaCheck};
use super::outcome::{Outcome, Refusal, TransferError};
use super::private::PrivateFolder;
use super::receipt::Receipt;
use super::{Media, wsusutil};

/// The receipt beside the content folder.
pub const RECEIPT_FILE: &str = "wsus-airgap-receipt.json";
/// wsusutil's import log, beside the content folder.
pub const IMPORT_LOG: &str = "wsusutil-import.log";

/// What to import, and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub media: PathBuf,
    /// The public key the media must be signed with.
    pub trust: PathBuf,
    /// The disconnected server's WsusContent folder.
    pub content: PathBuf,
    /// The wsusutil program to run.
    pub wsusutil: PathBuf,
    /// Run `wsusutil reset` after the import.
    pub reset: bool,
    /// The trust state: the last sequence imported per key.
    pub state: PathBuf,
    /// Verify and plan only: change nothing, run nothing.
    pub dry_run: bool,
    /// Mirror-mode media: refuse to delete more than this many content files.
    pub max_delete: Option<u64>,
    /// Mirror-mode media: move unlisted content files here instead of deleting them.
    pub quarantine: Option<PathBuf>,
    pub now: SystemTime,
    /// Where hash caches are kept between runs; none: everything is hashed.
    pub cache_folder: Option<PathBuf>,
    pub jobs: Option<NonZeroUsize>,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug)]
pub struct Imported {
    pub media: PathBuf,
    pub check: MediaCheck,
    /// The copy plan's totals.
    pub copied: PlanTotals,
    /// The files copied, replaced, deleted or quarantined (in a dry run, those the copy
    /// would), in order.
    pub files: Vec<Action>,
    /// Where quarantined files went.
    pub quarantine: Option<PathBuf>,
    /// The receipt written beside the content folder; `None` in a dry run (and for media
    /// imported already, when there is none).
    pub receipt: Option<PathBuf>,
    /// `wsusutil reset` ran after the import.
    pub reset: bool,
    /// The manifest is the one the trust state last accepted, at this time: nothing was
    /// copied or run, and the trust state is as it was.
    pub already_imported: Option<Timestamp>,
}

impl Imported {
    pub fn key_id(&self) -> KeyId {
        self.check.verified.key_id
    }

    pub fn sequence(&self) -> u64 {
        self.check.verified.manifest.sequence
    }
}

/// Runs the import, telling `events` each step.
pub fn import(
    options: &ImportOptions,
    events: &dyn Events,
) -> Result<Outcome<Imported>, TransferError> {
    let media = Media::new(&options.media);
    events.step(&Step::ImportStarted {
        media: &options.media,
        content: &options.content,
        dry_run: options.dry_run,
    });
    // Before anything changes: what a successful import records must be writable, so that
    // wsusutil never runs unrecorded; and one import at a time per trust state (one per
    // server), from before the gate on, or a second import that passed the gate while the
    // first ran would import the same media again.
    let receipt_path = beside_content(&options.content, RECEIPT_FILE);
    // And one run at a time into the content folder, whatever its trust state.
    let (_one_import, _one_copy, mut state) = if options.dry_run {
        (None, None, TrustState::load(&options.state)?)
    } else {
        let (lock, state) = prepare_to_record(&options.state, &receipt_path)?;
        let copy_lock = mirror::lock_destination(&options.content)?;
        (Some(lock), Some(copy_lock), state)
    };
    // The package is read off the media once, into a folder of this import's own; wsusutil
    // is given that copy. A dry run leaves the trust state's folder alone.
    let package_folder = if options.dry_run {
        PrivateFolder::temporary()
    } else {
        PrivateFolder::fresh(&package_folder_of(&options.state))
    }
    .map_err(|error| TransferError::io(&package_folder_of(&options.state), "create", error))?;
    let against = Against {
        trust: &options.trust,
        state: &state,
        now: options.now,
        allow_already_accepted: true,
    };
    let check = proceed!(gate::pass(
        &media,
        &against,
        package_folder.path(),
        options.jobs,
        events,
    )?);
    let manifest = &check.verified.manifest;
    events.step(&Step::Verified {
        key_id: check.verified.key_id,
        sequence: manifest.sequence,
        files_listed: manifest.totals.files,
    });
    if check.verified.already_accepted {
        return already_imported(options, &media, check, receipt_path, events).map(Outcome::Done);
    }
    let (copied, files) = proceed!(copy_content(options, &media, &check, events)?);
    if options.dry_run {
        return Ok(Outcome::Done(Imported {
            media: options.media.clone(),
            check,
            copied,
            files,
            quarantine: options.quarantine.clone(),
            receipt: None,
            reset: false,
            already_imported: None,
        }));
    }
    // The content must now hold every listed file: planned again, nothing may be left to do.
    let recheck = proceed!(gate::plan_copy(
        &media,
        &check,
        &copy_of(options, false),
        events
    )?)
    .0
    .totals;
    let changed = recheck.copy_files + recheck.replace_files;
    if changed > 0 {
        return Err(TransferError::ChangedDuringImport {
            content: options.content.clone(),
            changed,
        });
    }

    run_wsusutil(options, &media, &check, events)?;

    record(options, &media, &check, &mut state, &receipt_path, events)?;
    Ok(Outcome::Done(Imported {
        media: options.media.clone(),
        check,
        copied,
        files,
        quarantine: options.quarantine.clone(),
        receipt: Some(receipt_path),
        reset: options.reset,
        already_imported: None,
    }))
}

/// Records a done import: first the trust state, so that this media can never be imported
/// again, then the receipt for the return trip (without which the next export only carries
/// more), beside the content and on the media.
fn record(
    options: &ImportOptions,
    media: &Media,
    check: &MediaCheck,
    state: &mut TrustState,
    receipt_path: &Path,
    events: &dyn Events,
) -> Result<(), TransferError> {
    let manifest = &check.verified.manifest;
    let now = Timestamp::new(options.now);
    let key_id = check.verified.key_id;
    state.accept(
        key_id,
        manifest.sequence,
        now,
        check.verified.manifest_blake3,
    );
    state.save(&options.state)?;
    let receipt = Receipt::new(
        key_id.to_string(),
        manifest.sequence,
        now,
        &manifest.entries,
    );
    receipt.write(receipt_path)?;
    if let Err(error) = receipt.write(&media.file(Media::RECEIPT)) {
        events.step(&Step::ReceiptNotOnMedia {
            error: &error,
            kept_at: receipt_path,
        });
    }
    events.step(&Step::Imported {
        sequence: manifest.sequence,
        receipt: receipt_path,
    });
    Ok(())
}

/// Media whose manifest is the one the trust state last accepted: nothing is copied, run or
/// recorded, but a receipt that is missing (a run killed after wsusutil, before it wrote
/// the receipt) is written again, as it was, dated when the import was accepted.
fn already_imported(
    options: &ImportOptions,
    media: &Media,
    check: MediaCheck,
    receipt_path: PathBuf,
    events: &dyn Events,
) -> Result<Imported, TransferError> {
    let verified = &check.verified;
    let manifest = &verified.manifest;
    let accepted = verified
        .previous
        .expect("an already accepted manifest was accepted before")
        .accepted;
    let receipt = Receipt::new(
        verified.key_id.to_string(),
        manifest.sequence,
        accepted,
        &manifest.entries,
    );
    let missing = |path: &Path| std::fs::symlink_metadata(path).is_err();
    let rewritten = !options.dry_run && missing(&receipt_path);
    if rewritten {
        receipt.write(&receipt_path)?;
    }
    let on_media = media.file(Media::RECEIPT);
    if !options.dry_run
        && missing(&on_media)
        && let Err(error) = receipt.write(&on_media)
    {
        events.step(&Step::ReceiptNotOnMedia {
            error: &error,
            kept_at: &receipt_path,
        });
    }
    events.step(&Step::AlreadyImported {
        sequence: manifest.sequence,
        accepted,
        receipt: &receipt_path,
        rewritten,
    });
    let receipt = (!missing(&receipt_path)).then_some(receipt_path);
    Ok(Imported {
        media: options.media.clone(),
        check,
        copied: PlanTotals::default(),
        files: Vec::new(),
        quarantine: None,
        receipt,
        reset: false,
        already_imported: Some(accepted),
    })
}

/// The copy into the content folder: carried out under the options' brakes if `apply`.
pub(super) fn copy_of(options: &ImportOptions, apply: bool) -> Copy<'_> {
    Copy {
        content: &options.content,
        brakes: ApplyOptions {
            max_delete: options.max_delete,
            quarantine: options.quarantine.clone(),
        },
        apply,
        cache_folder: options.cache_folder.as_deref(),
        jobs: options.jobs,
    }
}

/// Copies the media's content into the content folder (in a dry run, plans it): a copy that
/// stops is an error, one that the brakes or the hashes stop is a refusal.
pub(super) fn copy_content(
    options: &ImportOptions,
    media: &Media,
    check: &MediaCheck,
    events: &dyn Events,
) -> Result<Outcome<(PlanTotals, Vec<Action>)>, TransferError> {
    let copy = copy_of(options, !options.dry_run);
    let (plan, applied) = proceed!(gate::plan_copy(media, check, &copy, events)?);
    let actions = match &applied {
        Some(applied) => &applied.done,
        None => &plan.actions,
    };
    let files: Vec<Action> = actions
        .iter()
        .filter(|action| action.kind.is_file())
        .cloned()
        .collect();
    if let Some(mut applied) = applied {
        if let Some(error) = applied.stopped.take() {
            return Err(error.into());
        }
        if let Deletions::TooMany { planned, max } = applied.deletions {
            return Ok(Outcome::Refused(Refusal::TooManyDeletions {
                planned,
                max,
                paths: deleted_paths(&plan),
            }));
        }
        if !applied.is_complete() {
            return Ok(Outcome::Refused(Refusal::Rejected {
                rejected: applied.rejected,
            }));
        }
    }
    events.step(&Step::Copied {
        totals: &plan.totals,
        dry_run: options.dry_run,
    });
    for action in &files {
        if action.kind.removes() {
            events.step(&Step::Removed(FileLine {
                action,
                quarantine: options.quarantine.as_deref(),
                dry_run: options.dry_run,
            }));
        }
    }
    Ok(Outcome::Done((plan.totals, files)))
}

/// The files a plan deletes or quarantines.
fn deleted_paths(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .filter(|action| action.kind.removes())
        .map(|action| action.path.to_string())
        .collect()
}

/// `wsusutil import` of the media's package, then `reset` if asked.
pub(super) fn run_wsusutil(
    options: &ImportOptions,
    media: &Media,
    check: &MediaCheck,
    events: &dyn Events,
) -> Result<(), TransferError> {
    // The private copy the gate verified and parsed, never the media's file.
    let Some(package) = &check.package_copy else {
        return Err(TransferError::NoPackage {
            media: media.root.clone(),
        });
    };
    let import_log = beside_content(&options.content, IMPORT_LOG);
    let program = &options.wsusutil;
    events.step(&Step::WsusutilStarted {
        program,
        verb: "import",
    });
    let result = wsusutil::import(program, package, &import_log);
    events.step(&Step::WsusutilEnded {
        verb: "import",
        succeeded: result.is_ok(),
    });
    result?;
    if options.reset {
        events.step(&Step::WsusutilStarted {
            program,
            verb: "reset",
        });
        let result = wsusutil::reset(program);
        events.step(&Step::WsusutilEnded {
            verb: "reset",
            succeeded: result.is_ok(),
        });
        result?;
    }
    Ok(())
}

/// Where an import keeps its private copy of the package: beside the trust state, named
/// after it (`trust-state.json.package`), guarded by its lock.
pub fn package_folder_of(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".package");
    PathBuf::from(name)
}

/// A file beside the content folder (`D:\WSUS\WsusContent` -> `D:\WSUS\<name>`).
pub fn beside_content(content: &Path, name: &str) -> PathBuf {
    let absolute = std::path::absolute(content).unwrap_or_else(|_| content.to_owned());
    absolute.with_file_name(name)
}

/// Proves that the trust state and the receipt can be written, taking the lock beside the
/// trust state (`trust-state.json.lock`) before the state is loaded: under the lock no other
/// import changes it, so the state loaded here is the one this import advances. The state's
/// folder is made if needed; the receipt's (the content folder's) is probed only when it
/// exists: a mistyped `--content` makes no folder here, and a folder the copy makes is
/// writable.
pub(super) fn prepare_to_record(
    state_path: &Path,
    receipt: &Path,
) -> Result<(RunLock, TrustState), TransferError> {
    let unrecordable = |error: TransferError| TransferError::Unrecordable(Box::new(error));
    let state_folder = state_path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    atomic_file::check_writable(state_folder)
        .map_err(|error| unrecordable(TransferError::io(state_path, "write", error)))?;
    let lock = RunLock::take_for(state_path, "import with this trust state")?;
    let state = TrustState::load_and_save_unchanged(state_path)
        .map_err(|error| unrecordable(error.into()))?;
    let receipt_folder = receipt
        .parent()
        .expect("the receipt is beside the content folder");
    if receipt_folder.exists() {
        atomic_file::check_writable(receipt_folder)
            .map_err(|error| unrecordable(TransferError::io(receipt_folder, "write", error)))?;
    }
    // A folder (or a link) where the receipt goes could not be replaced by it.
    if std::fs::symlink_metadata(receipt).is_ok_and(|metadata| !metadata.is_file()) {
        let error = std::io::Error::from(std::io::ErrorKind::IsADirectory);
        return Err(unrecordable(TransferError::io(receipt, "write", error)));
    }
    Ok((lock, state))
}
