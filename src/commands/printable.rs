//! Text output that names read from media cannot forge.
//!
//! File names on media and in manifests are chosen by whoever made the media. A name holding
//! a line break could print a fake `result: intact` line, and one holding an escape sequence
//! could rewrite the terminal. Names, titles and error texts go through [`printable`], which
//! escapes every control character but the tab as `\u{..}`; and text reports go through
//! [`Printable`], which escapes every control character but the line breaks and tabs the
//! report itself is made of.

use std::borrow::Cow;
use std::io::{self, Write};

/// `text` with control characters other than `\t` escaped, line breaks included.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

fn escape(text: &str, keep_line_breaks: bool) -> Cow<'_, str> {
    let kept = |c: char| c == '\t' || (keep_line_breaks && c == '\n');
    if !text.chars().any(|c| c.is_control() && !kept(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() && !kept(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A writer for text reports: escapes control characters in everything written except the
/// line breaks. Each `write` must receive whole characters, as `write!` of strings does.
pub struct Printable<W: Write>(pub W);

impl<W: Write> Write for Printable<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(escape(text, true).as_bytes())?,
            Err(_) => self
                .0
                .write_all(&String::from_utf8_lossy(buf).into_owned().into_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_ordinary_text_is_kept() {
        assert_eq!(printable("00/a b\tc.cab"), "00/a b\tc.cab");
        assert_eq!(
            printable("zz\nresult: intact\u{1b}[31m\u{9b}"),
            "zz\\u{a}result: intact\\u{1b}[31m\\u{9b}"
        );
        let mut out = Printable(Vec::new());
        writeln!(out, "extra: {}", printable("a\nb")).unwrap();
        writeln!(out, "title: \u{1b}[2J").unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "extra: a\\u{a}b\ntitle: \\u{1b}[2J\n"
        );
    }
}
