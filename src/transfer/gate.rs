//! The gate both `verify` and `import` pass through: the media proven authentic, current and
//! intact, and its package's references set against what the manifest lists.

use std::num::NonZeroUsize;

use crate::check;
use crate::content::FolderError;
use crate::manifest::contents::{self, ContentsCheck};
use crate::manifest::keys::PublicKey;
use crate::manifest::verify::{self, Verified, VerifyError, VerifyOptions};
use crate::package::{self, Package, PackageError};
use crate::progress::Progress;

use super::Media;

/// What the gate found on the media.
#[derive(Debug)]
pub struct MediaCheck {
    pub verified: Verified,
    /// The media's content folder and package against the manifest.
    pub contents: ContentsCheck,
    /// The package, read once its hash proved it the signed one.
    pub package: Option<Package>,
    /// Content files the package references that the manifest neither lists nor names as
    /// gaps: updates needing them would fail to download.
    pub unlisted_references: Vec<String>,
    /// References the signer acknowledged as gaps (exported with `--allow-gaps`).
    pub acknowledged_gaps: Vec<String>,
}

impl MediaCheck {
    /// True when the media is intact and its manifest covers every package reference.
    pub fn passed(&self) -> bool {
        self.contents.is_intact() && self.unlisted_references.is_empty()
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
}

/// Verifies the media's signature, expiry and sequence, re-hashes every file on it, and
/// reads the package to compare its references with the manifest.
pub fn check_media(
    media: &Media,
    trusted: &PublicKey,
    options: &VerifyOptions,
    jobs: Option<NonZeroUsize>,
    progress: &dyn Progress,
) -> Result<MediaCheck, GateError> {
    let verified = verify::verify(&media.root, trusted, options)?;
    let manifest = &verified.manifest;
    let package_path = manifest
        .package
        .as_ref()
        .map(|entry| entry.name.under(&media.root))
        .unwrap_or_default();
    let contents = contents::check(manifest, &media.content(), &package_path, jobs, progress)?;
    let package_intact = matches!(
        contents.package,
        Some(contents::PackageState::Intact { .. })
    );
    // Only a package whose bytes are the signed ones is parsed.
    let package = if package_intact {
        Some(package::open(&package_path)?)
    } else {
        None
    };
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
    Ok(MediaCheck {
        verified,
        contents,
        package,
        unlisted_references,
        acknowledged_gaps,
    })
}
