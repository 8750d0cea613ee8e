//! The package, read once: copied while hashed into a folder of the tool's own, and only that
//! copy parsed, described in a manifest or handed to wsusutil.
//!
//! Media can change while the tool works: a script that renames another cabinet over the
//! package once the gate has passed would otherwise have wsusutil import bytes nobody
//! verified. So the bytes are read from the media once, into a private copy, and everything
//! after is done with that copy.
//!
//! Private means a folder that whoever can write to the media cannot write to: made new by
//! this run (whatever was at its place is removed first), mode 0700 on Unix, and in a place
//! the tool already trusts. An import keeps it beside its trust state (`<state>.package`),
//! whose folder the replay protection already rests on, under the trust state's lock; a
//! run killed midway leaves it behind, and the next import with that trust state removes it
//! first. A verification, a dry run and an export use a temporary folder of the system's
//! (`.wsus-airgap-XXXXXX.tmp`, in the user's own temporary folder on Windows). Either is
//! removed when the run ends.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::atomic_file::{make_replaceable, sync_folder, temporary_file_builder};
use crate::content::EntryType;
use crate::content::hash::READ_CHUNK;
use crate::manifest::Blake3Digest;
use crate::regular_file::{self, Opened};

/// A folder of this run's own, removed (with what it holds) when dropped.
#[derive(Debug)]
pub struct PrivateFolder {
    path: PathBuf,
    /// Set for a temporary folder of the system's, which removes itself.
    temporary: Option<tempfile::TempDir>,
}

