//! Rejects JSON with a duplicate object member at any depth.
//!
//! RFC 7515 lets a JWS parser either reject duplicate member names or keep the last one. serde
//! refuses duplicates of the fields it names (`iss`, `exp`, ...) but keeps the last of a map's
//! members (custom claims, `nsec`, `tenants`), so two parsers could read one token differently.
//! ak rejects every duplicate, in the header and in the payload, before it reads them.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};

/// Whether `json` is valid JSON in which no object has two members of the same name (after
/// unescaping, so `"a"` and `"\u0061"` are the same name).
pub(crate) fn has_unique_members(json: &[u8]) -> bool {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    UniqueMembers.deserialize(&mut deserializer).is_ok() && deserializer.end().is_ok()
}

/// Walks one JSON value, failing on the first duplicate member.
#[derive(Clone, Copy)]
struct UniqueMembers;

impl<'de> DeserializeSeed<'de> for UniqueMembers {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueMembers {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without duplicate members")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            if !seen.insert(name) {
                return Err(A::Error::custom("duplicate member"));
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::has_unique_members;

    #[test]
    fn finds_duplicates_at_any_depth() {
        for ok in [
            r#"{}"#,
            r#"{"a":1,"b":{"a":2}}"#,
            r#"[{"a":1},{"a":2}]"#,
            r#"{"a":[1,1]}"#,
        ] {
            assert!(has_unique_members(ok.as_bytes()), "{ok}");
        }
        for duplicate in [
            r#"{"a":1,"a":1}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"x":[{"t":1,"t":2}]}"#,
            r#"{"a":1,"\u0061":2}"#,
        ] {
            assert!(!has_unique_members(duplicate.as_bytes()), "{duplicate}");
        }
        assert!(!has_unique_members(b"{\"a\":1} trailing"));
        assert!(!has_unique_members(b"not json"));
    }
}
