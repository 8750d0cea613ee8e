//! The disconnected side's check before an import: the media through the gate and, given the
//! receiving content folder, proof that an import would find every listed file. Ready only
//! when an import of this media would succeed; nothing is changed.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::SystemTime;

use crate::manifest::trust::TrustState;
use crate::mirror::{ApplyOptions, PlanTotals};

use super::Media;
use super::events::Events;
use super::gate::{self, Against, Copy, MediaCheck};
use super::outcome::{Outcome, TransferError};
use super::private::PrivateFolder;
use super::volumes::outlook::VolumeNeeded;

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyMediaOptions {
    pub media: PathBuf,
    /// The public key the media must be signed with.
    pub trust: PathBuf,
    /// The trust state: the last sequence imported per key.
    pub state: PathBuf,
    /// The receiving WsusContent folder, to prove the media covers what it lacks.
    pub content: Option<PathBuf>,
    pub now: SystemTime,
    /// Where hash caches are kept between runs; none: everything is hashed.
    pub cache_folder: Option<PathBuf>,
    pub jobs: Option<NonZeroUsize>,
}

/// Media an import would take.
#[derive(Debug)]
pub struct Ready {
    pub media: PathBuf,
    pub check: MediaCheck,
    /// With a content folder: what an import would copy, replace and delete there.
    pub import_would_copy: Option<PlanTotals>,
    /// For a volume of a split transfer, with a content folder: the other volumes still
    /// needed, and how many of the missing files each holds.
    pub volumes_needed: Option<Vec<VolumeNeeded>>,
}

/// Verifies the media, telling `events` its progress.
pub fn verify(
    options: &VerifyMediaOptions,
    events: &dyn Events,
) -> Result<Outcome<Ready>, TransferError> {
    let media = Media::new(&options.media);
    let state = TrustState::load(&options.state)?;
    let package_folder = PrivateFolder::temporary()
        .map_err(|error| TransferError::io(&std::env::temp_dir(), "create a folder in", error))?;
    let against = Against {
        trust: &options.trust,
        state: &state,
        now: options.now,
        allow_already_accepted: false,
    };
    let check = match gate::pass(
        &media,
        &against,
        package_folder.path(),
        options.jobs,
        events,
    )? {
        Outcome::Done(check) => check,
        Outcome::Refused(refusal) => return Ok(Outcome::Refused(refusal)),
    };
    // A volume holds part of the transfer: what the content lacks beyond it is named by the
    // volumes still needed, not refused.
    let marker = check
        .verified
        .manifest
        .volumes
        .and(super::volumes::read_marker(&options.media));
    let mut volumes_needed = None;
    let import_would_copy = match &options.content {
        None => None,
        Some(content) if marker.is_some() => {
            let volume = marker.expect("a volume").volume;
            let manifest = &check.verified.manifest;
            let (totals, needed) = super::volumes::outlook::outlook(
                manifest,
                volume,
                &options.media,
                content,
                options.cache_folder.as_deref(),
                options.jobs,
                events,
            )?;
            volumes_needed = Some(needed);
            Some(totals)
        }
        Some(content) => {
            let copy = Copy {
                content,
                brakes: ApplyOptions::default(),
                apply: false,
                cache_folder: options.cache_folder.as_deref(),
                jobs: options.jobs,
            };
            match gate::plan_copy(&media, &check, &copy, events)? {
                Outcome::Done((plan, _)) => Some(plan.totals),
                Outcome::Refused(refusal) => return Ok(Outcome::Refused(refusal)),
            }
        }
    };
    Ok(Outcome::Done(Ready {
        media: options.media.clone(),
        check,
        import_would_copy,
        volumes_needed,
    }))
}

/// What an import would do in the content folder, in words: `an import would copy N (B) and
/// replace N[, and delete N the manifest does not list (B)]; N already in place`.
pub struct ImportWouldCopy(pub PlanTotals);

impl std::fmt::Display for ImportWouldCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        let totals = &self.0;
        write!(
            f,
            "an import would copy {} ({}) and replace {}",
            HumanCount(totals.copy_files),
            HumanBytes(totals.copy_bytes),
            HumanCount(totals.replace_files),
        )?;
        if totals.delete_files > 0 {
            write!(
                f,
                ", and delete {} the manifest does not list ({})",
                HumanCount(totals.delete_files),
                HumanBytes(totals.delete_bytes),
            )?;
        }
        write!(
            f,
            "; {} already in place",
            HumanCount(totals.unchanged_files)
        )
    }
}
