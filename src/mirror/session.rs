//! One mirror run as every caller makes it: both sides' hash caches loaded, the plan made, and
//! (unless it is a dry run) carried out, the caches saved for the next run.
//!
//! The `mirror` command, export's staging and import's copy all run through here, so that they
//! share the cache location and the order of plan, apply and save.

use std::path::{Path, PathBuf};

use super::{Applied, ApplyOptions, HashCache, Listing, MirrorError, Plan, PlanOptions, Side};
use crate::progress::{Phase, Phases};
use crate::run_lock::{RunLock, RunLockError};

/// Overrides where hash caches are kept.
const CACHE_DIR_ENV: &str = "WSUS_AIRGAP_CACHE_DIR";

/// Plans a copy from `source` to `destination` and, given `apply_options`, carries it out,
/// with both sides' hash caches kept in `cache_folder` (none: everything is hashed).
pub fn plan_and_apply(
    source: &Path,
    destination: &Path,
    listing: &Listing,
    options: &PlanOptions,
    apply_options: Option<&ApplyOptions>,
    cache_folder: Option<&Path>,
    phases: &dyn Phases,
) -> Result<(Plan, Option<Applied>), MirrorError> {
    let cache_file = |root: &Path| cache_folder.and_then(|folder| cache_file(folder, root));
    let cache_files = [cache_file(source), cache_file(destination)];
    let load_cache = |side: Side| {
        let file = match side {
            Side::Source => &cache_files[0],
            Side::Destination => &cache_files[1],
        };
        file.as_deref().map(HashCache::load).unwrap_or_default()
    };
    let planned = {
        let progress = phases.progress(Phase::Planning);
        super::plan(
            source,
            destination,
            listing,
            options,
            load_cache,
            &*progress,
        )
    };
    let (plan, mut caches) = planned?;
    let applied = apply_options.map(|apply_options| {
        let progress = phases.progress(Phase::Copying);
        super::apply(&plan, apply_options, &mut caches, &*progress)
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

/// Takes the lock of the folder `destination` that a run copies into: `<destination>.lock`
/// beside it (its parent made if needed), so that two runs never write one folder at once
/// (their temporary files and deletions would trip over each other). Held until dropped.
pub fn lock_destination(destination: &Path) -> Result<RunLock, RunLockError> {
    // `D:\WSUS\WsusContent\` and `D:\WSUS\WsusContent` are one folder with one lock.
    let absolute = std::path::absolute(destination).unwrap_or_else(|_| destination.to_owned());
    let folder: PathBuf = absolute.components().collect();
    if let Some(parent) = folder.parent() {
        std::fs::create_dir_all(parent).map_err(|source| RunLockError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    RunLock::take_for(&folder, "copy into this folder")
}

/// The user's folder for hash caches: `WSUS_AIRGAP_CACHE_DIR`, else `%LOCALAPPDATA%\wsus-airgap\cache`
/// on Windows and `$XDG_CACHE_HOME/wsus-airgap` (or `~/.cache/wsus-airgap`) elsewhere.
pub fn default_cache_folder() -> Option<PathBuf> {
    std::env::var_os(CACHE_DIR_ENV)
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
        })
}

/// The hash cache of the tree at `root` in `folder`: one file per tree, named by a hash of its
/// absolute path.
fn cache_file(folder: &Path, root: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(root).ok()?;
    let key = blake3::hash(absolute.to_string_lossy().as_bytes()).to_hex();
    Some(folder.join(format!("hashes-{}.bin", &key[..16])))
}
