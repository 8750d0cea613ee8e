//! The connected side's workflow: a package from wsusutil (or the one given), every content
//! file hashed, the package's references proven present, the content staged on the media,
//! and the signed manifest written last, so that media without a valid signature is visibly
//! unfinished.
//!
//! The order is the safety: the old signature goes before anything is written, the signature
//! is written after everything else, and the key's sequence is recorded only once signed.

use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::atomic_file::{self, Access, Existing, make_replaceable};
use crate::check;
use crate::manifest::create::{self, CreateError, CreateOptions, Written};
use crate::manifest::keys::{KeyId, SecretKey};
use crate::manifest::{Manifest, SIGNATURE_FILE, TransferMode};
use crate::mirror::{self, ApplyOptions, Listing, PlanOptions, PlanTotals};
use crate::package::Package;
use crate::progress::Phase;
use crate::relpath::RelPath;

use super::events::{Events, Step};
use super::outcome::{Outcome, Refusal, TransferError};
use super::private::{self, PrivateFolder};
use super::receipt::Receipt;
use super::{Media, readme_text, sequence, wsusutil};

/// Where the export package comes from.
#[derive(Debug, Clone)]
pub enum PackageSource {
    /// `wsusutil export`, run by this program, into the media.
    Wsusutil(PathBuf),
    /// An existing package, copied onto the media.
    Given(PathBuf),
}

/// What to export, and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The connected server's WsusContent folder.
    pub content: PathBuf,
    /// The media folder (created if needed).
    pub media: PathBuf,
    /// The secret key that signs the manifest; its sequence is kept beside it.
    pub key: PathBuf,
    pub package: PackageSource,
    pub mode: TransferMode,
    /// The receipt of the other side's last import: files it holds are listed, not carried.
    pub since: Option<PathBuf>,
    pub expires_in_days: u16,
    /// The sequence to sign; by default the last one signed with the key, plus one.
    pub sequence: Option<u64>,
    /// Export even when the content lacks files the package references, listing them as
    /// gaps.
    pub allow_gaps: bool,
    /// Where the WSUS state the manifest carries comes from (approvals, declines, computer
    /// groups, settings).
    pub wsus: crate::wsus::StateSource,
    /// Plan only: write nothing, run nothing, record nothing.
    pub dry_run: bool,
    /// This machine's name, for the manifest.
    pub host: String,
    pub now: SystemTime,
    /// Where hash caches are kept between runs; none: everything is hashed.
    pub cache_folder: Option<PathBuf>,
    pub jobs: Option<NonZeroUsize>,
}

/// What an export did (or, in a dry run, would do).
#[derive(Debug)]
pub struct Exported {
    pub media: PathBuf,
    pub manifest: Manifest,
    pub key_id: KeyId,
    /// The package the manifest describes.
    pub package: PathBuf,
    /// Listed entries the other side already holds, so not on the media.
    pub held: u64,
    /// The staging plan's totals.
    pub staged: PlanTotals,
    /// Where the manifest and its signature were written; `None` in a dry run.
    pub written: Option<Written>,
}

impl Exported {
    /// The listed entries that are on the media.
    pub fn files_carried(&self) -> u64 {
        self.manifest.entries.len() as u64 - self.held
    }
}

/// What staging did to the media, in words: `N to copy (B), N to replace (B), N stale to
/// remove from the media (B), N already there (B); N held by the other side`. Deletions here
/// are of stale files on the media, never of anything on a server.
#[derive(Debug, Clone, Copy)]
pub struct Staging<'a> {
    pub totals: &'a PlanTotals,
    /// Listed entries the other side already holds, so not on the media.
    pub held: u64,
}

impl std::fmt::Display for Staging<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        let totals = self.totals;
        write!(
            f,
            "{} to copy ({}), {} to replace ({}), {} stale to remove from the media ({}), {} \
             already there ({}); {} held by the other side",
            HumanCount(totals.copy_files),
            HumanBytes(totals.copy_bytes),
            HumanCount(totals.replace_files),
            HumanBytes(totals.replace_bytes),
            HumanCount(totals.delete_files),
            HumanBytes(totals.delete_bytes),
            HumanCount(totals.unchanged_files),
            HumanBytes(totals.unchanged_bytes),
            HumanCount(self.held)
        )
    }
}

