//! The air-gap round trip: what goes on the media, what comes back, and the program around
//! which both sides turn.
//!
//! The connected side runs `wsusutil export`, stages the content on the media with the mirror
//! engine and signs a manifest last; the disconnected side verifies the media, mirrors it into
//! its content folder, proves the content complete, and only then runs `wsusutil import`. The
//! receipt it writes tells the next export what the disconnected side already holds.
//!
//! [`export()`], [`verify()`] and [`import()`] are those workflows: each takes its options and
//! an [`Events`] sink, and ends in an [`Outcome`] (done, or refused with the evidence) or a
//! [`TransferError`]. The order of their steps is the safety of the round trip, so it lives
//! here, where it can be tested without a terminal.

/// The value of a done [`Outcome`], or else returns its refusal from the enclosing workflow.
macro_rules! proceed {
    ($outcome:expr) => {
        match $outcome {
            $crate::transfer::Outcome::Done(value) => value,
            $crate::transfer::Outcome::Refused(refusal) => {
                return Ok($crate::transfer::Outcome::Refused(refusal));
            }
        }
    };
}

pub mod events;
pub mod export;
pub mod gate;
pub mod import;
pub mod outcome;
pub mod private;
pub mod receipt;
pub mod report;
pub mod sequence;
pub mod verify;
pub mod volumes;
pub mod wsusutil;

use std::path::{Path, PathBuf};

pub use events::{Events, Step};
pub use export::{ExportOptions, Exported, PackageSource, export};
pub use import::{ImportOptions, Imported, import};
pub use outcome::{Outcome, Refusal, TransferError};
pub use verify::{Ready, VerifyMediaOptions, verify};

/// The layout of transfer media.
#[derive(Debug, Clone)]
pub struct Media {
    pub root: PathBuf,
}

impl Media {
    /// The content folder on the media.
    pub const CONTENT_FOLDER: &'static str = crate::content::FOLDER_NAME;
    /// The package name `export` gives a package made by `wsusutil export`.
    pub const PACKAGE: &'static str = "export.xml.gz";
    /// The log `wsusutil export` writes.
    pub const EXPORT_LOG: &'static str = "wsusutil-export.log";
    /// A note for whoever carries the media.
    pub const README: &'static str = "README.txt";
    /// The receipt an import leaves on the media for the return trip.
    pub const RECEIPT: &'static str = "receipt.json";

    pub fn new(root: &Path) -> Self {
        Media {
            root: root.to_owned(),
        }
    }

    pub fn content(&self) -> PathBuf {
        self.root.join(Self::CONTENT_FOLDER)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// The trust state when none is named: `%ProgramData%\wsus-airgap\trust-state.json` on
/// Windows, `$XDG_STATE_HOME/wsus-airgap/trust-state.json` (or `~/.local/state/...`)
/// elsewhere.
pub fn default_state_path() -> PathBuf {
    let folder = if cfg!(windows) {
        std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
    } else {
        std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
            })
            .unwrap_or_else(|| PathBuf::from("/var/lib"))
    };
    folder.join("wsus-airgap").join("trust-state.json")
}

/// The text of the media's `README.txt`.
pub fn readme_text(sequence: u64, key_id: &str, host: &str, expires: &str, files: u64) -> String {
    format!(
        "WSUS transfer media written by wsus-airgap\r\n\
         \r\n\
         Source server: {host}\r\n\
         Sequence:      {sequence}\r\n\
         Signed by key: {key_id}\r\n\
         Expires:       {expires}\r\n\
         Files listed:  {files}\r\n\
         \r\n\
         This media holds a WSUS export package, the content files the receiving server\r\n\
         lacks, and manifest.json with its signature manifest.json.minisig. Media without\r\n\
         a valid signature is unfinished or altered: do not import it.\r\n\
         \r\n\
         To check it (on the disconnected side, with the site's public key):\r\n\
         \r\n\
             wsus-airgap verify --media <this folder> --trust site.pub --content <WsusContent>\r\n\
         \r\n\
         To import it:\r\n\
         \r\n\
             wsus-airgap import --media <this folder> --trust site.pub --content <WsusContent>\r\n\
         \r\n\
         The signature can also be checked with minisign:\r\n\
         \r\n\
             minisign -Vm manifest.json -p site.pub\r\n"
    )
}
