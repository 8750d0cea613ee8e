//! Everything about a WsusContent folder: its naming rule, listing and hashing its files, and
//! auditing it without a manifest.

pub mod audit;
pub mod hash;
pub mod layout;
pub mod report;
pub mod stamp;
pub mod tree;

pub use audit::{Audit, AuditOptions, Entry, Finding, FindingKind, Severity, Totals, audit};
pub use hash::{ContentDigests, FileDigests, hash_blake3, hash_file, hash_sha1};
pub use layout::{ContentName, Placement, Sha1Digest, content_path};
pub use tree::{EntryType, FolderError};

/// The name WSUS gives its content folder (`D:\WSUS\WsusContent`), and the name of the
/// content folder on transfer media.
pub const FOLDER_NAME: &str = "WsusContent";
