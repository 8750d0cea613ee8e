//! Reading a file once to get the digests its caller needs.
//!
//! SHA-1 is what WSUS names content by, so it proves a file matches its name; BLAKE3 is what
//! the tool's own manifests use. A caller that needs both gets both from the same pass
//! ([`hash_file`]): reading a file twice would double the cost on slow removable media. A
//! caller that needs one computes only that one ([`hash_sha1`] for the audit, [`hash_blake3`]
//! and [`hash_blake3_mapped`] for manifests).
//!
//! How the bytes are read ([`Access`]): by default through plain `read` calls in large
//! chunks, so that a file truncated by another program, media removed mid-read or a network
//! share that goes away gives an I/O error instead of a crash. Only the verification of
//! finished media against its manifest maps large files into memory and hashes each with
//! BLAKE3 on all cores, and only on a fixed local disk ([`hash_blake3_mapped`]). A file
//! another program holds open is read again from its start once it is let go
//! ([`crate::retry`]); the bytes read before are then reported to the progress twice.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha1::{Digest, Sha1};

use super::layout::Sha1Digest;
use crate::progress::Progress;
use crate::retry;

/// Size of the read buffer each hashing thread owns: large enough to keep per-call overhead
/// negligible, small enough to stay in a core's L2 cache, where the kernel's copy lands and
/// the hashes find it (the kernel's share of an audit's time is a quarter less than with
/// 512 KiB).
pub const READ_CHUNK: usize = 128 * 1024;

/// Files at least this large are mapped by [`hash_blake3_mapped`]. Smaller files are hashed
/// one per core, and reading them costs no more than mapping them (measured: bench/hash.sh);
/// the larger ones are where mapping saves the kernel's copy (two thirds of the system time
/// of reading a 5 GB file) and lets all cores work on one file.
pub const MAP_THRESHOLD: u64 = 16 * 1024 * 1024;

/// How much of a mapped file is hashed (on all cores) between two progress reports: a power
/// of two, so every piece is whole subtrees of BLAKE3's tree. Each piece ends with the cores
/// waiting for each other; on a busy machine, where one of them is often taken away, fewer
/// such waits keep up with `b3sum`, which hashes the whole file in one go. From a disk
/// reading 200 MB/s the progress still moves every second or so.
const MAPPED_PIECE: usize = 256 * 1024 * 1024;

/// Runs `work` with this thread's [`READ_CHUNK`] buffer, made on the thread's first call.
/// Thousands of small files would otherwise each pay for a fresh zeroed buffer.
pub fn with_read_buffer<R>(work: impl FnOnce(&mut [u8]) -> R) -> R {
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buffer| {
        if buffer.is_empty() {
            buffer.resize(READ_CHUNK, 0);
        }
        work(buffer)
    })
}

/// What one read of a file proves about it: everything a manifest entry needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigests {
    pub size: u64,
    pub sha1: Sha1Digest,
    pub blake3: blake3::Hash,
}

/// What a content file's name can be checked against: its size and SHA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentDigests {
    pub size: u64,
    pub sha1: Sha1Digest,
}

impl FileDigests {
    /// The part of the digests a content name speaks about.
    pub fn content(&self) -> ContentDigests {
        ContentDigests {
            size: self.size,
            sha1: self.sha1,
        }
    }
}

