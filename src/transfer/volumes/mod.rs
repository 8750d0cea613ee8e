//! Transfers split over volumes: discs or drives each smaller than the whole transfer.
//!
//! `export` with a volume size packs the carried files into `volume-01/` ... `volume-NN/` (see
//! [`crate::volumes::plan`]), cutting a file into chunks where it must; every volume gets the
//! same signed manifest, a `volume.json` that says which volume it is, its files and a
//! README.txt. Each volume is verifiable on its own ([`check`]). `import` takes volumes one at
//! a time in any order ([`import`]): each is checked before anything of it is placed, its
//! whole files go straight into the content folder (they are named by their hash, so a proven
//! file placed early is safe), its chunks wait in a staging folder beside the content folder
//! until their file is whole, and the import proper (deletions, the completeness proof,
//! `wsusutil import`, the trust state and the receipt) happens once, with the last volume.

pub mod check;
pub mod export;
pub mod import;
pub mod outlook;
pub mod progress;

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::content::hash::READ_CHUNK;
use crate::manifest::volumes::folder_name;
use crate::progress::Progress;
use crate::relpath::RelPath;

pub use check::{VolumeCheck, check_volume, is_volume, read_marker};
pub use export::{VolumeOptions, export, export_any};
pub use import::{VolumePreview, VolumesImport, VolumesReport, import, import_any, preview};

/// The file on each volume that says which volume it is. It is not signed: a volume whose
/// files are not the ones the signed manifest puts on the volume it claims to be is refused.
pub const MARKER: &str = "volume.json";
/// The folder of chunks on a volume.
pub const CHUNKS_FOLDER: &str = "chunks";

/// What `volume.json` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    pub volume: u32,
    pub count: u32,
}

/// The folder of volume `number` in the media folder `media`.
pub fn volume_folder(media: &Path, number: u32) -> PathBuf {
    media.join(folder_name(number))
}

/// Where a whole file lies on a volume.
pub fn whole_path(volume: &Path, path: &RelPath) -> PathBuf {
    path.under(&volume.join(crate::content::FOLDER_NAME))
}

/// Where the chunk of `path` from `offset` lies below `folder` (a volume, or the staging
/// folder): `chunks/<path>.<offset>`.
pub fn chunk_path(folder: &Path, path: &RelPath, offset: u64) -> PathBuf {
    let mut chunk = path.under(&folder.join(CHUNKS_FOLDER)).into_os_string();
    chunk.push(format!(".{offset}"));
    PathBuf::from(chunk)
}

/// Copies `size` bytes of `source` from `offset` into `target`, atomically (a temporary file
/// beside it, flushed, renamed over it), reporting the bytes to `progress`; returns their
/// BLAKE3 (and hands them to `whole`, the hash of the file they are part of). When `expected`
/// is given and the bytes are other, nothing is left at `target`.
pub fn copy_range(
    source: &Path,
    offset: u64,
    size: u64,
    target: &Path,
    expected: Option<blake3::Hash>,
    mut whole: Option<&mut blake3::Hasher>,
    progress: &dyn Progress,
) -> io::Result<blake3::Hash> {
    let mut input = File::open(source)?;
    input.seek(SeekFrom::Start(offset))?;
    let folder = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut temporary = atomic_file::temporary_file_builder().tempfile_in(folder)?;
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut left = size;
    while left > 0 {
        let want = usize::try_from(left.min(READ_CHUNK as u64)).expect("a chunk fits");
        let read = match input.read(&mut buffer[..want]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..read]);
        if let Some(whole) = whole.as_deref_mut() {
            whole.update(&buffer[..read]);
        }
        temporary.write_all(&buffer[..read])?;
        progress.bytes_read(read as u64);
        left -= read as u64;
    }
    let hash = hasher.finalize();
    if expected.is_some_and(|expected| expected != hash) {
        return Ok(hash);
    }
    temporary.as_file().sync_all()?;
    atomic_file::make_replaceable(target)?;
    temporary.persist(target).map_err(|error| error.error)?;
    atomic_file::sync_folder(folder);
    Ok(hash)
}

