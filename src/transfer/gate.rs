//! The gate both `verify` and `import` pass through: the media proven authentic, current and
//! intact, its package's references set against what the manifest lists, and (given the
//! receiving content folder) every listed file proven on the media or already in place.

use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::volumes::Marker;
use crate::check::{self, UpdateGap};
use crate::content::FolderError;
use crate::manifest::contents::{self, ContentsCheck, Found, PackageState};
use crate::manifest::keys::PublicKey;
use crate::manifest::trust::TrustState;
use crate::manifest::verify::{self, Verified, VerifyError, VerifyOptions};
use crate::manifest::{MANIFEST_FILE, PackageEntry, SIGNATURE_FILE};
use crate::mirror::{self, Applied, ApplyOptions, Listing, MirrorError, Plan, PlanOptions};
use crate::package::{self, Package, PackageError};
use crate::progress::{Phase, Phases, Progress};
use crate::regular_file;

use super::Media;
use super::outcome::{Outcome, Refusal, TransferError};
use super::private::{self, Taken};

/// What the gate found on the media.
#[derive(Debug)]
pub struct MediaCheck {
    pub verified: Verified,
    /// The media's content folder and package against the manifest.
    pub contents: ContentsCheck,
    /// The package, read from the private copy once its hash proved it the signed one.
    pub package: Option<Package>,
    /// The private copy of the package (see [`super::private`]): the bytes that were
    /// verified and parsed, which wsusutil is given. Present when the package is intact.
    pub package_copy: Option<PathBuf>,
    /// Content files the package references that the manifest neither lists nor names as
    /// gaps: updates needing them would fail to download.
    pub unlisted_references: Vec<String>,
    /// References the signer acknowledged as gaps (exported with `--allow-gaps`).
    pub acknowledged_gaps: Vec<String>,
    /// The updates those gaps leave without their files: they will show "Failed to
    /// download" after the import.
    pub gap_updates: Vec<UpdateGap>,
    /// A volume of a split transfer: which it is, of how many.
    pub volume: Option<Marker>,
}

impl MediaCheck {
    /// The check of media whose manifest was imported already: verified, nothing else read.
    fn nothing_read(verified: Verified) -> Self {
        MediaCheck {
            verified,
            contents: ContentsCheck {
                missing: Vec::new(),
                changed: Vec::new(),
                extra: Vec::new(),
                unlisted: Vec::new(),
                intact_files: 0,
                intact_bytes: 0,
                not_carried: 0,
                package: None,
            },
            package: None,
            package_copy: None,
            unlisted_references: Vec::new(),
            acknowledged_gaps: Vec::new(),
            gap_updates: Vec::new(),
            volume: None,
        }
    }

    /// True when the media is intact and its manifest covers every package reference.
    pub fn passed(&self) -> bool {
        self.contents.is_intact() && self.unlisted_references.is_empty()
    }
}

/// The lines that say what passed: signature, sequence, media contents, acknowledged gaps.
impl std::fmt::Display for MediaCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        let verified = &self.verified;
        let manifest = &verified.manifest;
        let previous = verified
            .previous
            .map_or("none".to_owned(), |previous| previous.sequence.to_string());
        writeln!(
            f,
            "signature: good, key {}, sequence {} (last imported: {previous}), expires {}",
            verified.key_id, manifest.sequence, manifest.expires
        )?;
        let volume = match self.volume {
            Some(Marker { volume, count }) => format!("volume {volume} of {count}: "),
            None => String::new(),
        };
        let package = match (&self.contents.package, &manifest.package, manifest.volumes) {
            (Some(_), _, _) => "package intact".to_owned(),
            (None, Some(_), Some(set)) => {
                format!("the package is on volume {}", set.package_volume)
            }
            (None, _, _) => "no package".to_owned(),
        };
        writeln!(
            f,
            "media: {volume}{} files intact ({}), {} held by the receiving side, {package}",
            HumanCount(self.contents.intact_files),
            HumanBytes(self.contents.intact_bytes),
            HumanCount(self.contents.not_carried),
        )?;
        for gap in &self.acknowledged_gaps {
            writeln!(f, "acknowledged gap: {gap}")?;
        }
        Ok(())
    }
}

/// Why the gate could not be passed through at all.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{}: cannot copy the package here: {source}", path.display())]
    PackageCopy { path: PathBuf, source: io::Error },
}

