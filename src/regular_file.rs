//! Opening a file that must be a regular file of its own, never what a link points to.
//!
//! Media comes from whoever wrote it. A link on it (a symbolic link, a junction) could make
//! the tool read a file elsewhere on the receiving machine, or one that changes under it, so
//! the files the gate reads from media are opened here: a link, a folder or a device where a
//! file should be is [`Opened::Not`], with what it is. The check and the open cannot be told
//! apart by a swap in between: on Unix the opened file must be the very file (device and
//! inode) that was found to be a regular file; on Windows a link is opened as itself
//! (`FILE_FLAG_OPEN_REPARSE_POINT`), never followed, and what was opened is looked at.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use crate::content::EntryType;

/// What was found at a path that should hold a regular file.
#[derive(Debug)]
pub enum Opened {
    /// The regular file, open for reading.
    File(File),
    /// Something else: a link (never followed), or a device, pipe or socket.
    Not(EntryType),
    /// A folder.
    Folder,
}

/// Opens the regular file at `path` for reading, without following a link.
pub fn open(path: &Path) -> io::Result<Opened> {
    let found = fs::symlink_metadata(path)?;
    if found.is_dir() {
        return Ok(Opened::Folder);
    }
    if !found.is_file() {
        return Ok(Opened::Not(EntryType::of(found.file_type())));
    }
    let file = open_not_following(path)?;
    let opened = file.metadata()?;
    if opened.is_dir() {
        return Ok(Opened::Folder);
    }
    if !opened.is_file() || !same_file(&found, &opened) {
        // Replaced between the look and the open: by a link, or by another file.
        return Ok(Opened::Not(EntryType::Link));
    }
    Ok(Opened::File(file))
}

/// The entry at `path` is a link (a symbolic link or a junction); false when there is
/// nothing there or it cannot be looked at.
pub fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink())
}

#[cfg(windows)]
fn open_not_following(path: &Path) -> io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt;
    use windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

#[cfg(not(windows))]
fn open_not_following(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// The file found by its path and the one opened are the same file.
#[cfg(unix)]
fn same_file(found: &fs::Metadata, opened: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    found.dev() == opened.dev() && found.ino() == opened.ino()
}

/// On Windows the open did not follow a link, so what was opened is what is at the path.
#[cfg(not(unix))]
fn same_file(_found: &fs::Metadata, _opened: &fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        assert!(matches!(open(&file).unwrap(), Opened::File(_)));
        assert!(matches!(open(dir.path()).unwrap(), Opened::Folder));
        let missing = open(&dir.path().join("missing")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        assert!(!is_link(&file));
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert!(matches!(open(&link).unwrap(), Opened::Not(EntryType::Link)));
            assert!(is_link(&link));
        }
    }
}
