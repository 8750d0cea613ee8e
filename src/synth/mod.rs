//! Synthetic WsusContent sites for tests, benchmarks and the demo.
//!
//! Real content stores are hundreds of gigabytes and cannot ship with the project, so tests
//! and benchmarks generate their own: files of pseudo-random bytes, each named by its SHA-1 in
//! the folder WSUS would use, with the size mix of a real store (many small `.cab` files,
//! some `.exe` and `.msu`, optionally a few large `.exe`/`.esd`). The same seed always gives
//! the same site, on every platform and crate version, which is why the generator carries its
//! own tiny random-number generator instead of depending on one. Damage (a flipped byte, a
//! misplaced or removed file) is applied afterwards so tests know exactly what they broke.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use crate::content::{Sha1Digest, content_path};

pub mod demo;
mod export;
pub mod powershell;
pub mod wsusutil;

pub use export::{
    CREATION_TIME, ExportSpec, SERVER_ID, SyntheticExport, SyntheticUpdate, write_export,
};

/// The shape of a site to generate.
#[derive(Debug, Clone)]
pub struct SiteSpec {
    /// Number of ordinary content files (`.cab`, `.exe`, `.msu`).
    pub files: usize,
    /// Smallest and largest ordinary file; sizes are spread log-uniformly between them, so
    /// most files are small, as in a real store.
    pub min_size: u64,
    pub max_size: u64,
    /// Number of large files (alternately `.exe` and `.esd`), each `large_size` bytes.
    pub large_files: usize,
    pub large_size: u64,
    /// Same seed, same site.
    pub seed: u64,
}

impl Default for SiteSpec {
    fn default() -> Self {
        SiteSpec {
            files: 100,
            min_size: 1024,
            max_size: 4 * 1024 * 1024,
            large_files: 0,
            large_size: 256 * 1024 * 1024,
            seed: 1,
        }
    }
}

/// One generated content file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFile {
    /// Relative to the site root, with `/`: `XX/<SHA-1>.<ext>`.
    pub path: String,
    pub sha1: Sha1Digest,
    pub size: u64,
}

/// A generated site. `files` is what the site should hold, sorted by path; damage changes the
/// disk, never this list.
#[derive(Debug, Clone)]
pub struct Site {
    pub root: PathBuf,
    pub files: Vec<SiteFile>,
}

/// The loose file WSUS keeps at the top of every content store.
pub const ANONYMOUS_CHECK_FILE: &str = "anonymousCheckFile.txt";

/// How many files of each kind of damage [`Site::damage`] applies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Damage {
    pub corrupt: usize,
    pub misplace: usize,
    pub remove: usize,
}

/// One piece of damage that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damaged {
    /// One byte in the middle of the file at `path` was inverted.
    Corrupted { path: String },
    /// The file at `from` now sits at `to`, at the top of the site.
    Misplaced { from: String, to: String },
    /// The file at `path` was deleted.
    Removed { path: String },
}