/// Verifies the media's signature, expiry and sequence, re-hashes every file on it, and
/// reads the package to compare its references with the manifest. The package is read from
/// the media once, copied into `package_folder` while hashed; only that copy is parsed.
pub fn check_media(
    media: &Media,
    trusted: &PublicKey,
    options: &VerifyOptions,
    package_folder: &Path,
    jobs: Option<NonZeroUsize>,
    progress: &dyn Progress,
) -> Result<MediaCheck, GateError> {
    let verified = verify::verify(&media.root, trusted, options)?;
    if verified.already_accepted {
        // Imported already: nothing on the media will be used, so nothing more is read.
        return Ok(MediaCheck::nothing_read(verified));
    }
    let manifest = &verified.manifest;
    // The content is checked here; the package is judged as it is copied into
    // `package_folder`, and what the content check says of it is replaced by that.
    let mut volume = None;
    let (mut contents, package_here) = match manifest.volumes {
        // One volume of a split transfer: what the manifest puts on it, and nothing else.
        Some(_) => {
            let checked = super::volumes::check_volume(manifest, media, jobs, progress)?;
            volume = checked.marker;
            (checked.contents, checked.package_here)
        }
        None => {
            let copy_path = manifest
                .package
                .as_ref()
                .map(|entry| entry.name.under(package_folder))
                .unwrap_or_default();
            let contents = contents::check(manifest, &media.content(), &copy_path, jobs, progress)?;
            (contents, true)
        }
    };
    let taken = manifest
        .package
        .as_ref()
        .filter(|_| package_here)
        .map(|entry| take_package(entry, media, package_folder))
        .transpose()?;
    let (package_state, package_copy) = taken.unzip();
    if package_here {
        contents.package = package_state;
    }
    let package_copy = package_copy.flatten();
    // Only a package whose bytes are the signed ones is parsed.
    let package = package_copy.as_deref().map(package::open).transpose()?;
    let (mut unlisted_references, mut acknowledged_gaps) = (Vec::new(), Vec::new());
    if let Some(package) = &package {
        let gaps: std::collections::HashSet<String> =
            manifest.gaps.iter().map(|gap| gap.folded()).collect();
        let listed = manifest.entries.iter().map(|entry| entry.path.as_str());
        for path in check::unlisted_references(package, listed) {
            if gaps.contains(&crate::relpath::fold_case(&path)) {
                acknowledged_gaps.push(path);
            } else {
                unlisted_references.push(path);
            }
        }
    }
    let gap_updates = package
        .as_ref()
        .map(|package| check::updates_needing(package, &acknowledged_gaps))
        .unwrap_or_default();
    Ok(MediaCheck {
        verified,
        contents,
        package,
        package_copy,
        unlisted_references,
        acknowledged_gaps,
        gap_updates,
        volume,
    })
}

/// Copies the media's package into `folder` while hashing it: its state against the entry,
/// and the copy when it is intact (a copy of other bytes is removed at once).
fn take_package(
    entry: &PackageEntry,
    media: &Media,
    folder: &Path,
) -> Result<(PackageState, Option<PathBuf>), GateError> {
    let path = entry.name.under(&media.root);
    let taken =
        private::take(&path, folder, entry.size).map_err(|source| GateError::PackageCopy {
            path: folder.to_owned(),
            source,
        })?;
    let found = match taken {
        Taken::Missing => return Ok((PackageState::Missing { path }, None)),
        Taken::NotAFile(file_type) => Found::NotAFile { file_type },
        Taken::Unreadable(error) => Found::Unreadable {
            error: error.to_string(),
        },
        Taken::OtherSize { size, blake3 } => Found::Content { size, blake3 },
        Taken::Copied {
            path: copy,
            size,
            blake3,
        } => {
            if size == entry.size && blake3 == entry.blake3 {
                return Ok((PackageState::Intact { path }, Some(copy)));
            }
            let _ = std::fs::remove_file(&copy);
            Found::Content { size, blake3 }
        }
    };
    Ok((PackageState::Changed { path, found }, None))
}

/// What the gate holds media against.
pub(super) struct Against<'a> {
    /// The public key the media must be signed with.
    pub trust: &'a Path,
    pub state: &'a TrustState,
    pub now: SystemTime,
    /// Let the manifest the state last accepted through (see [`pass`]).
    pub allow_already_accepted: bool,
}

