//! Error types. None of them carries token contents or key material.

/// Why a key, a JWK, a JWKS document or a key-set file was rejected, or a key-set operation failed.
///
/// The variants carry no key material and never echo the rejected input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text is not a PKCS#8 Ed25519 private key.
    #[error("not a PKCS#8 PEM Ed25519 private key")]
    InvalidPem,
    /// The JWK is not a usable Ed25519 (`kty` `OKP`, `crv` `Ed25519`) key; the reason is a fixed description.
    #[error("invalid Ed25519 JWK: {0}")]
    InvalidJwk(&'static str),
    /// A private JWK has no `d` member.
    #[error("the JWK has no private key (`d`)")]
    MissingPrivateKey,
    /// The JWK's `x` does not match the public key derived from its `d`.
    #[error("the JWK's public key (`x`) does not match its private key (`d`)")]
    PublicKeyMismatch,
    /// The `kid` of a private key is not the RFC 7638 thumbprint of its public key.
    #[error("the key id is not the RFC 7638 thumbprint of the key")]
    KidMismatch,
    /// The public key is a weak (small-order) point, which strict verification would reject anyway.
    #[error("the public key is a weak (small-order) Ed25519 point")]
    WeakKey,
    /// Two keys in the set share a `kid`.
    #[error("duplicate key id in the key set")]
    DuplicateKid,
    /// The key-set file names an active key that it does not contain.
    #[error("the active key is not in the key set")]
    ActiveKeyMissing,
    /// No key with this `kid` is in the set.
    #[error("unknown key id")]
    UnknownKid,
    /// The active signing key cannot be retired: rotate to a new key first.
    #[error("the active signing key cannot be retired; rotate first")]
    RetireActive,
    /// The JSON document (key-set file or JWKS) does not have the expected shape.
    #[error("malformed key JSON document")]
    InvalidJson,
}

/// Why minting a token failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// A custom claim uses a registered claim name (`iss`, `sub`, `exp`, `roles`, `nsec`, ...), which would produce a
    /// duplicate JSON member. The name is the caller's own input, never token data.
    #[error("custom claim `{0}` collides with a registered claim name")]
    ReservedClaim(String),
    /// The claims could not be serialized to JSON.
    #[error("the claims could not be serialized")]
    Serialization,
}

/// Why a token was rejected.
///
/// The checks run in the order the variants are listed (size, shape, header, key, signature, claims, times,
/// issuer, audience), so a token with several defects reports the first one. No variant echoes token contents:
/// messages are fixed strings, safe to log and to return to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is longer than [`VerificationOptions::max_token_len`](crate::VerificationOptions::max_token_len).
    #[error("token too large")]
    TooLarge,
    /// Not three base64url segments without padding or whitespace, a header that is not a JSON object, or a
    /// signature that is not 64 bytes.
    #[error("malformed token")]
    Malformed,
    /// The header `alg` is not `EdDSA` (for example `none`, `HS256` or `RS256`).
    #[error("unsupported token algorithm")]
    UnsupportedAlgorithm,
    /// The header carries a `crit` member; no critical extensions are understood.
    #[error("unsupported critical header")]
    CriticalHeader,
    /// The header has no `kid`.
    #[error("token has no key id")]
    MissingKeyId,
    /// The header `kid` names no key known to the verifier (never issued here, or retired).
    #[error("unknown signing key")]
    UnknownKeyId,
    /// The Ed25519 signature does not verify under strict rules (includes non-canonical `S` and weak keys).
    #[error("invalid token signature")]
    BadSignature,
    /// The payload is not a JSON object with the session-claim shape (missing or mistyped registered claims).
    #[error("invalid token claims")]
    InvalidClaims,
    /// `exp` is in the past, beyond the leeway.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future, beyond the leeway.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iss` differs from the configured issuer.
    #[error("wrong token issuer")]
    WrongIssuer,
    /// The configured audience is not in `aud` (or `aud` is absent).
    #[error("wrong token audience")]
    WrongAudience,
}

impl VerifyError {
    /// A stable snake_case code for this error (`"expired"`, `"bad_signature"`, ...), for logs, metrics and the
    /// committed invalid-token catalog.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::CriticalHeader => "critical_header",
            Self::MissingKeyId => "missing_key_id",
            Self::UnknownKeyId => "unknown_key_id",
            Self::BadSignature => "bad_signature",
            Self::InvalidClaims => "invalid_claims",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
        }
    }
}