/// Why a split transfer could not be written or taken in.
#[derive(Debug, thiserror::Error)]
pub enum VolumesError {
    #[error(transparent)]
    Plan(#[from] crate::volumes::PlanError),
    #[error("{}: changed while it was written onto the volumes; export again", path.display())]
    SourceChanged { path: PathBuf },
    #[error("{}: the joined chunks are not the signed file; nothing was put in place", path.display())]
    Joined { path: PathBuf },
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
}

impl VolumesError {
    pub(crate) fn io(path: &Path, action: &'static str, source: io::Error) -> Self {
        VolumesError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    }
}

/// What a split transfer's workflow tells the step log.
#[derive(Debug)]
pub enum VolumeStep<'a> {
    /// Export: the carried files packed into volumes.
    Planned {
        count: u32,
        volume_size: u64,
        chunks: usize,
    },
    /// Export: a volume written.
    Written { volume: u32, count: u32, bytes: u64 },
    /// Import: a volume checked and its files placed or staged.
    Taken {
        media: &'a Path,
        volume: u32,
        count: u32,
        placed: u64,
        chunks: u64,
        joined: u64,
    },
    /// Import: a volume taken before; nothing to do.
    AlreadyTaken { media: &'a Path, volume: u32 },
    /// Import: the volumes still needed before the import can finish.
    Needed { sequence: u64, needed: &'a [u32] },
    /// Import: the staged volumes of an older transfer, dropped for a newer one.
    Superseded { sequence: u64 },
}

impl fmt::Display for VolumeStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolumeStep::Planned {
                count,
                volume_size,
                chunks,
            } => write!(
                f,
                "planned: {count} volumes of at most {volume_size} bytes, {chunks} chunks"
            ),
            VolumeStep::Written {
                volume,
                count,
                bytes,
            } => write!(f, "volume {volume} of {count} written: {bytes} bytes"),
            VolumeStep::Taken {
                media,
                volume,
                count,
                placed,
                chunks,
                joined,
            } => write!(
                f,
                "volume {volume} of {count} ({}) taken: {placed} files placed, {chunks} chunks \
                 staged, {joined} files joined",
                media.display()
            ),
            VolumeStep::AlreadyTaken { media, volume } => write!(
                f,
                "volume {volume} ({}) was taken before; nothing to do",
                media.display()
            ),
            VolumeStep::Needed { sequence, needed } => {
                write!(
                    f,
                    "sequence {sequence}: volumes still needed: {}",
                    Numbers(needed)
                )
            }
            VolumeStep::Superseded { sequence } => write!(
                f,
                "the volumes staged of sequence {sequence} are dropped for a newer transfer"
            ),
        }
    }
}

/// Volume numbers in words: `2, 5, 7`.
pub struct Numbers<'a>(pub &'a [u32]);

impl fmt::Display for Numbers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&words.join(", "))
    }
}

/// The text of a volume's `README.txt`.
pub fn readme_text(marker: Marker, sequence: u64, key_id: &str, host: &str) -> String {
    let Marker { volume, count } = marker;
    format!(
        "WSUS transfer media written by wsus-airgap: volume {volume} of {count}\r\n\
         \r\n\
         Source server: {host}\r\n\
         Sequence:      {sequence}\r\n\
         Signed by key: {key_id}\r\n\
         \r\n\
         This is volume {volume} of {count} of one transfer. Every volume carries the same\r\n\
         signed manifest; each can be checked on its own:\r\n\
         \r\n\
             wsus-airgap verify --media <this folder> --trust site.pub\r\n\
         \r\n\
         Import the volumes one at a time, in any order (or several at once with --media\r\n\
         repeated); the import finishes when the last one is in, and until then says which\r\n\
         are still needed:\r\n\
         \r\n\
             wsus-airgap import --media <this folder> --trust site.pub --content <WsusContent>\r\n"
    )
}