/// Passes the media through the gate against the trust `state`: a refusal carries what was
/// wrong and the updates it puts at risk. With `allow_already_accepted`, the manifest the
/// state last accepted passes with nothing else checked (see
/// [`Verified::already_accepted`]).
pub(super) fn pass(
    media: &Media,
    against: &Against,
    package_folder: &Path,
    jobs: Option<NonZeroUsize>,
    phases: &dyn Phases,
) -> Result<Outcome<MediaCheck>, TransferError> {
    let trusted = PublicKey::read(against.trust)?;
    // Links are never followed: one where the media must hold its own folder or file is a
    // refusal, as a link among the content files is. (Reading the manifest and its
    // signature refuses a link put there after this look, and the package is refused as
    // changed.)
    let links: Vec<String> = [Media::CONTENT_FOLDER, MANIFEST_FILE, SIGNATURE_FILE]
        .into_iter()
        .filter(|name| regular_file::is_link(&media.file(name)))
        .map(str::to_owned)
        .collect();
    if !links.is_empty() {
        return Ok(Outcome::Refused(Refusal::Links {
            media: media.root.clone(),
            paths: links,
        }));
    }
    let options = VerifyOptions {
        now: against.now,
        allow_expired: false,
        allow_rollback: false,
        state: Some(against.state.clone()),
        allow_already_accepted: against.allow_already_accepted,
    };
    let result = {
        let progress = phases.progress(Phase::Checking);
        check_media(media, &trusted, &options, package_folder, jobs, &*progress)
    };
    let media_check = match result {
        Ok(media_check) => media_check,
        Err(GateError::Verify(error)) if error.is_refusal() => {
            return Ok(Outcome::Refused(Refusal::Manifest(error)));
        }
        Err(error) => return Err(error.into()),
    };
    if media_check.passed() {
        return Ok(Outcome::Done(media_check));
    }
    // The updates needing what the media lacks: references it does not list, and listed
    // files missing or changed on it.
    let contents = &media_check.contents;
    let lacking: Vec<String> = (media_check.unlisted_references.iter())
        .chain(&contents.missing)
        .chain(contents.changed.iter().map(|changed| &changed.path))
        .cloned()
        .collect();
    let at_risk = media_check
        .package
        .as_ref()
        .map(|package| check::updates_needing(package, &lacking))
        .unwrap_or_default();
    Ok(Outcome::Refused(Refusal::Media {
        media: media.root.clone(),
        contents: Box::new(media_check.contents),
        unlisted_references: media_check.unlisted_references,
        at_risk,
    }))
}

/// The copy of the media's content into the receiving content folder.
pub(super) struct Copy<'a> {
    pub content: &'a Path,
    /// The brakes the copy is planned (and carried out) under.
    pub brakes: ApplyOptions,
    /// Carry it out; else plan only.
    pub apply: bool,
    pub cache_folder: Option<&'a Path>,
    pub jobs: Option<NonZeroUsize>,
}

/// Plans (and given brakes, carries out) the `copy` of the media's content. Listed files that
/// neither side holds are a refusal.
pub(super) fn plan_copy(
    media: &Media,
    media_check: &MediaCheck,
    copy: &Copy,
    phases: &dyn Phases,
) -> Result<Outcome<(Plan, Option<Applied>)>, TransferError> {
    let manifest = &media_check.verified.manifest;
    let content = copy.content;
    let options = PlanOptions {
        mode: manifest.mode,
        full: false,
        quarantine: copy.brakes.quarantine.clone(),
        jobs: copy.jobs,
    };
    let listing = Listing::Manifest(manifest.entries.clone());
    match mirror::plan_and_apply(
        &media.content(),
        content,
        &listing,
        &options,
        copy.apply.then_some(&copy.brakes),
        copy.cache_folder,
        phases,
    ) {
        Ok(planned) => Ok(Outcome::Done(planned)),
        Err(MirrorError::NotInSource { paths, .. }) => {
            let at_risk = media_check
                .package
                .as_ref()
                .map(|package| check::updates_needing(package, &paths))
                .unwrap_or_default();
            Ok(Outcome::Refused(Refusal::NotCovered {
                content: content.to_owned(),
                paths,
                at_risk,
            }))
        }
        Err(error) => Err(error.into()),
    }
}
