//! What a package may cost: the limits that keep a hostile package from taking unbounded time
//! or memory. Each lies far beyond any real export; `docs/limits.md` lists them with the
//! sizes of real exports they were set against.

use std::mem::size_of;

use super::package_xml::PackageXmlUpdate;
use super::{Export, FileRef, Language, PackageFile, Update};

/// Elements nested deeper than this are refused, in `package.xml` and in every `metadata.txt`
/// record: real exports nest fewer than 20 levels, and each level costs the readers time on
/// every element below it.
pub const MAX_DEPTH: usize = 64;

/// The longest tag, text or comment of `package.xml`: the XML reader holds one whole, and a
/// real one is a tag of a few hundred bytes.
pub const MAX_EVENT_BYTES: u64 = 1024 * 1024;

/// The most memory the parsed package may take: the updates, their files and names, the
/// package-level file list and the index of updates (an estimate: sizes of the structures plus
/// the text they hold). A full-size real export (a cabinet at its format's 2 GiB limit) needs
/// well under half of it; a package that packs more into fewer bytes is refused before it
/// fills memory.
pub const MAX_RETAINED_BYTES: usize = 256 * 1024 * 1024;

/// The most elements a package may hold, in `package.xml` and `metadata.txt` together: every
/// element costs the readers time, whether they keep anything of it or not. The real export in
/// `tests/fixtures` has one element per 123 bytes of `metadata.txt` and per 32 bytes of
/// `package.xml`: about 25 million for a cabinet at its format's limit.
pub const MAX_ELEMENTS: u64 = 64_000_000;

/// The most a gzip package may unpack to: the largest cabinet the format allows
/// (`cbCabinet` is at most 0x7FFFFFFF), and as much package XML.
pub const MAX_UNPACKED_BYTES: u64 = 0x7FFF_FFFF;

/// What reading a package costs so far: the memory the parsed package takes, against
/// [`MAX_RETAINED_BYTES`], and the elements read, against [`MAX_ELEMENTS`].
#[derive(Debug)]
pub struct Budget {
    kept: usize,
    kept_limit: usize,
    elements: u64,
    element_limit: u64,
}

impl Budget {
    pub fn new() -> Self {
        Budget::with_limits(MAX_RETAINED_BYTES, MAX_ELEMENTS)
    }

    pub fn with_limits(kept_limit: usize, element_limit: u64) -> Self {
        Budget {
            kept: 0,
            kept_limit,
            elements: 0,
            element_limit,
        }
    }

    /// Counts `bytes` more kept; an error once the limit is passed.
    pub fn keep(&mut self, bytes: usize) -> Result<(), String> {
        self.kept = self.kept.saturating_add(bytes);
        if self.kept > self.kept_limit {
            return Err(format!(
                "the updates, files and names it describes would take more than {} MiB of \
                 memory, more than any real export",
                self.kept_limit / 1024 / 1024
            ));
        }
        Ok(())
    }

    /// Forgets what was counted as kept: it has been dropped.
    pub fn forget_kept(&mut self) {
        self.kept = 0;
    }

    /// Counts `count` more elements read; an error once the limit is passed.
    pub fn read_elements(&mut self, count: u64) -> Result<(), String> {
        self.elements = self.elements.saturating_add(count);
        if self.elements > self.element_limit {
            return Err(format!(
                "more than {} elements in the package, more than any real export",
                self.element_limit
            ));
        }
        Ok(())
    }
}

/// The memory a value takes beyond the structure it is stored in.
pub trait Footprint {
    fn footprint(&self) -> usize;
}

impl Footprint for String {
    fn footprint(&self) -> usize {
        self.capacity()
    }
}

impl<T: Footprint> Footprint for Option<T> {
    fn footprint(&self) -> usize {
        self.as_ref().map_or(0, T::footprint)
    }
}

impl<T: Footprint> Footprint for Vec<T> {
    fn footprint(&self) -> usize {
        self.capacity() * size_of::<T>() + self.iter().map(T::footprint).sum::<usize>()
    }
}

impl Footprint for FileRef {
    fn footprint(&self) -> usize {
        self.name.footprint()
            + self.modified.footprint()
            + self.patching_type.footprint()
            + self.sha256.footprint()
    }
}

impl Footprint for Update {
    fn footprint(&self) -> usize {
        size_of::<Update>()
            + self.id.footprint()
            + self.kind.footprint()
            + self.kb.footprint()
            + self.title.footprint()
            + self.files.footprint()
            + self.bundled.footprint()
    }
}

impl Footprint for PackageFile {
    fn footprint(&self) -> usize {
        size_of::<PackageFile>() + self.name.footprint() + self.mu_url.footprint()
    }
}

impl Footprint for Language {
    fn footprint(&self) -> usize {
        size_of::<Language>()
            + self.id.footprint()
            + self.short_name.footprint()
            + self.long_name.footprint()
    }
}

impl Footprint for PackageXmlUpdate {
    fn footprint(&self) -> usize {
        size_of::<PackageXmlUpdate>() + self.id.footprint() + self.files.capacity() * 20
    }
}

impl Footprint for Export {
    fn footprint(&self) -> usize {
        self.server_id.footprint()
            + self.creation_time.footprint()
            + self.format_version.footprint()
            + self.protocol_version.footprint()
            + self.languages.footprint()
            + self.files.footprint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_passed_by_one_not_reached() {
        let mut budget = Budget::with_limits(10 * 1024 * 1024, 5);
        budget.keep(10 * 1024 * 1024).unwrap();
        let error = budget.keep(1).unwrap_err();
        assert!(error.contains("more than 10 MiB of memory"), "{error}");
        budget.forget_kept();
        budget.keep(1).unwrap();
        budget.read_elements(5).unwrap();
        let error = budget.read_elements(1).unwrap_err();
        assert_eq!(
            error,
            "more than 5 elements in the package, more than any real export"
        );
    }

    #[test]
    fn footprints_count_the_text_and_the_lists() {
        let update = Update {
            id: "e6cf1350-c01b-414d-a61f-263d14d133b4".into(),
            bundled: vec!["x".repeat(100)],
            ..Update::default()
        };
        assert!(update.footprint() >= size_of::<Update>() + 36 + 100 + size_of::<String>());
    }
}
