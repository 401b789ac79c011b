//! Strict base64url (RFC 4648 §5, no padding) helpers.
//!
//! Decoding rejects padding, whitespace, characters outside the URL-safe alphabet and non-zero trailing bits, so
//! every accepted string has exactly one encoding: flipping any bit of an encoded segment either fails to decode or
//! changes the decoded bytes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes `bytes` as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes strict unpadded base64url; `None` on any deviation.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()
}

/// Length of the unpadded base64url encoding of `n` bytes.
pub(crate) const fn encoded_len(n: usize) -> usize {
    (n / 3) * 4
        + match n % 3 {
            0 => 0,
            1 => 2,
            _ => 3,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictness() {
        assert_eq!(decode("YQ"), Some(b"a".to_vec()));
        assert_eq!(decode("YQ=="), None, "padding");
        assert_eq!(decode("YR"), None, "non-zero trailing bits");
        assert_eq!(decode("Y Q"), None, "whitespace");
        assert_eq!(decode("+/"), None, "standard alphabet");
        assert_eq!(decode("-w"), Some(vec![0xfb]));
        assert_eq!(decode("-_"), None, "trailing bits");
        for n in 0..10 {
            assert_eq!(encoded_len(n), encode(&vec![0u8; n]).len());
        }
    }
}