/// Runs the export, telling `events` each step.
pub fn export(
    options: &ExportOptions,
    events: &dyn Events,
) -> Result<Outcome<Exported>, TransferError> {
    if options.dry_run && matches!(options.package, PackageSource::Wsusutil(_)) {
        return Err(TransferError::DryRunNeedsPackage);
    }
    // The key is read first: a wrong key file should not cost an hour of exporting.
    let secret = SecretKey::read(&options.key)?;
    let key_id = secret.public().id;
    // One export at a time per key, from before its sequence is read: two at once would sign
    // the same sequence number.
    let work = (!options.dry_run).then_some("export signing with this key");
    let claim = sequence::Claim::take(&options.key, options.sequence, work)?;
    let sequence = claim.sequence;
    let media = Media::new(&options.media);
    events.step(&Step::ExportStarted {
        content: &options.content,
        media: &options.media,
        sequence,
        key_id,
        mode: options.mode,
        dry_run: options.dry_run,
    });
    if claim.is_not_newer() {
        events.step(&Step::SequenceNotNewer {
            sequence,
            last: claim.last,
        });
    }
    let receipt = options.since.as_deref().map(Receipt::read).transpose()?;
    if !options.dry_run {
        fs::create_dir_all(&media.root)
            .map_err(|error| TransferError::io(&media.root, "create the media folder", error))?;
        // An earlier signature here would vouch for a half-staged folder: it goes first.
        remove_if_present(&media.file(SIGNATURE_FILE))?;
    }
    // The package is read once, into a folder of this export's own: the manifest describes
    // that copy, and that copy goes onto the media.
    let private = match (&options.package, options.dry_run) {
        (PackageSource::Given(_), true) => None,
        _ => Some(PrivateFolder::temporary().map_err(|error| {
            TransferError::io(&std::env::temp_dir(), "create a folder in", error)
        })?),
    };
    let package_path = obtain_package(options, &media, private.as_ref(), events)?;
    let on_media = match &private {
        Some(_) => media
            .root
            .join(package_path.file_name().unwrap_or_default()),
        None => package_path.clone(),
    };

    // A package that cannot be read never reaches the media: it is only in the private copy.
    let mut created = proceed!(build_manifest(options, &package_path, sequence, events)?);
    let package = created.package.take().expect("a package was given");
    events.step(&Step::PackageRead {
        path: &on_media,
        updates: package.updates.len(),
    });
    let mut manifest = created.manifest;
    manifest.gaps = proceed!(references_covered(options, &package, &manifest, events)?);
    if private.is_some() {
        place_package(&package_path, &on_media, &manifest)?;
    }
    let held = receipt
        .as_ref()
        .map_or(0, |receipt| receipt.mark_held(&mut manifest.entries));

    let staged = stage_content(options, &media, &manifest, held, events)?;
    let mut exported = Exported {
        media: options.media.clone(),
        manifest,
        key_id,
        package: on_media,
        held,
        staged,
        written: None,
    };
    if options.dry_run {
        return Ok(Outcome::Done(exported));
    }

    exported.written = Some(sign(&exported.manifest, &secret, &media)?);
    claim.record()?;
    let manifest = &exported.manifest;
    events.step(&Step::Signed {
        sequence,
        files_listed: manifest.totals.files,
        files_carried: exported.files_carried(),
    });
    Ok(Outcome::Done(exported))
}

/// Proves that the content holds every file the package references; the files it lacks are
/// a refusal, or with `allow_gaps` the manifest's gaps.
pub(super) fn references_covered(
    options: &ExportOptions,
    package: &Package,
    manifest: &Manifest,
    events: &dyn Events,
) -> Result<Outcome<Vec<RelPath>>, TransferError> {
    let listed = manifest.entries.iter().map(|entry| entry.path.as_str());
    let gaps = check::unlisted_references(package, listed);
    if gaps.is_empty() {
        return Ok(Outcome::Done(Vec::new()));
    }
    let at_risk = check::updates_needing(package, &gaps);
    if !options.allow_gaps {
        return Ok(Outcome::Refused(Refusal::Gaps {
            content: options.content.clone(),
            gaps,
            at_risk,
        }));
    }
    events.step(&Step::GapsAllowed {
        content: &options.content,
        gaps: &gaps,
        at_risk: &at_risk,
    });
    let gaps = gaps.iter().map(|path| RelPath::new(path));
    let gaps = gaps.collect::<Result<_, _>>();
    Ok(Outcome::Done(gaps.map_err(TransferError::UnsafeReference)?))
}

/// Writes the note for the carrier, then the manifest and, last, its signature.
fn sign(manifest: &Manifest, secret: &SecretKey, media: &Media) -> Result<Written, TransferError> {
    let readme = readme_text(
        manifest.sequence,
        &secret.public().id.to_string(),
        &manifest.source.host,
        &manifest.expires.to_string(),
        manifest.totals.files,
    );
    let readme_path = media.file(Media::README);
    atomic_file::write(
        &readme_path,
        readme.as_bytes(),
        Access::Shared,
        Existing::Replace,
    )
    .map_err(|error| TransferError::io(&readme_path, "write", error))?;
    Ok(create::sign_and_write(manifest, secret, &media.root)?)
}

