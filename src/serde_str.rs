//! Reading a value from a JSON string without keeping a copy of the string.
//!
//! `String::deserialize` allocates every string it reads; a manifest of a million entries holds
//! two million digests, which only need to be parsed. [`parse`] hands the parser the
//! deserializer's own text instead, borrowed where the input has no escapes.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Error, Visitor};

/// Reads a string from `deserializer` and turns it into a `T` with `parse`, whose error
/// message becomes the deserializer's error. `expecting` names what the string should be.
pub(crate) fn parse<'de, D, T, F>(
    deserializer: D,
    expecting: &'static str,
    parse: F,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> Result<T, String>,
{
    deserializer.deserialize_str(Parse {
        expecting,
        parse,
        value: PhantomData,
    })
}

struct Parse<F, T> {
    expecting: &'static str,
    parse: F,
    value: PhantomData<T>,
}

impl<'de, F, T> Visitor<'de> for Parse<F, T>
where
    F: FnOnce(&str) -> Result<T, String>,
{
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} as a string", self.expecting)
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use crate::content::Sha1Digest;
    use crate::manifest::Blake3Digest;

    #[test]
    fn digests_parse_from_plain_and_escaped_strings_and_name_what_is_wrong() {
        let sha1: Sha1Digest =
            serde_json::from_str("\"A9993E364706816ABA3E25717850C26C9CD0D89D\"").unwrap();
        assert_eq!(sha1.to_string(), "A9993E364706816ABA3E25717850C26C9CD0D89D");
        // An escaped character makes serde_json hand over a copy: the same result.
        let escaped: Sha1Digest =
            serde_json::from_str("\"\\u0041\\u0039993E364706816ABA3E25717850C26C9CD0D89D\"")
                .unwrap();
        assert_eq!(escaped, sha1);
        let blake3 = blake3::hash(b"abc");
        let parsed: Blake3Digest =
            serde_json::from_str(&format!("\"{}\"", blake3.to_hex())).unwrap();
        assert_eq!(parsed.0, blake3);
        let error = serde_json::from_str::<Sha1Digest>("\"12\"").unwrap_err();
        assert!(error.to_string().contains("`12` is not a SHA-1"), "{error}");
        let error = serde_json::from_str::<Blake3Digest>("7").unwrap_err();
        assert!(
            error.to_string().contains("a BLAKE3 hash as a string"),
            "{error}"
        );
        let upper = blake3.to_hex().to_uppercase();
        let error = serde_json::from_str::<Blake3Digest>(&format!("\"{upper}\"")).unwrap_err();
        assert!(
            error.to_string().contains("is not a BLAKE3 hash"),
            "{error}"
        );
    }
}
