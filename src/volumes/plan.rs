//! Packing a transfer's files into volumes.
//!
//! The number of volumes is the least the total allows (the total divided by what a volume
//! holds, rounded up). Files go in whole where they fit, largest first, each into the first
//! volume with room (first-fit decreasing); a file larger than a volume, or than the largest
//! file allowed, is cut into pieces of that size first; and what fits nowhere whole is cut to
//! fill the room left, largest room first. So no volume is over its size, the count is the
//! minimum, and files are cut only where they must be.

/// A piece of a file on a volume: `size` bytes from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Numbered from 1.
    pub volume: u32,
    pub offset: u64,
    pub size: u64,
}

/// Where one file goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// Whole, on this volume (numbered from 1).
    Whole(u32),
    /// Cut into these pieces, in order of offset.
    Chunks(Vec<Piece>),
}

/// Where every file goes, in the order the files were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumePlan {
    pub count: u32,
    /// The volume holding the package, which is never cut.
    pub package_volume: u32,
    pub files: Vec<Placed>,
    /// The bytes planned on each volume, package included.
    pub bytes: Vec<u64>,
}

/// Why the files cannot be packed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the package ({package} bytes) does not fit whole on a volume, which holds {room} bytes \
         besides the manifest; give a larger --volume-size"
    )]
    PackageTooLarge { package: u64, room: u64 },
    #[error("a volume holds no room for content besides the manifest; give a larger --volume-size")]
    NoRoom,
}

/// Packs files of the given `sizes` and a package of `package` bytes into volumes of `room`
/// bytes each, no piece larger than `max_file` bytes.
pub fn plan(
    sizes: &[u64],
    package: u64,
    room: u64,
    max_file: Option<u64>,
) -> Result<VolumePlan, PlanError> {
    let limit = max_file.map_or(room, |max| max.min(room));
    if limit == 0 {
        return Err(PlanError::NoRoom);
    }
    if package > limit {
        return Err(PlanError::PackageTooLarge {
            package,
            room: limit,
        });
    }
    let total: u64 = sizes.iter().sum::<u64>() + package;
    let count = usize::try_from(total.div_ceil(room).max(1)).expect("a volume count fits");
    let mut free = vec![room; count];
    free[0] -= package;
    // Every file cut into pieces no larger than the limit: (file, offset, size).
    let mut pieces: Vec<(usize, u64, u64)> = Vec::new();
    for (file, &size) in sizes.iter().enumerate() {
        let mut offset = 0;
        loop {
            let piece = (size - offset).min(limit);
            pieces.push((file, offset, piece));
            offset += piece;
            if offset >= size {
                break;
            }
        }
    }
    pieces.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut placed: Vec<Vec<Piece>> = vec![Vec::new(); sizes.len()];
    let mut left_over = Vec::new();
    for (file, offset, size) in pieces {
        match free.iter().position(|&room_left| room_left >= size) {
            Some(volume) => {
                free[volume] -= size;
                placed[file].push(piece(volume, offset, size));
            }
            None => left_over.push((file, offset, size)),
        }
    }
    for (file, mut offset, size) in left_over {
        let end = offset + size;
        while offset < end {
            let volume = roomiest(&free).unwrap_or_else(|| {
                free.push(room);
                free.len() - 1
            });
            let size = (end - offset).min(free[volume]);
            free[volume] -= size;
            placed[file].push(piece(volume, offset, size));
            offset += size;
        }
    }
    let files = placed
        .into_iter()
        .map(|mut pieces| {
            pieces.sort_by_key(|piece| piece.offset);
            match pieces.as_slice() {
                [only] if only.offset == 0 => Placed::Whole(only.volume),
                _ => Placed::Chunks(pieces),
            }
        })
        .collect();
    Ok(VolumePlan {
        count: u32::try_from(free.len()).expect("a volume count fits"),
        package_volume: 1,
        files,
        bytes: free.iter().map(|left| room - left).collect(),
    })
}

/// The volume with the most room left, the first of equals; `None` when all are full.
fn roomiest(free: &[u64]) -> Option<usize> {
    let most = *free.iter().max()?;
    (most > 0).then(|| {
        free.iter()
            .position(|&left| left == most)
            .expect("the most is there")
    })
}

fn piece(volume: usize, offset: u64, size: u64) -> Piece {
    Piece {
        volume: u32::try_from(volume + 1).expect("a volume count fits"),
        offset,
        size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sizes: &[u64], package: u64, room: u64, max_file: Option<u64>) -> VolumePlan {
        let planned = plan(sizes, package, room, max_file).unwrap();
        let total: u64 = sizes.iter().sum::<u64>() + package;
        assert_eq!(u64::from(planned.count), total.div_ceil(room).max(1));
        assert!(
            planned.bytes.iter().all(|&bytes| bytes <= room),
            "{planned:?}"
        );
        assert_eq!(planned.bytes.iter().sum::<u64>(), total);
        for (placed, &size) in planned.files.iter().zip(sizes) {
            if let Placed::Chunks(pieces) = placed {
                let mut next = 0;
                for piece in pieces {
                    assert_eq!(piece.offset, next);
                    assert!(piece.size <= max_file.unwrap_or(u64::MAX));
                    next += piece.size;
                }
                assert_eq!(next, size);
            } else {
                assert!(size <= max_file.unwrap_or(u64::MAX));
            }
        }
        planned
    }

    #[test]
    fn files_that_fit_go_whole_and_the_count_is_the_minimum() {
        let planned = check(&[60, 50, 40, 30, 20], 10, 100, None);
        assert_eq!(planned.count, 3);
        assert_eq!(planned.files[0], Placed::Whole(1));
        assert!(
            planned
                .files
                .iter()
                .all(|placed| matches!(placed, Placed::Whole(_)))
        );
    }

    #[test]
    fn files_larger_than_a_volume_or_the_limit_are_cut() {
        let planned = check(&[250, 30, 7], 5, 100, None);
        assert!(matches!(&planned.files[0], Placed::Chunks(pieces) if pieces.len() >= 3));
        let planned = check(&[90, 10], 0, 100, Some(40));
        assert!(matches!(&planned.files[0], Placed::Chunks(pieces) if pieces.len() == 3));
        assert_eq!(planned.files[1], Placed::Whole(1));
    }

    #[test]
    fn awkward_sizes_still_pack_into_the_minimum() {
        // Three 51-byte files in 100-byte volumes: two volumes, one file cut.
        let planned = check(&[51, 51, 51], 0, 100, None);
        assert_eq!(planned.count, 2);
        check(&[], 0, 100, None);
        check(&[0, 0, 100, 1], 0, 100, None);
        check(&[99; 17], 3, 100, Some(33));
    }

    #[test]
    fn a_package_too_large_for_a_volume_is_refused() {
        assert!(matches!(
            plan(&[1], 101, 100, None),
            Err(PlanError::PackageTooLarge { .. })
        ));
        assert_eq!(plan(&[1], 0, 0, None), Err(PlanError::NoRoom));
    }
}
