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

/// The stage in words, as logs name it.
impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Hashing => "hashing the content",
            Phase::Checking => "checking the media",
            Phase::Planning => "planning the copy",
            Phase::Copying => "copying",
        })
    }
}

/// How far a stage has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milestone {
    pub files_done: u64,
    pub files: u64,
    pub bytes_done: u64,
    pub bytes: u64,
}

/// `45% (1.20 GiB of 2.60 GiB, 120 of 300 files)`.
impl std::fmt::Display for Milestone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::HumanBytes;
        let percent = (self.bytes_done * 100)
            .checked_div(self.bytes)
            .unwrap_or(100);
        write!(
            f,
            "{percent}% ({} of {}, {} of {} files)",
            HumanBytes(self.bytes_done),
            HumanBytes(self.bytes),
            self.files_done,
            self.files
        )
    }
}

/// Progress that also reports a [`Milestone`] each time another `step_percent` of the bytes
/// is done or `interval` has passed since the last one: for a record read where no progress
/// bar is seen, such as a scheduled task's log.
pub struct Milestones<'a> {
    inner: Box<dyn Progress + 'a>,
    report: Box<dyn Fn(Milestone) + Sync + 'a>,
    step_percent: u64,
    interval: std::time::Duration,
    counts: std::sync::Mutex<(Milestone, std::time::Instant, u64)>,
}

impl<'a> Milestones<'a> {
    pub fn new(
        inner: Box<dyn Progress + 'a>,
        step_percent: u64,
        interval: std::time::Duration,
        report: impl Fn(Milestone) + Sync + 'a,
    ) -> Self {
        let start = Milestone {
            files_done: 0,
            files: 0,
            bytes_done: 0,
            bytes: 0,
        };
        Milestones {
            inner,
            report: Box::new(report),
            step_percent: step_percent.max(1),
            interval,
            counts: std::sync::Mutex::new((start, std::time::Instant::now(), 0)),
        }
    }

    /// Counts with `change` and reports a milestone if one is due.
    fn advance(&self, change: impl FnOnce(&mut Milestone)) {
        let mut counts = self.counts.lock().expect("the milestone lock");
        let (milestone, last_time, last_percent) = &mut *counts;
        change(milestone);
        let percent = (milestone.bytes_done * 100)
            .checked_div(milestone.bytes)
            .unwrap_or(0);
        if percent >= *last_percent + self.step_percent || last_time.elapsed() >= self.interval {
            *last_percent = percent - percent % self.step_percent;
            *last_time = std::time::Instant::now();
            (self.report)(*milestone);
        }
    }
}

impl Progress for Milestones<'_> {
    fn start(&self, files: u64, bytes: u64) {
        self.inner.start(files, bytes);
        let mut counts = self.counts.lock().expect("the milestone lock");
        counts.0.files = files;
        counts.0.bytes = bytes;
    }

    fn bytes_read(&self, bytes: u64) {
        self.inner.bytes_read(bytes);
        self.advance(|milestone| milestone.bytes_done += bytes);
    }

    fn file_done(&self) {
        self.inner.file_done();
        self.advance(|milestone| milestone.files_done += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milestones_come_every_step_of_the_bytes_or_after_the_interval() {
        let reported = std::sync::Mutex::new(Vec::new());
        let hour = std::time::Duration::from_secs(3600);
        let milestones = Milestones::new(Box::new(NoProgress), 25, hour, |milestone| {
            reported.lock().unwrap().push(milestone.to_string());
        });
        milestones.start(2, 1000);
        for _ in 0..10 {
            milestones.bytes_read(60);
        }
        milestones.file_done();
        milestones.bytes_read(400);
        milestones.file_done();
        assert_eq!(
            *reported.lock().unwrap(),
            [
                "30% (300 B of 1000 B, 0 of 2 files)",
                "54% (540 B of 1000 B, 0 of 2 files)",
                "100% (1000 B of 1000 B, 1 of 2 files)",
            ]
        );

        let every_time =
            Milestones::new(Box::new(NoProgress), 50, std::time::Duration::ZERO, |_| {
                reported.lock().unwrap().push("again".into());
            });
        every_time.start(1, 10);
        every_time.bytes_read(1);
        assert_eq!(reported.lock().unwrap().last().unwrap(), "again");
    }
}
