//! Writing or copying a file so that a crash leaves either the old file or the new one, never
//! half.
//!
//! The bytes go to a temporary file in the destination's own folder (so the rename cannot
//! cross file systems), are flushed to disk, and the temporary file is renamed over the
//! destination; then the folder itself is flushed so the rename survives a power cut. Windows
//! may refuse to flush a folder; that is treated as done, as the rename is already durable
//! through NTFS's journal. Every temporary file of the tool is made and recognised here
//! ([`temporary_file_builder`], [`is_temporary_name`]), so that a run can remove what an
//! interrupted one left behind.
//!
//! A file only its owner may read is made so from the start: mode 0600 on Unix, a DACL for the
//! owner alone on Windows (see `owner_only`). A read-only file in the way is replaced
//! all the same ([`make_replaceable`]).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Who may read the written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The owner only (mode 0600 on Unix, a protected DACL granting the current user alone
    /// full control on Windows): for secret keys.
    OwnerOnly,
    /// Everyone may read, the owner may write (mode 0644 on Unix).
    Shared,
}

/// Whether an existing file at the destination may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Replace,
    /// Fail with [`io::ErrorKind::AlreadyExists`] and leave the existing file alone.
    Keep,
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8], access: Access, existing: Existing) -> io::Result<()> {
    let folder = folder_of(path);
    let builder = temporary_file_builder();
    #[cfg(unix)]
    let builder = {
        use std::os::unix::fs::PermissionsExt;
        let mode = match access {
            Access::OwnerOnly => 0o600,
            Access::Shared => 0o644,
        };
        let mut builder = builder;
        builder.permissions(std::fs::Permissions::from_mode(mode));
        builder
    };
    #[cfg(windows)]
    let mut temporary = match access {
        Access::OwnerOnly => builder.make_in(folder, crate::owner_only::create_new)?,
        Access::Shared => builder.tempfile_in(folder)?,
    };
    #[cfg(not(windows))]
    let mut temporary = builder.tempfile_in(folder)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    match existing {
        Existing::Replace => {
            make_replaceable(path)?;
            temporary.persist(path).map_err(|error| error.error)?
        }
        Existing::Keep => temporary
            .persist_noclobber(path)
            .map_err(|error| error.error)?,
    };
    sync_folder(folder);
    Ok(())
}

/// Why [`copy`] failed: what it could not do, and to which file.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// No temporary file could be made in the target's folder.
    #[error("{}: cannot write into: {source}", path.display())]
    Folder { path: PathBuf, source: io::Error },
    /// Reading the source or writing the temporary file failed midway.
    #[error("{}: cannot copy: {source}", path.display())]
    Copy { path: PathBuf, source: io::Error },
    /// The read-only attribute of the target could not be cleared.
    #[error("{}: cannot make writable: {source}", path.display())]
    MakeReplaceable { path: PathBuf, source: io::Error },
    /// The copy could not be flushed to disk or renamed over the target.
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// Copies the file at `source` to `target` atomically, as [`write()`] writes: into a temporary
/// file in the target's folder, flushed to disk, then renamed over the target, read-only or
/// not. A source that is the target already is left alone. The copy has the temporary file's
/// permissions (on Unix, mode 0600), not the source's.
pub fn copy(source: &Path, target: &Path) -> Result<(), CopyError> {
    let same = fs::canonicalize(source)
        .ok()
        .zip(fs::canonicalize(target).ok())
        .is_some_and(|(source, target)| source == target);
    if same {
        return Ok(());
    }
    let mut input = File::open(source).map_err(|error| CopyError::Read {
        path: source.to_owned(),
        source: error,
    })?;
    let folder = folder_of(target);
    let mut temporary = temporary_file_builder()
        .tempfile_in(folder)
        .map_err(|error| CopyError::Folder {
            path: folder.to_owned(),
            source: error,
        })?;
    io::copy(&mut input, temporary.as_file_mut()).map_err(|error| CopyError::Copy {
        path: source.to_owned(),
        source: error,
    })?;
    let write_error = |error| CopyError::Write {
        path: target.to_owned(),
        source: error,
    };
    temporary.as_file().sync_all().map_err(write_error)?;
    make_replaceable(target).map_err(|error| CopyError::MakeReplaceable {
        path: target.to_owned(),
        source: error,
    })?;
    temporary
        .persist(target)
        .map_err(|error| write_error(error.error))?;
    sync_folder(folder);
    Ok(())
}

/// The folder a file at `path` is in: `.` for a bare file name.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Proves that [`write()`] could put a file in `folder` now, before work that must be recorded
/// there afterwards: creates the folder if needed, then a temporary file in it, removed at
/// once.
pub fn check_writable(folder: &Path) -> io::Result<()> {
    std::fs::create_dir_all(folder).map_err(|error| file_in_the_way(folder, error))?;
    let probe = temporary_file_builder().tempfile_in(folder)?;
    probe.close()
}

/// `error` about `path`, said plainly when a file stands where one of its folders must be
/// (which the system reports as "File exists" or "Not a directory").
pub fn file_in_the_way(path: &Path, error: io::Error) -> io::Error {
    let kind = error.kind();
    // The path itself may be a file for other reasons (a folder was asked for where it is, or
    // it is unreadable); a file above it always stands in the way.
    let in_the_way = |ancestor: &Path| {
        ancestor.is_file()
            && (ancestor != path
                || matches!(
                    kind,
                    io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory
                ))
    };
    match path.ancestors().find(|ancestor| in_the_way(ancestor)) {
        Some(file) => io::Error::new(
            kind,
            format!("{} is a file, where a folder is needed", file.display()),
        ),
        None => error,
    }
}

