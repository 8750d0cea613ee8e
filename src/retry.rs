//! Waiting out another program that holds a file open.
//!
//! On Windows a program may open a file without sharing it (WSUS while it writes a content
//! file, an antivirus scanner while it reads one) or lock a range of it. Until it lets go,
//! opening or deleting the file fails with a sharing violation (`ERROR_SHARING_VIOLATION`,
//! 32), reading a locked range with a lock violation (`ERROR_LOCK_VIOLATION`, 33), and
//! renaming over it with "access denied". Such holds are usually brief, so an operation that
//! fails so is tried again after each of [`HELD_OPEN_PAUSES`] before the tool gives up with
//! [`HeldOpen`]. Other systems have no such errors: there every operation is tried once.
//! The loop itself, [`retry_after`], serves other waits for something that passes, such as
//! a lock that a killed process held (`run_lock`).

use std::io;
use std::path::Path;
use std::thread;
use std::time::Duration;

/// The pauses before each new attempt: growing, 8 seconds in all, so that a scanner's brief
/// hold is waited out and a program that keeps the file open is reported within seconds.
pub const HELD_OPEN_PAUSES: [Duration; 5] = [
    Duration::from_millis(250),
    Duration::from_millis(750),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// Another program held a file open (or part of it locked) through every attempt. It names
/// neither the file nor what was done to it: the caller's error does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "another program holds it open (WSUS or antivirus, for example): still so after {} tries over {} s (os error {code})",
    HELD_OPEN_PAUSES.len() + 1,
    HELD_OPEN_PAUSES.iter().sum::<Duration>().as_secs()
)]
pub struct HeldOpen {
    /// The Windows error of the last attempt.
    pub code: i32,
}

impl HeldOpen {
    /// `Some` when `error` is Windows saying that another program holds the file open or has
    /// locked the range read. Never on other systems, where these numbers mean other things.
    pub fn of(error: &io::Error) -> Option<Self> {
        #[cfg(windows)]
        {
            use windows_sys::Win32::Foundation::{ERROR_LOCK_VIOLATION, ERROR_SHARING_VIOLATION};
            let code = error.raw_os_error()?;
            [ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION]
                .contains(&(code as u32))
                .then_some(HeldOpen { code })
        }
        #[cfg(not(windows))]
        {
            let _ = error;
            None
        }
    }

    /// [`HeldOpen::of`] for an error from renaming over or deleting `target`. Windows reports
    /// a rename over a file another program holds open as "access denied", like a file it may
    /// not touch at all; opening `target` for deletion tells the two apart.
    pub fn of_target(error: &io::Error, target: &Path) -> Option<Self> {
        #[cfg(windows)]
        if error.kind() == io::ErrorKind::PermissionDenied {
            use std::os::windows::fs::OpenOptionsExt;
            use windows_sys::Win32::Storage::FileSystem::{DELETE, FILE_FLAG_OPEN_REPARSE_POINT};
            let probe = std::fs::OpenOptions::new()
                .access_mode(DELETE)
                .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
                .open(target);
            return probe.err().as_ref().and_then(Self::of);
        }
        #[cfg(not(windows))]
        let _ = target;
        Self::of(error)
    }
}

/// Runs `attempt`, and again after each of [`HELD_OPEN_PAUSES`] while it fails with an error
/// that `held_open` says is another program's hold; returns its first success or last error.
pub fn while_held_open<T, E>(
    held_open: impl Fn(&E) -> bool,
    attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    retry_after(&HELD_OPEN_PAUSES, held_open, attempt)
}

/// [`while_held_open`] for plain I/O on one file: a file still held at the end gives an error
/// of kind [`io::ErrorKind::ResourceBusy`] that carries a [`HeldOpen`].
pub fn io_while_held_open<T>(attempt: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    while_held_open(|error| HeldOpen::of(error).is_some(), attempt).map_err(|error| {
        match HeldOpen::of(&error) {
            Some(held) => io::Error::new(io::ErrorKind::ResourceBusy, held),
            None => error,
        }
    })
}

/// Runs `attempt`, and again after each of `pauses` while it fails with an error that
/// `passing` says will pass; returns its first success or last error.
pub fn retry_after<T, E>(
    pauses: &[Duration],
    passing: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut pauses = pauses.iter();
    loop {
        match attempt() {
            Err(error) if passing(&error) => match pauses.next() {
                Some(pause) => thread::sleep(*pause),
                None => return Err(error),
            },
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_attempt_is_repeated_once_per_pause_and_any_other_outcome_ends_it() {
        let pauses = [Duration::ZERO; 2];
        let held = |error: &&str| *error == "held";
        let run = |outcomes: &[Result<u32, &'static str>]| {
            let mut attempts = 0;
            let result = retry_after(&pauses, held, || {
                attempts += 1;
                outcomes[attempts - 1]
            });
            (result, attempts)
        };
        assert_eq!(run(&[Err("held"), Err("held"), Ok(7)]), (Ok(7), 3));
        assert_eq!(
            run(&[Err("held"), Err("held"), Err("held")]),
            (Err("held"), 3)
        );
        assert_eq!(run(&[Err("held"), Err("gone")]), (Err("gone"), 2));
        assert_eq!(run(&[Ok(1)]), (Ok(1), 1));
    }

    #[test]
    fn only_windows_sharing_and_lock_violations_count_as_held() {
        let held = |code| HeldOpen::of(&io::Error::from_raw_os_error(code));
        if cfg!(windows) {
            assert_eq!(held(32), Some(HeldOpen { code: 32 }));
            assert_eq!(held(33), Some(HeldOpen { code: 33 }));
        } else {
            // EPIPE and EDOM on Unix.
            assert_eq!(held(32), None);
            assert_eq!(held(33), None);
        }
        assert_eq!(held(5), None);
        assert_eq!(HeldOpen::of(&io::ErrorKind::NotFound.into()), None);
    }

    #[test]
    fn the_message_says_who_and_how_long_it_was_waited_for() {
        assert_eq!(
            HeldOpen { code: 32 }.to_string(),
            "another program holds it open (WSUS or antivirus, for example): still so after \
             6 tries over 8 s (os error 32)"
        );
    }
}