/// Writes a site into `root` (created if needed) and returns what it holds.
pub fn generate(root: &Path, spec: &SiteSpec) -> io::Result<Site> {
    fs::create_dir_all(root)?;
    fs::File::create(root.join(ANONYMOUS_CHECK_FILE))?;
    let mut random = SplitMix64(spec.seed);
    let mut files = Vec::with_capacity(spec.files + spec.large_files);
    let mut buffer = vec![0u8; 256 * 1024];
    for index in 0..spec.files + spec.large_files {
        let (size, extension) = if index < spec.files {
            (random.log_uniform(spec.min_size, spec.max_size), {
                match random.next() % 20 {
                    0..=16 => "cab",
                    17..=18 => "exe",
                    _ => "msu",
                }
            })
        } else if (index - spec.files).is_multiple_of(2) {
            (spec.large_size, "exe")
        } else {
            (spec.large_size, "esd")
        };
        files.push(write_file(root, size, extension, &mut random, &mut buffer)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Site {
        root: root.to_owned(),
        files,
    })
}

/// Writes `size` random bytes under a temporary name, then moves the file to where its SHA-1
/// says it belongs.
fn write_file(
    root: &Path,
    size: u64,
    extension: &str,
    random: &mut SplitMix64,
    buffer: &mut [u8],
) -> io::Result<SiteFile> {
    let temporary = root.join(".synth-partial");
    let mut file = io::BufWriter::new(fs::File::create(&temporary)?);
    let mut sha1 = Sha1::new();
    let mut left = size;
    while left > 0 {
        let length = left.min(buffer.len() as u64) as usize;
        let chunk = &mut buffer[..length];
        random.fill(chunk);
        sha1.update(&*chunk);
        file.write_all(chunk)?;
        left -= chunk.len() as u64;
    }
    file.into_inner().map_err(|error| error.into_error())?;
    let sha1 = Sha1Digest(sha1.finalize().into());
    let path = content_path(&sha1, extension);
    fs::create_dir_all(root.join(sha1.folder()))?;
    fs::rename(&temporary, root.join(&path))?;
    Ok(SiteFile { path, sha1, size })
}

impl Site {
    /// Where the file with this index lives (or lived) on disk.
    pub fn path_of(&self, index: usize) -> PathBuf {
        self.root.join(&self.files[index].path)
    }

    /// Inverts one byte in the middle of a file, keeping its size. Returns the path.
    pub fn corrupt(&self, index: usize) -> io::Result<String> {
        let path = self.path_of(index);
        let mut bytes = fs::read(&path)?;
        let middle = bytes.len() / 2;
        match bytes.get_mut(middle) {
            Some(byte) => *byte = !*byte,
            None => bytes.push(0),
        }
        fs::write(&path, bytes)?;
        Ok(self.files[index].path.clone())
    }

    /// Moves a file to the top of the site, out of its folder. Returns its new relative path.
    pub fn misplace(&self, index: usize) -> io::Result<String> {
        let from = &self.files[index].path;
        let to = from.rsplit('/').next().unwrap_or(from).to_owned();
        fs::rename(self.path_of(index), self.root.join(&to))?;
        Ok(to)
    }

    /// Deletes a file.
    pub fn remove(&self, index: usize) -> io::Result<String> {
        fs::remove_file(self.path_of(index))?;
        Ok(self.files[index].path.clone())
    }

    /// Applies `damage` to distinct files spread evenly over the site, in a fixed order, and
    /// says what was done. Fails if the site has fewer files than the damage asks for.
    pub fn damage(&self, damage: &Damage) -> io::Result<Vec<Damaged>> {
        let wanted = damage.corrupt + damage.misplace + damage.remove;
        if wanted > self.files.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot damage {wanted} files in a site of {}",
                    self.files.len()
                ),
            ));
        }
        let step = self.files.len() / wanted.max(1);
        let mut picks = (0..wanted).map(|n| n * step);
        let mut done = Vec::with_capacity(wanted);
        for index in picks.by_ref().take(damage.corrupt) {
            done.push(Damaged::Corrupted {
                path: self.corrupt(index)?,
            });
        }
        for index in picks.by_ref().take(damage.misplace) {
            done.push(Damaged::Misplaced {
                from: self.files[index].path.clone(),
                to: self.misplace(index)?,
            });
        }
        for index in picks {
            done.push(Damaged::Removed {
                path: self.remove(index)?,
            });
        }
        Ok(done)
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and fixed forever, so generated
/// sites and trees never change under the tests.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    #[allow(clippy::should_implement_trait)] // an endless generator, not an iterator
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn fill(&mut self, bytes: &mut [u8]) {
        let mut chunks = bytes.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }

    /// A size between `min` and `max`, spread evenly on a logarithmic scale.
    fn log_uniform(&mut self, min: u64, max: u64) -> u64 {
        let (low, high) = ((min.max(1)) as f64, (max.max(min).max(1)) as f64);
        let unit = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (low.ln() + unit * (high.ln() - low.ln())).exp().round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::hash_file;
    use crate::progress::NoProgress;

    fn small_spec() -> SiteSpec {
        SiteSpec {
            files: 12,
            min_size: 1,
            max_size: 70_000,
            large_files: 2,
            large_size: 300_000,
            seed: 7,
        }
    }

    #[test]
    fn every_file_is_named_by_its_sha1_in_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let site = generate(dir.path(), &small_spec()).unwrap();
        assert_eq!(site.files.len(), 14);
        assert!(dir.path().join(ANONYMOUS_CHECK_FILE).is_file());
        let mut buffer = vec![0; 4096];
        for file in &site.files {
            let digests = hash_file(&site.root.join(&file.path), &mut buffer, &NoProgress).unwrap();
            assert_eq!(digests.sha1, file.sha1);
            assert_eq!(digests.size, file.size);
            assert_eq!(
                file.path,
                content_path(&file.sha1, file.path.split_once('.').unwrap().1)
            );
        }
        let large: Vec<_> = site.files.iter().filter(|f| f.size == 300_000).collect();
        assert!(large.iter().any(|f| f.path.ends_with(".esd")));
        assert!(large.iter().any(|f| f.path.ends_with(".exe")));
    }

    #[test]
    fn the_same_seed_gives_the_same_site() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = generate(a.path(), &small_spec()).unwrap();
        let second = generate(b.path(), &small_spec()).unwrap();
        assert_eq!(first.files, second.files);
        // Pinned, so that a change to the generator is noticed rather than silently shifting
        // every test that relies on it.
        assert_eq!(
            first.files[0].path,
            "17/0E3F955F4B4364986407D088278C66CFF4A23A17.cab"
        );
    }

    #[test]
    fn damage_touches_distinct_files_and_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let site = generate(dir.path(), &small_spec()).unwrap();
        let damage = Damage {
            corrupt: 2,
            misplace: 1,
            remove: 1,
        };
        let done = site.damage(&damage).unwrap();
        assert_eq!(done.len(), 4);
        for damaged in &done {
            match damaged {
                Damaged::Corrupted { path } => {
                    let file = site.files.iter().find(|f| &f.path == path).unwrap();
                    assert_eq!(fs::metadata(site.root.join(path)).unwrap().len(), file.size);
                }
                Damaged::Misplaced { from, to } => {
                    assert!(!site.root.join(from).exists());
                    assert!(site.root.join(to).is_file());
                }
                Damaged::Removed { path } => assert!(!site.root.join(path).exists()),
            }
        }
        let too_much = Damage {
            remove: 100,
            ..Damage::default()
        };
        assert!(site.damage(&too_much).is_err());
    }
}
