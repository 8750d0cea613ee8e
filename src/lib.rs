//! wsus-airgap moves Windows Server Update Services (WSUS) content into air-gapped networks
//! and proves it arrived authentic, complete and intact.
//!
//! The library decides; the `wsus-airgap` binary talks. Nothing here prints or exits: every
//! operation returns typed results and errors, and the command layer turns them into text,
//! JSON and exit codes.

pub mod atomic_file;
pub mod capped_read;
pub mod check;
pub mod content;
pub mod manifest;
pub mod mirror;
#[cfg(windows)]
mod owner_only;
pub mod package;
pub mod printable;
pub mod progress;
pub mod regular_file;
pub mod relpath;
pub mod report;
pub mod retry;
pub mod run_lock;
mod serde_str;
pub mod synth;
pub mod transfer;
pub mod volumes;
pub mod wsus;
