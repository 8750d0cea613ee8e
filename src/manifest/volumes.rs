//! What a manifest says about a transfer split over volumes: how many, how large, which volume
//! holds each file, and how the files too large for a volume are cut into chunks. A manifest
//! without volumes writes none of it, so single media is described as before.

use serde::{Deserialize, Serialize};

use super::{Blake3Digest, Manifest};

/// The volumes of a split transfer; every volume carries the same signed manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSet {
    /// Volumes are numbered from 1 to `count`.
    pub count: u32,
    /// No volume holds more bytes of files than this.
    pub volume_size: u64,
    /// No file on a volume is larger than this, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    /// The volume that holds the package.
    pub package_volume: u32,
}

/// A piece of a cut file: `size` bytes from `offset`, on `volume`, with their own hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    pub volume: u32,
    pub offset: u64,
    pub size: u64,
    pub blake3: Blake3Digest,
}

/// What the manifest puts on one volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VolumeContents {
    pub volume: u32,
    /// Files held whole.
    pub files: u64,
    /// Chunks of files cut across volumes.
    pub chunks: u64,
    /// True on the volume that holds the package.
    pub package: bool,
    /// The bytes of those files, chunks and package.
    pub bytes: u64,
}

/// What the manifest puts on each of its volumes, in order; empty without volumes.
pub fn contents(manifest: &Manifest) -> Vec<VolumeContents> {
    let Some(set) = manifest.volumes else {
        return Vec::new();
    };
    let mut volumes: Vec<VolumeContents> = (1..=set.count)
        .map(|volume| VolumeContents {
            volume,
            files: 0,
            chunks: 0,
            package: volume == set.package_volume,
            bytes: 0,
        })
        .collect();
    // Numbers out of range (which the manifest's consistency check refuses) count nowhere.
    let mut add = |volume: u32, files: u64, chunks: u64, bytes: u64| {
        if let Some(volume) = volumes.get_mut((volume as usize).wrapping_sub(1)) {
            volume.files += files;
            volume.chunks += chunks;
            volume.bytes += bytes;
        }
    };
    for entry in manifest.entries.iter().filter(|entry| entry.carried) {
        if let Some(volume) = entry.volume {
            add(volume, 1, 0, entry.size);
        }
        for chunk in &entry.chunks {
            add(chunk.volume, 0, 1, chunk.size);
        }
    }
    if let Some(package) = &manifest.package {
        add(set.package_volume, 0, 0, package.size);
    }
    volumes
}

/// A line per volume of the manifest, `volume 2 of 7: 140 files, 1 chunk, the package
/// (4.37 GiB)`, each ending in a newline; nothing without volumes.
pub struct VolumeLines<'a>(pub &'a Manifest);

impl std::fmt::Display for VolumeLines<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use indicatif::{HumanBytes, HumanCount};
        let plural = |count: u64, word: &str| {
            let s = if count == 1 { "" } else { "s" };
            format!("{} {word}{s}", HumanCount(count))
        };
        let count = self.0.volumes.map_or(0, |set| set.count);
        for contents in contents(self.0) {
            writeln!(
                f,
                "volume {} of {count}: {}, {}{} ({})",
                contents.volume,
                plural(contents.files, "file"),
                plural(contents.chunks, "chunk"),
                if contents.package {
                    ", the package"
                } else {
                    ""
                },
                HumanBytes(contents.bytes)
            )?;
        }
        Ok(())
    }
}

/// The folder of volume `number` in a media folder: `volume-01`.
pub fn folder_name(number: u32) -> String {
    format!("volume-{number:02}")
}

/// What serde cannot check about volumes: every carried file of a split transfer on exactly
/// one volume or cut into chunks that cover it in order, every volume number in range, and
/// no volume fields in a manifest without volumes.
pub(crate) fn check(manifest: &Manifest) -> Result<(), String> {
    let Some(set) = manifest.volumes else {
        return match manifest
            .entries
            .iter()
            .find(|entry| entry.volume.is_some() || !entry.chunks.is_empty())
        {
            Some(entry) => Err(format!(
                "entry `{}` names a volume, but the manifest has none",
                entry.path
            )),
            None => Ok(()),
        };
    };
    let in_range = |volume: u32| (1..=set.count).contains(&volume);
    if !in_range(set.package_volume) {
        return Err(format!(
            "package volume {} is not a volume",
            set.package_volume
        ));
    }
    for entry in &manifest.entries {
        let path = &entry.path;
        match (entry.carried, entry.volume, entry.chunks.as_slice()) {
            (false, None, []) => {}
            (true, Some(volume), []) if in_range(volume) => {}
            (true, None, chunks) if !chunks.is_empty() => {
                let mut next = 0;
                for chunk in chunks {
                    if chunk.offset != next || !in_range(chunk.volume) {
                        return Err(format!("the chunks of `{path}` do not follow each other"));
                    }
                    next += chunk.size;
                }
                if next != entry.size {
                    return Err(format!("the chunks of `{path}` do not add up to its size"));
                }
            }
            _ => return Err(format!("entry `{path}` is not on one volume or in chunks")),
        }
    }
    Ok(())
}
