//! Standard output for reports, closed early without harm.
//!
//! A report piped into a reader that stops early (`| head`, `| Select-Object -First 5`)
//! finds the pipe closed. The rest of the report is dropped silently and the command
//! finishes: its exit code is still its verdict, so a gate's refusal is never lost to a
//! closed pipe, and there is no `broken pipe` error for output nobody reads.

use std::io::{self, BufWriter, StdoutLock, Write};

/// The locked standard output, dropping what is written once its reader has gone.
pub struct Stdout {
    inner: StdoutLock<'static>,
    reader_gone: bool,
}

/// Locks standard output for a report.
pub fn lock() -> Stdout {
    Stdout {
        inner: io::stdout().lock(),
        reader_gone: false,
    }
}

/// Standard output for a report of many lines, written in 64 KiB pieces rather than a system
/// call per line; flushed by the caller when the report is done, before anything else writes.
pub fn report() -> BufWriter<Stdout> {
    BufWriter::with_capacity(1 << 16, lock())
}

impl Stdout {
    /// `result`, except that a closed pipe marks the reader gone and counts as success.
    fn unless_reader_gone<T>(&mut self, result: io::Result<T>, done: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.reader_gone = true;
                Ok(done)
            }
            other => other,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.reader_gone {
            return Ok(buf.len());
        }
        let result = self.inner.write(buf);
        self.unless_reader_gone(result, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.reader_gone {
            return Ok(());
        }
        let result = self.inner.flush();
        self.unless_reader_gone(result, ())
    }
}