/// Hashes the file at `path` with both digests, reporting read bytes to `progress` as they
/// go. `buffer` is scratch space reused across calls (see [`READ_CHUNK`]).
pub fn hash_file(
    path: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> io::Result<FileDigests> {
    retry::io_while_held_open(|| {
        let mut sha1 = Sha1::new();
        let mut blake3 = blake3::Hasher::new();
        let size = read_through(&mut open_regular(path)?.0, buffer, progress, |chunk| {
            sha1.update(chunk);
            blake3.update(chunk);
        })?;
        Ok(FileDigests {
            size,
            sha1: Sha1Digest(sha1.finalize().into()),
            blake3: blake3.finalize(),
        })
    })
}

/// Size and SHA-1 of the file at `path`: all that checking a content file against its name
/// needs.
pub fn hash_sha1(
    path: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> io::Result<ContentDigests> {
    retry::io_while_held_open(|| {
        let mut sha1 = Sha1::new();
        let size = read_through(&mut open_regular(path)?.0, buffer, progress, |chunk| {
            sha1.update(chunk);
        })?;
        Ok(ContentDigests {
            size,
            sha1: Sha1Digest(sha1.finalize().into()),
        })
    })
}

/// Size and BLAKE3 of the file at `path`: all a manifest needs to prove a file unchanged.
/// Always read through `read` calls ([`Access::Read`]).
pub fn hash_blake3(
    path: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> io::Result<(u64, blake3::Hash)> {
    hash_blake3_with(path, Access::Read, MAP_THRESHOLD, buffer, progress)
}

/// [`hash_blake3`] for verifying finished media: a file of at least [`MAP_THRESHOLD`] bytes
/// on a fixed local disk is mapped into memory and hashed on all cores of the current rayon
/// pool ([`Access::Map`]), the way `b3sum` does; anything else is read.
pub fn hash_blake3_mapped(
    path: &Path,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> io::Result<(u64, blake3::Hash)> {
    hash_blake3_with(path, Access::Map, MAP_THRESHOLD, buffer, progress)
}

/// How a file's bytes reach the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `read` calls into the thread's buffer, whatever the file: a file that changes or
    /// vanishes while it is read gives an I/O error or other bytes, never a crash. For
    /// everything but the verification of finished media: a WSUS server's live content
    /// folder, a mirror's source, network shares.
    Read,
    /// Large files on a fixed local disk are mapped; the rest as [`Access::Read`]. A mapped
    /// file that another program truncates, or that sits on media pulled out mid-read, kills
    /// the process (SIGBUS; an in-page error on Windows) instead of failing the read. That is
    /// acceptable only where nothing should be writing and a crash still fails safe: verifying
    /// media against its manifest, which an import waits for.
    Map,
}

/// [`hash_blake3`] by `access`, mapping files of at least `map_from` bytes.
fn hash_blake3_with(
    path: &Path,
    access: Access,
    map_from: u64,
    buffer: &mut [u8],
    progress: &dyn Progress,
) -> io::Result<(u64, blake3::Hash)> {
    retry::io_while_held_open(|| {
        let (mut file, size) = open_regular(path)?;
        let mut blake3 = blake3::Hasher::new();
        // Mapped only for finished media on a fixed disk, where a crash fails safe (Access::Map).
        if access == Access::Map
            && size >= map_from
            && on_fixed_disk(path, &file)
            && let Some(map) = map(&file, size)
        {
            hash_in_pieces(&mut blake3, &map, MAPPED_PIECE, progress);
            // A file that grew while it was hashed is read whole instead, as `read` would.
            if file.metadata()?.len() == size {
                return Ok((size, blake3.finalize()));
            }
            blake3.reset();
            io::Seek::rewind(&mut file)?;
        }
        let size = read_through(&mut file, buffer, progress, |chunk| {
            blake3.update(chunk);
        })?;
        Ok((size, blake3.finalize()))
    })
}

/// Hashes `bytes` into `blake3` on all cores of the current rayon pool, `piece` bytes at a
/// time, reporting each piece to `progress`.
fn hash_in_pieces(
    blake3: &mut blake3::Hasher,
    bytes: &[u8],
    piece: usize,
    progress: &dyn Progress,
) {
    for piece in bytes.chunks(piece) {
        blake3.update_rayon(piece);
        progress.bytes_read(piece.len() as u64);
    }
}

/// Opens the file at `path` for reading, with its size, if it is still a regular file.
fn open_regular(path: &Path) -> io::Result<(File, u64)> {
    let file = File::open(path)?;
    // The caller listed a regular file without following links; if a link or anything else
    // has taken its place since, do not read through it.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no longer a regular file",
        ));
    }
    Ok((file, metadata.len()))
}

/// `file`'s first `size` bytes mapped read-only, or `None` when the system will not map them
/// (a 32-bit process and a file of gigabytes, for example): the caller reads instead.
fn map(file: &File, size: u64) -> Option<memmap2::Mmap> {
    let length = usize::try_from(size).ok()?;
    // SAFETY: the map is only read, and only by the hash, never handed out; the ways another
    // program could change it under us are the ones `Access::Map` accepts.
    unsafe { memmap2::MmapOptions::new().len(length).map(file) }.ok()
}