/// The package to describe: `wsusutil export` run into the `private` folder, or the given
/// package copied there (in a dry run, the given package where it is).
pub(super) fn obtain_package(
    options: &ExportOptions,
    media: &Media,
    private: Option<&PrivateFolder>,
    events: &dyn Events,
) -> Result<PathBuf, TransferError> {
    let Some(private) = private else {
        let PackageSource::Given(given) = &options.package else {
            unreachable!("only a dry run of a given package has no private folder")
        };
        return Ok(given.clone());
    };
    match &options.package {
        PackageSource::Given(given) => {
            let name = given.file_name().ok_or_else(|| {
                TransferError::io(
                    given,
                    "take its file name",
                    io::Error::from(io::ErrorKind::InvalidInput),
                )
            })?;
            let copy = private.path().join(name);
            private::place(given, &copy)?;
            Ok(copy)
        }
        PackageSource::Wsusutil(program) => {
            let package_path = private.path().join(Media::PACKAGE);
            let log_path = media.file(Media::EXPORT_LOG);
            // wsusutil cannot add to a read-only log, and media copied back from a DVD is
            // read-only.
            make_replaceable(&log_path)
                .map_err(|error| TransferError::io(&log_path, "make writable", error))?;
            events.step(&Step::WsusutilStarted {
                program,
                verb: "export",
            });
            let result = wsusutil::export(program, &package_path, &log_path);
            events.step(&Step::WsusutilEnded {
                verb: "export",
                succeeded: result.is_ok(),
            });
            result?;
            Ok(package_path)
        }
    }
}

/// Copies the described package onto the media, hashing what it writes: the media must get
/// the bytes the manifest describes.
pub(super) fn place_package(
    package: &Path,
    on_media: &Path,
    manifest: &Manifest,
) -> Result<(), TransferError> {
    let entry = manifest
        .package
        .as_ref()
        .expect("the manifest has a package");
    let (size, blake3) = private::place(package, on_media)?;
    if (size, blake3) != (entry.size, entry.blake3) {
        return Err(TransferError::PackageChanged {
            path: package.to_owned(),
        });
    }
    Ok(())
}

/// Hashes every content file into a manifest; damaged content is refused.
pub(super) fn build_manifest(
    options: &ExportOptions,
    package: &Path,
    sequence: u64,
    events: &dyn Events,
) -> Result<Outcome<create::Created>, TransferError> {
    let create_options = CreateOptions {
        content: options.content.clone(),
        package: Some(package.to_owned()),
        sequence,
        expires_in_days: options.expires_in_days,
        mode: options.mode,
        host: options.host.clone(),
        now: options.now,
        jobs: options.jobs,
    };
    // The server is read before the hour of hashing: a PowerShell that fails fails at once.
    let wsus = crate::wsus::stage::carried_state(&options.wsus)?;
    if let Some(state) = &wsus {
        events.step(&Step::Wsus(crate::wsus::stage::WsusStep::Carried {
            approvals: state.approvals.len(),
            declines: state.declines.len(),
            groups: state.groups.len(),
        }));
    }
    let result = {
        let progress = events.progress(Phase::Hashing);
        create::build(&create_options, &*progress)
    };
    match result {
        Ok(mut created) => {
            created.manifest.wsus = wsus;
            for warning in &created.warnings {
                events.step(&Step::ContentWarning(warning));
            }
            Ok(Outcome::Done(created))
        }
        Err(CreateError::Refused { content, problems }) => {
            Ok(Outcome::Refused(Refusal::Content { content, problems }))
        }
        Err(error) => Err(error.into()),
    }
}

/// Stages the carried entries on the media. The media's content folder is the tool's own: it
/// is mirrored, so that nothing stale stays on it, and every copy is checked against the
/// manifest's hash.
fn stage_content(
    options: &ExportOptions,
    media: &Media,
    manifest: &Manifest,
    held: u64,
    events: &dyn Events,
) -> Result<PlanTotals, TransferError> {
    let carried: Vec<_> = manifest
        .entries
        .iter()
        .filter(|entry| entry.carried)
        .cloned()
        .collect();
    let plan_options = PlanOptions {
        mode: TransferMode::Mirror,
        full: false,
        quarantine: None,
        jobs: options.jobs,
    };
    let apply_options = ApplyOptions::default();
    let (plan, applied) = mirror::plan_and_apply(
        &options.content,
        &media.content(),
        &Listing::Manifest(carried),
        &plan_options,
        (!options.dry_run).then_some(&apply_options),
        options.cache_folder.as_deref(),
        events,
    )?;
    if let Some(mut applied) = applied {
        if let Some(error) = applied.stopped.take() {
            return Err(error.into());
        }
        if !applied.is_complete() {
            return Err(TransferError::StagingIncomplete);
        }
    }
    events.step(&Step::Staged {
        staging: Staging {
            totals: &plan.totals,
            held,
        },
        dry_run: options.dry_run,
    });
    Ok(plan.totals)
}

pub(super) fn remove_if_present(path: &Path) -> Result<(), TransferError> {
    match make_replaceable(path).and_then(|()| fs::remove_file(path)) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(TransferError::io(path, "remove", error))
        }
        _ => Ok(()),
    }
}
