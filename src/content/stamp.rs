//! The [`Stamp`] of a file: what a writer cannot set back (its identity and change time),
//! which the hash caches key on beside size and modification time. Listing a folder gives
//! it on Unix with the rest of a file's metadata; on Windows it takes an open handle.

use std::fs;
use std::io;
use std::path::Path;

/// What a writer of a file cannot set back: which file it is, and when its bytes or
/// attributes last changed.
///
/// On Unix, the device and inode number and the change time (`st_ctime`), which the kernel
/// sets from its clock on every change; only changing the system clock (root) forges it.
/// On Windows, the volume serial number and file id (the 128-bit one where the file system
/// has it, else the file index) and NTFS's ChangeTime, which the programs that set file
/// times (`touch`, `robocopy /COPY:T`, PowerShell's `LastWriteTime`, `SetFileTime`) cannot
/// set; a program that calls `SetFileInformationByHandle` with the file's basic information
/// can, so there the stamp stops the tools that set times, not a program written to forge
/// it (against which only hashing every file helps: `mirror --full`, or no hash cache).
/// A file system that keeps no change time (FAT, exFAT) reports none, and there the stamp
/// rests on the file's identity alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The file's identity on its system: device and inode, or volume and file id.
    pub id: u128,
    /// The change time, nanoseconds since 1970 on Unix, 100-nanosecond units since 1601
    /// on Windows.
    pub changed: i128,
}

impl Stamp {
    /// The stamp of the file (or link) at `path`, never following a link.
    pub fn of_path(path: &Path) -> io::Result<Self> {
        #[cfg(unix)]
        {
            Ok(Self::of_metadata(&fs::symlink_metadata(path)?))
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            use windows_sys::Win32::Storage::FileSystem::{
                FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_READ_ATTRIBUTES,
                FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE,
            };
            // Only the attributes are read: no program that holds the file is disturbed.
            let file = fs::OpenOptions::new()
                .access_mode(FILE_READ_ATTRIBUTES)
                .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
                .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
                .open(path)?;
            Self::of_file(&file)
        }
    }

    /// The stamp of an open file.
    pub fn of_file(file: &fs::File) -> io::Result<Self> {
        #[cfg(unix)]
        {
            Ok(Self::of_metadata(&file.metadata()?))
        }
        #[cfg(windows)]
        {
            windows::stamp(file)
        }
    }

    /// The stamp in `metadata` (of a file or link, not followed).
    #[cfg(unix)]
    pub fn of_metadata(metadata: &fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            id: (u128::from(metadata.dev()) << 64) | u128::from(metadata.ino()),
            changed: i128::from(metadata.ctime()) * 1_000_000_000
                + i128::from(metadata.ctime_nsec()),
        }
    }
}

#[cfg(windows)]
mod windows {
    use std::fs::File;
    use std::io;
    use std::mem::{MaybeUninit, size_of};
    use std::os::windows::io::AsRawHandle;

    use windows_sys::Win32::Storage::FileSystem::{
        BY_HANDLE_FILE_INFORMATION, FILE_BASIC_INFO, FILE_ID_INFO, FileBasicInfo, FileIdInfo,
        GetFileInformationByHandle, GetFileInformationByHandleEx,
    };

    use super::Stamp;

    /// The file's volume and id (128-bit where the file system has one) and its ChangeTime.
    pub(super) fn stamp(file: &File) -> io::Result<Stamp> {
        let handle = file.as_raw_handle();
        let mut basic = MaybeUninit::<FILE_BASIC_INFO>::zeroed();
        // SAFETY: `handle` is an open file handle that `file` keeps open for the call, and
        // `basic` is a buffer of the size given, which the call fills on success.
        let basic = unsafe {
            if GetFileInformationByHandleEx(
                handle,
                FileBasicInfo,
                basic.as_mut_ptr().cast(),
                size_of::<FILE_BASIC_INFO>() as u32,
            ) == 0
            {
                return Err(io::Error::last_os_error());
            }
            basic.assume_init()
        };
        let mut ids = MaybeUninit::<FILE_ID_INFO>::zeroed();
        // SAFETY: as above, with a FILE_ID_INFO buffer.
        let id = unsafe {
            if GetFileInformationByHandleEx(
                handle,
                FileIdInfo,
                ids.as_mut_ptr().cast(),
                size_of::<FILE_ID_INFO>() as u32,
            ) != 0
            {
                let ids = ids.assume_init();
                u128::from_le_bytes(ids.FileId.Identifier)
                    ^ (u128::from(ids.VolumeSerialNumber) << 64)
            } else {
                // Not every file system has 128-bit ids: the file index, as older systems
                // give it.
                let mut info = MaybeUninit::<BY_HANDLE_FILE_INFORMATION>::zeroed();
                if GetFileInformationByHandle(handle, info.as_mut_ptr()) == 0 {
                    return Err(io::Error::last_os_error());
                }
                let info = info.assume_init();
                (u128::from(info.dwVolumeSerialNumber) << 64)
                    | (u128::from(info.nFileIndexHigh) << 32)
                    | u128::from(info.nFileIndexLow)
            }
        };
        Ok(Stamp {
            id,
            changed: i128::from(basic.ChangeTime),
        })
    }
}
