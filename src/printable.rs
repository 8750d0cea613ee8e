//! Text output that names read from media cannot forge.
//!
//! File names on media and in manifests are chosen by whoever made the media. A name holding
//! a line break could print a fake `result: intact` line, and one holding an escape sequence
//! could rewrite the terminal, and one holding a bidirectional control (U+202E, right-to-left
//! override) could show `00/exe.cab` for a file named `00/bac.exe`. Names, titles and error
//! texts go through [`printable`], which escapes every control character but the tab, and
//! every invisible format character (bidirectional controls, zero-width characters), as
//! `\u{..}`; and text reports go through [`Printable`], which escapes the same but the line
//! breaks and tabs the report itself is made of.

use std::borrow::Cow;
use std::io::{self, Write};

/// `text` with control characters other than `\t` escaped, line breaks included, and
/// invisible format characters such as bidirectional controls.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// Invisible characters that change how the text around them shows: the bidirectional
/// controls (marks, embeddings, overrides, isolates), zero-width characters, invisible
/// operators, the byte order mark and the interlinear annotation marks (Unicode's format
/// characters, category Cf, that matter in names).
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

fn escape(text: &str, keep_line_breaks: bool) -> Cow<'_, str> {
    let kept = |c: char| c == '\t' || (keep_line_breaks && c == '\n');
    let escaped = |c: char| (c.is_control() && !kept(c)) || is_format(c);
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if escaped(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A writer for text reports: escapes control and format characters in everything written
/// except the line breaks. Each `write` must receive whole characters, as `write!` of strings does.
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

    #[test]
    fn bidirectional_controls_and_zero_width_characters_are_escaped() {
        assert_eq!(printable("00/\u{202e}bac.exe"), "00/\\u{202e}bac.exe");
        for c in [
            '\u{202a}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200b}', '\u{feff}',
        ] {
            let escaped = printable(&format!("a{c}b")).into_owned();
            assert_eq!(escaped, format!("a{}b", c.escape_unicode()));
        }
        let mut out = Printable(Vec::new());
        writeln!(out, "extra: 00/\u{2067}x").unwrap();
        assert_eq!(String::from_utf8(out.0).unwrap(), "extra: 00/\\u{2067}x\n");
        // Letters of right-to-left scripts are names like any other.
        assert_eq!(printable("00/\u{5d0}\u{627}.cab"), "00/\u{5d0}\u{627}.cab");
    }
}