impl PrivateFolder {
    /// The folder at `path`, made anew: whatever an interrupted run left there is removed
    /// first (a link itself, never what it points to).
    pub fn fresh(path: &Path) -> io::Result<Self> {
        match fs::symlink_metadata(path) {
            Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path)?,
            Ok(_) => {
                make_replaceable(path)?;
                fs::remove_file(path)?;
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        #[cfg(unix)]
        let builder = {
            let mut builder = fs::DirBuilder::new();
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
        };
        #[cfg(not(unix))]
        let builder = fs::DirBuilder::new();
        builder.create(path)?;
        Ok(PrivateFolder {
            path: path.to_owned(),
            temporary: None,
        })
    }

    /// A new folder in the system's temporary folder.
    pub fn temporary() -> io::Result<Self> {
        #[cfg(unix)]
        let builder = {
            let mut builder = temporary_file_builder();
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
            builder
        };
        #[cfg(not(unix))]
        let builder = temporary_file_builder();
        let folder = builder.tempdir()?;
        Ok(PrivateFolder {
            path: folder.path().to_owned(),
            temporary: Some(folder),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateFolder {
    fn drop(&mut self) {
        if self.temporary.is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// What reading a file off the media found.
#[derive(Debug)]
pub enum Taken {
    /// Nothing there.
    Missing,
    /// Not a regular file (a link is never followed), or a folder.
    NotAFile(EntryType),
    Unreadable(io::Error),
    /// Not of the expected size: read and hashed, but not copied.
    OtherSize {
        size: u64,
        blake3: Blake3Digest,
    },
    /// Copied: where, and what its bytes were.
    Copied {
        path: PathBuf,
        size: u64,
        blake3: Blake3Digest,
    },
}

/// Copies the regular file at `source` into `folder` under its own name, hashing it on the
/// way: the copy holds exactly the bytes the hash describes. A link is never followed, and a
/// file that is not of the `expected` size is only hashed, never copied: nothing larger than
/// the manifest says is written. Errors are the folder's; the source's are in [`Taken`].
pub fn take(source: &Path, folder: &Path, expected: u64) -> Result<Taken, io::Error> {
    let mut input = match regular_file::open(source) {
        Ok(Opened::File(file)) => file,
        Ok(Opened::Not(file_type)) => return Ok(Taken::NotAFile(file_type)),
        // A folder is not a file: say so as the content checks do.
        Ok(Opened::Folder) => return Ok(Taken::NotAFile(EntryType::Special)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Taken::Missing),
        Err(error) => return Ok(Taken::Unreadable(error)),
    };
    let size = match input.metadata() {
        Ok(metadata) => metadata.len(),
        Err(error) => return Ok(Taken::Unreadable(error)),
    };
    if size != expected {
        return Ok(match copy_hashing(&mut input, None, u64::MAX) {
            Ok((size, blake3)) => Taken::OtherSize { size, blake3 },
            Err(CopyFailed::Read(error) | CopyFailed::Write(error)) => Taken::Unreadable(error),
        });
    }
    let name = source.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "the package has no file name")
    })?;
    let path = folder.join(name);
    let mut output = File::options().write(true).create_new(true).open(&path)?;
    // A file growing meanwhile is read one byte past its size: enough to see it differ.
    let copied = copy_hashing(&mut input, Some(&mut output), expected.saturating_add(1));
    drop(output);
    match copied {
        Ok((size, blake3)) => Ok(Taken::Copied { path, size, blake3 }),
        Err(failed) => {
            let _ = fs::remove_file(&path);
            match failed {
                CopyFailed::Read(error) => Ok(Taken::Unreadable(error)),
                CopyFailed::Write(error) => Err(error),
            }
        }
    }
}

/// Copies the file at `source` to `target` atomically (through a temporary file beside it,
/// flushed, then renamed over it), hashing what it writes; returns the size and BLAKE3 of
/// the bytes now at `target`.
pub fn place(source: &Path, target: &Path) -> Result<(u64, Blake3Digest), PlaceError> {
    let read = |error| PlaceError::Read {
        path: source.to_owned(),
        source: error,
    };
    let write = |error| PlaceError::Write {
        path: target.to_owned(),
        source: error,
    };
    let mut input = File::open(source).map_err(read)?;
    let folder = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temporary = temporary_file_builder()
        .tempfile_in(folder)
        .map_err(write)?;
    let (size, blake3) = copy_hashing(&mut input, Some(temporary.as_file_mut()), u64::MAX)
        .map_err(|failed| match failed {
            CopyFailed::Read(error) => read(error),
            CopyFailed::Write(error) => write(error),
        })?;
    temporary.as_file().sync_all().map_err(write)?;
    make_replaceable(target).map_err(write)?;
    temporary
        .persist(target)
        .map_err(|error| write(error.error))?;
    sync_folder(folder);
    Ok((size, blake3))
}

/// Why [`place`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

enum CopyFailed {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `input` to its end, or to `limit` bytes, into `output` (flushed to disk), or with
/// no output only reads it; the size and BLAKE3 of what was read.
fn copy_hashing(
    input: &mut File,
    mut output: Option<&mut File>,
    limit: u64,
) -> Result<(u64, Blake3Digest), CopyFailed> {
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    let mut input = input.take(limit);
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(CopyFailed::Read(error)),
        };
        hasher.update(&buffer[..read]);
        if let Some(output) = output.as_mut() {
            output
                .write_all(&buffer[..read])
                .map_err(CopyFailed::Write)?;
        }
        size += read as u64;
    }
    if let Some(output) = output {
        output.sync_all().map_err(CopyFailed::Write)?;
    }
    Ok((size, Blake3Digest(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_folder_replaces_what_was_left_and_goes_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json.package");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("export.xml.gz"), b"left by a killed run").unwrap();
        let folder = PrivateFolder::fresh(&path).unwrap();
        assert_eq!(fs::read_dir(&path).unwrap().count(), 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let source = dir.path().join("export.xml.gz");
        fs::write(&source, b"package").unwrap();
        let Taken::Copied {
            path: copy,
            size,
            blake3,
        } = take(&source, folder.path(), 7).unwrap()
        else {
            panic!("not copied")
        };
        assert_eq!(copy, path.join("export.xml.gz"));
        assert_eq!(fs::read(&copy).unwrap(), b"package");
        assert_eq!((size, blake3.0), (7, blake3::hash(b"package")));
        assert!(matches!(
            take(&dir.path().join("missing"), folder.path(), 7).unwrap(),
            Taken::Missing
        ));
        drop(folder);
        assert!(!path.exists());
        let temporary = PrivateFolder::temporary().unwrap();
        let kept = temporary.path().to_owned();
        assert!(kept.is_dir());
        drop(temporary);
        assert!(!kept.exists());
    }

    #[test]
    fn placing_a_file_hashes_what_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("private");
        fs::write(&source, b"package").unwrap();
        let target = dir.path().join("export.xml.gz");
        fs::write(&target, b"an older package").unwrap();
        let (size, blake3) = place(&source, &target).unwrap();
        assert_eq!((size, blake3.0), (7, blake3::hash(b"package")));
        assert_eq!(fs::read(&target).unwrap(), b"package");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
