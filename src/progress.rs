//! How long-running library work reports progress without printing.
//!
//! The library only counts; the binary decides whether that becomes a progress bar on a
//! terminal or nothing at all. Implementations must be callable from many hashing threads.

/// Receives progress from long-running work. Every method has an empty default.
pub trait Progress: Sync {
    /// The work is about to start on `files` files holding `bytes` bytes in all.
    fn start(&self, files: u64, bytes: u64) {
        let _ = (files, bytes);
    }

    /// `bytes` more bytes were read.
    fn bytes_read(&self, bytes: u64) {
        let _ = bytes;
    }

    /// One more file is finished (successfully or not).
    fn file_done(&self) {}
}

/// Progress that goes nowhere: for tests and quiet runs.
pub struct NoProgress;

impl Progress for NoProgress {}

/// The counted stages of a long run, each shown with its own progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Hashing a content folder to describe it in a manifest.
    Hashing,
    /// Re-hashing media against its manifest.
    Checking,
    /// Listing both sides of a copy and hashing what the plan must compare.
    Planning,
    /// Copying while hashing.
    Copying,
}

/// Hands out a fresh [`Progress`] for each stage of a run; the stage is over when it is dropped.
pub trait Phases: Sync {
    fn progress(&self, phase: Phase) -> Box<dyn Progress + '_> {
        let _ = phase;
        Box::new(NoProgress)
    }
}

impl Phases for NoProgress {}
