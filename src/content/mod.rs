//! Everything about a WsusContent folder: its naming rule, hashing its files, and auditing
//! it without a manifest.

pub mod audit;
pub mod hash;
pub mod layout;

pub use audit::{
    Audit, AuditError, AuditOptions, Entry, EntryType, Finding, FindingKind, Severity, Totals,
    audit,
};
pub use hash::{FileDigests, hash_file};
pub use layout::{ContentName, Placement, Sha1Digest, content_path};