/// True when a file stands where one of the folders above `path` must be.
pub fn has_file_in_the_way(path: &Path) -> bool {
    path.ancestors().skip(1).any(Path::is_file)
}

/// The start of every temporary file name this tool gives.
const TEMPORARY_PREFIX: &str = ".wsus-airgap-";
/// The end of every temporary file name this tool gives.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// A builder of this tool's temporary files, named `.wsus-airgap-XXXXXX.tmp`: hidden on Unix,
/// and recognised by [`is_temporary_name`] when an interrupted run leaves one behind.
pub fn temporary_file_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMPORARY_PREFIX).suffix(TEMPORARY_SUFFIX);
    builder
}

/// True for the names [`temporary_file_builder`] gives, which an interrupted run may leave
/// behind and the next run removes.
pub fn is_temporary_name(name: &str) -> bool {
    name.starts_with(TEMPORARY_PREFIX) && name.ends_with(TEMPORARY_SUFFIX)
}

/// Clears the read-only attribute of the file at `path`, if it has one, so that it can be
/// replaced or deleted: Windows refuses both for a read-only file, and media copied from a
/// DVD or by robocopy is often read-only. Nothing there, a folder or a link is left alone.
/// On Unix this does nothing: there the folder's permissions decide, not the file's.
pub fn make_replaceable(path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        match std::fs::symlink_metadata(path) {
            Ok(metadata) if metadata.is_file() && metadata.permissions().readonly() => {
                let mut permissions = metadata.permissions();
                // On Windows this clears the attribute alone; the lint is about Unix modes.
                #[allow(clippy::permissions_set_readonly_false)]
                permissions.set_readonly(false);
                std::fs::set_permissions(path, permissions)
            }
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
    #[cfg(not(windows))]
    {
        let _ = path;
        Ok(())
    }
}

/// Flushes a folder's entries to disk, as far as the platform allows.
pub fn sync_folder(folder: &Path) {
    // Opening a folder for flushing is a Unix idiom; on Windows it needs backup semantics and
    // may be refused. Either way a failure here loses no data the rename has not already
    // committed to the journal, so it is ignored.
    #[cfg(unix)]
    if let Ok(handle) = std::fs::File::open(folder) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}

/// Flushes every file written to the file system holding `path` with one `syncfs`: far
/// cheaper than flushing thousands of files one by one. Linux only; elsewhere it reports
/// `Unsupported` and callers flush each file.
pub fn sync_file_system(path: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let handle = std::fs::File::open(path)?;
        // SAFETY: `syncfs` only reads the descriptor, which `handle` keeps open for the call.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn temporary_files_are_recognised_by_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let temporary = temporary_file_builder().tempfile_in(dir.path()).unwrap();
        let name = temporary.path().file_name().unwrap().to_str().unwrap();
        assert!(is_temporary_name(name), "{name}");
        assert!(is_temporary_name(".wsus-airgap-Ab12Cd.tmp"));
        assert!(!is_temporary_name("wsus-airgap-Ab12Cd.tmp"));
        assert!(!is_temporary_name(".wsus-airgap-Ab12Cd.cab"));
    }

    #[test]
    fn check_writable_creates_the_folder_and_leaves_nothing_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("a/b");
        check_writable(&folder).unwrap();
        assert_eq!(fs::read_dir(&folder).unwrap().count(), 0);
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(check_writable(&file.join("below")).is_err());
    }

    #[test]
    fn replaces_or_keeps_as_asked_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write(&path, b"one", Access::Shared, Existing::Keep).unwrap();
        let error = write(&path, b"two", Access::Shared, Existing::Keep).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write(&path, b"three", Access::Shared, Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn copies_over_a_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("given.xml.gz");
        fs::write(&source, b"package").unwrap();
        let media = dir.path().join("media");
        fs::create_dir(&media).unwrap();
        let target = media.join("export.xml.gz");
        fs::write(&target, b"an older package").unwrap();
        copy(&source, &target).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"package");
        assert_eq!(fs::read_dir(&media).unwrap().count(), 1);
        // A file copied onto itself stays as it is.
        copy(&target, &target).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"package");
        assert_eq!(fs::read_dir(&media).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_copy_names_the_file_and_what_failed() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let target = dir.path().join("target");
        let error = copy(&missing, &target).unwrap_err();
        assert!(matches!(&error, CopyError::Read { path, .. } if *path == missing));
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: cannot read: ", missing.display())),
            "{error}"
        );
        let source = dir.path().join("source");
        fs::write(&source, b"x").unwrap();
        let nowhere = dir.path().join("no folder").join("target");
        let error = copy(&source, &nowhere).unwrap_err();
        assert!(
            matches!(&error, CopyError::Folder { path, .. } if path == nowhere.parent().unwrap())
        );
        assert!(!target.exists());
    }

    #[cfg(unix)]
    #[test]
    fn owner_only_files_are_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write(&path, b"k", Access::OwnerOnly, Existing::Keep).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let shared = dir.path().join("public");
        write(&shared, b"k", Access::Shared, Existing::Keep).unwrap();
        let mode = fs::metadata(&shared).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}
