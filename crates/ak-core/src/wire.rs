//! Serde adapters for Descope's wire conventions (`0` = never, `""` = none, `null` = empty).

use serde::{Deserialize, Deserializer, Serializer};

/// Decodes `null` as the type's default (Descope SDKs send `null` for empty lists).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `Option<i64>` on the wire as a number where `0` means `None`.
pub(crate) mod zero_is_none {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(value.unwrap_or(0))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Ok(Option::<i64>::deserialize(deserializer)?.filter(|&time| time != 0))
    }
}

/// `Option<String>` on the wire as a string where `""` means `None`.
pub(crate) mod empty_is_none {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(value: &Option<String>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.as_deref().unwrap_or(""))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        Ok(Option::<String>::deserialize(deserializer)?.filter(|text| !text.is_empty()))
    }
}
