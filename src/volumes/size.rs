//! Sizes of media as an operator writes them: bytes (`4700000000`), decimal units (`4.7GB`,
//! `700MB`), binary units (`4GiB`), or the name of a usual medium.

use std::fmt;
use std::str::FromStr;

/// A size in bytes, read from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

/// The usual media, by name, and their capacity in bytes: single-layer DVD±R, dual-layer
/// DVD±R, single- and dual-layer BD-R, and the largest file FAT32 takes (4 GiB − 1).
pub const NAMED: [(&str, u64); 5] = [
    ("dvd", 4_700_372_992),
    ("dvd-dl", 8_543_666_176),
    ("bd25", 25_025_314_816),
    ("bd50", 50_050_629_632),
    ("fat32", 4_294_967_295),
];

/// A size that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a size: give bytes (4700000000), a number with a unit (4.7GB, 700MB, 4GiB), \
     or one of dvd, dvd-dl, bd25, bd50, fat32"
)]
pub struct SizeError(pub String);

impl FromStr for Size {
    type Err = SizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || SizeError(text.to_owned());
        let trimmed = text.trim();
        let lower = trimmed.to_ascii_lowercase();
        if let Some((_, bytes)) = NAMED.iter().find(|(name, _)| *name == lower) {
            return Ok(Size(*bytes));
        }
        let split = lower
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(lower.len());
        let (number, unit) = lower.split_at(split);
        let multiplier: u64 = match unit.trim() {
            "" | "b" => 1,
            "kb" | "k" => 1_000,
            "mb" | "m" => 1_000_000,
            "gb" | "g" => 1_000_000_000,
            "tb" | "t" => 1_000_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            _ => return Err(error()),
        };
        let bytes = match number.split_once('.') {
            None => number
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(multiplier)),
            Some((whole, fraction)) => {
                let whole = if whole.is_empty() {
                    Ok(0)
                } else {
                    whole.parse::<u64>()
                };
                let digits = u32::try_from(fraction.len()).map_err(|_| error())?;
                let scale = 10u64.checked_pow(digits).ok_or_else(error)?;
                let fraction_value = fraction.parse::<u64>().map_err(|_| error())?;
                whole.ok().and_then(|whole| {
                    let whole = whole.checked_mul(multiplier)?;
                    let part =
                        u128::from(fraction_value) * u128::from(multiplier) / u128::from(scale);
                    whole.checked_add(u64::try_from(part).ok()?)
                })
            }
        };
        match bytes {
            Some(bytes) if bytes > 0 => Ok(Size(bytes)),
            _ => Err(error()),
        }
    }
}

/// The bytes, and the size in the largest fitting binary unit: `4700372992 bytes (4.38 GiB)`.
impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes ({})", self.0, indicatif::HumanBytes(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_bytes_units_and_names() {
        let read = |text: &str| text.parse::<Size>().map(|size| size.0);
        assert_eq!(read("4700000000"), Ok(4_700_000_000));
        assert_eq!(read("4.7GB"), Ok(4_700_000_000));
        assert_eq!(read("4GiB"), Ok(4 << 30));
        assert_eq!(read("700 MB"), Ok(700_000_000));
        assert_eq!(read("1.5KiB"), Ok(1536));
        assert_eq!(read("DVD"), Ok(4_700_372_992));
        assert_eq!(read("bd50"), Ok(50_050_629_632));
        assert_eq!(read("fat32"), Ok((4 << 30) - 1));
        for bad in ["", "0", "GB", "4.7XB", "1.2.3", "-5", "99999999999TB"] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }
}