/// True when `file` (at `path`) sits on a fixed local disk, where mapping it is safe enough
/// for [`Access::Map`]. By the file system's type on Linux (those of internal disks, not the
/// FAT, exFAT or NTFS of transfer media nor network or FUSE file systems); by the drive type
/// on Windows; never elsewhere.
#[cfg(target_os = "linux")]
fn on_fixed_disk(_path: &Path, file: &File) -> bool {
    use std::os::fd::AsRawFd;
    /// The `f_type` magic numbers of the file systems of internal disks.
    const FIXED_DISK_FILE_SYSTEMS: [u32; 9] = [
        0xEF53,      // ext2, ext3, ext4
        0x5846_5342, // XFS
        0x9123_683E, // Btrfs
        0x0102_1994, // tmpfs
        0x8584_58F6, // ramfs
        0xF2F5_2010, // F2FS
        0x2FC1_2FC1, // ZFS
        0x794C_7630, // overlayfs
        0xCA45_1A4E, // bcachefs
    ];
    let mut stat = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `stat` is valid for writing a `statfs`, and the descriptor is open for the call.
    if unsafe { libc::fstatfs(file.as_raw_fd(), stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstatfs returned 0, so it filled `stat`.
    let kind = unsafe { stat.assume_init() }.f_type;
    FIXED_DISK_FILE_SYSTEMS.contains(&(kind as u32))
}

#[cfg(windows)]
fn on_fixed_disk(path: &Path, _file: &File) -> bool {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::{GetDriveTypeW, GetVolumePathNameW};
    /// `DRIVE_FIXED` of `GetDriveTypeW`: not removable, not a network drive, CD or RAM disk.
    const DRIVE_FIXED: u32 = 3;
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    // The volume's path is never longer than the path it holds, plus a final backslash.
    let mut root = vec![0u16; wide.len() + 2];
    // SAFETY: `wide` is NUL-terminated and `root` holds as many characters as passed.
    let found = unsafe { GetVolumePathNameW(wide.as_ptr(), root.as_mut_ptr(), root.len() as u32) };
    // SAFETY: on success `root` holds a NUL-terminated volume path.
    found != 0 && unsafe { GetDriveTypeW(root.as_ptr()) } == DRIVE_FIXED
}

#[cfg(not(any(target_os = "linux", windows)))]
fn on_fixed_disk(_path: &Path, _file: &File) -> bool {
    false
}

/// Reads `file` to its end, chunk by chunk, and returns its size.
fn read_through(
    file: &mut File,
    buffer: &mut [u8],
    progress: &dyn Progress,
    mut each: impl FnMut(&[u8]),
) -> io::Result<u64> {
    read_chunks(
        file,
        buffer,
        progress,
        |error| error,
        |chunk| {
            each(chunk);
            Ok(())
        },
    )
}

/// Reads `file` to its end through `buffer`, handing each chunk to `each` and reporting read
/// bytes to `progress`; returns the size. Read errors become `E` through `read_error`, and an
/// error from `each` stops the reading.
pub fn read_chunks<E>(
    file: &mut File,
    buffer: &mut [u8],
    progress: &dyn Progress,
    read_error: impl Fn(io::Error) -> E,
    mut each: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<u64, E> {
    let mut size = 0u64;
    loop {
        let read = match file.read(buffer) {
            Ok(0) => return Ok(size),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(read_error(error)),
        };
        each(&buffer[..read])?;
        size += read as u64;
        progress.bytes_read(read as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::NoProgress;

    #[test]
    fn digests_match_known_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let mut buffer = vec![0; 2];
        let digests = hash_file(&path, &mut buffer, &NoProgress).unwrap();
        assert_eq!(digests.size, 3);
        assert_eq!(
            digests.sha1.to_string(),
            "A9993E364706816ABA3E25717850C26C9CD0D89D"
        );
        assert_eq!(digests.blake3, blake3::hash(b"abc"));
        let (size, blake3) = hash_blake3(&path, &mut buffer, &NoProgress).unwrap();
        assert_eq!((size, blake3), (3, blake3::hash(b"abc")));
        let (size, blake3) = hash_blake3_mapped(&path, &mut buffer, &NoProgress).unwrap();
        assert_eq!((size, blake3), (3, blake3::hash(b"abc")));
        assert_eq!(
            hash_sha1(&path, &mut buffer, &NoProgress).unwrap(),
            digests.content()
        );
    }

    /// Pseudo-random bytes, so that a piece hashed twice or out of order shows.
    fn bytes(size: usize) -> Vec<u8> {
        let mut bytes = vec![0; size];
        crate::synth::SplitMix64(size as u64).fill(&mut bytes);
        bytes
    }

    /// Counts the bytes reported, to check each is reported once.
    #[derive(Default)]
    struct Counted(std::sync::atomic::AtomicU64);

    impl Progress for Counted {
        fn bytes_read(&self, bytes: u64) {
            self.0
                .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn every_way_of_reading_gives_the_same_digests_around_the_map_threshold() {
        let dir = tempfile::tempdir().unwrap();
        // Around a lower threshold than the real one, to keep the files small; the real one is
        // used below.
        let threshold = 256 * 1024;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for size in [
            0,
            1,
            threshold - 1,
            threshold,
            threshold + 1,
            3 * threshold + 7,
        ] {
            let content = bytes(size);
            let path = dir.path().join(format!("{size}.cab"));
            std::fs::write(&path, &content).unwrap();
            let expected = (size as u64, blake3::hash(&content));
            let mut buffer = vec![0; 4096];
            let read = hash_blake3(&path, &mut buffer, &NoProgress).unwrap();
            let counted = Counted::default();
            let mapped = pool.install(|| {
                hash_blake3_with(&path, Access::Map, threshold as u64, &mut buffer, &counted)
                    .unwrap()
            });
            let both = hash_file(&path, &mut buffer, &NoProgress).unwrap();
            assert_eq!(read, expected, "read, {size} bytes");
            assert_eq!(mapped, expected, "mapped, {size} bytes");
            assert_eq!(counted.0.into_inner(), size as u64, "{size} bytes reported");
            assert_eq!((both.size, both.blake3), expected, "both, {size} bytes");
            let sha1 = <Sha1 as Digest>::digest(&content);
            assert_eq!(both.sha1, Sha1Digest(sha1.into()), "SHA-1, {size} bytes");
            assert_eq!(
                hash_sha1(&path, &mut buffer, &NoProgress).unwrap(),
                both.content()
            );
        }
    }

    #[test]
    fn files_at_the_real_map_threshold_hash_alike_whichever_way() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = vec![0; READ_CHUNK];
        for size in [MAP_THRESHOLD - 1, MAP_THRESHOLD] {
            let content = bytes(size as usize);
            let path = dir.path().join(format!("{size}.esd"));
            std::fs::write(&path, &content).unwrap();
            let expected = (size, blake3::hash(&content));
            assert_eq!(
                hash_blake3(&path, &mut buffer, &NoProgress).unwrap(),
                expected
            );
            assert_eq!(
                hash_blake3_mapped(&path, &mut buffer, &NoProgress).unwrap(),
                expected
            );
        }
    }

    #[test]
    fn a_mapped_file_hashed_in_pieces_on_several_threads_gives_the_one_pass_digest() {
        let dir = tempfile::tempdir().unwrap();
        let content = bytes(5 * 1024 * 1024 + 123);
        let path = dir.path().join("big.esd");
        std::fs::write(&path, &content).unwrap();
        let (file, size) = open_regular(&path).unwrap();
        let map = map(&file, size).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        // Whole pieces of BLAKE3's tree, and pieces that cut its chunks.
        for piece in [MAPPED_PIECE, 1024 * 1024, 64 * 1024, 1000] {
            let mut hasher = blake3::Hasher::new();
            let counted = Counted::default();
            pool.install(|| hash_in_pieces(&mut hasher, &map, piece, &counted));
            assert_eq!(
                hasher.finalize(),
                blake3::hash(&content),
                "pieces of {piece}"
            );
            assert_eq!(counted.0.into_inner(), content.len() as u64);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn proc_is_no_fixed_disk() {
        let file = File::open("/proc/self/status").unwrap();
        assert!(!on_fixed_disk(Path::new("/proc/self/status"), &file));
    }

    #[cfg(windows)]
    #[test]
    fn a_file_held_open_is_hashed_once_let_go_and_refused_if_never() {
        use crate::retry::HeldOpen;
        use std::os::windows::fs::OpenOptionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let hold = || {
            File::options()
                .read(true)
                .share_mode(0)
                .open(&path)
                .unwrap()
        };
        let mut buffer = vec![0; 16];

        let holder = hold();
        let error = hash_blake3(&path, &mut buffer, &NoProgress).unwrap_err();
        drop(holder);
        assert_eq!(error.kind(), io::ErrorKind::ResourceBusy);
        let held = error.get_ref().and_then(|inner| inner.downcast_ref());
        assert_eq!(held, Some(&HeldOpen { code: 32 }));

        let holder = hold();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(holder);
        });
        let digests = hash_file(&path, &mut buffer, &NoProgress).unwrap();
        releaser.join().unwrap();
        assert_eq!(digests.blake3, blake3::hash(b"abc"));
    }
}
