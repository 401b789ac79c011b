//! Ed25519 (EdDSA, RFC 8037) session tokens for ak: minting, verification, JWKS and signing-key rotation.
//!
//! ```
//! use ak_token::{KeySet, SessionClaims, SigningKey, TokenMinter, VerificationOptions, Verifier};
//!
//! // The issuing side holds the private keys.
//! let minter = TokenMinter::new(KeySet::new(SigningKey::generate()));
//! let now = 1_700_000_000;
//! let mut claims = SessionClaims::new("P2project", "K2accesskey", now, now + 600, "jti-1");
//! claims.roles = Some(vec!["admin".into()]);
//! claims.permissions = Some(vec!["read".into(), "write".into()]);
//! let token = minter.mint(&claims)?;
//!
//! // A verifying service only sees the public JWKS.
//! let jwks = ak_token::Jwks::from_json(&minter.jwks().to_json())?;
//! let verifier = Verifier::new(&jwks, VerificationOptions::new().with_issuer("P2project"))?;
//! let verified = verifier.verify(&token, now + 1)?;
//! assert_eq!(verified.key_id(), "K2accesskey");
//! assert!(verified.validate_permissions(&["write", "read"]));
//! assert_eq!(verified.matched_roles(&["owner", "admin"]), ["admin"]);
//! assert_eq!(verifier.verify(&token, now + 3600).unwrap_err(), ak_token::VerifyError::Expired);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Design
//!
//! * Written directly on `ed25519-dalek`, `base64` and `serde_json`; no JWT library. Only `EdDSA` is signed or
//!   accepted: `none`, `HS256` (including "the public key as an HMAC secret"), `RS256` and every other `alg`
//!   fail with [`VerifyError::UnsupportedAlgorithm`], any `crit` header with [`VerifyError::CriticalHeader`].
//! * Signatures are checked under ed25519-dalek's `verify_strict` rules (no malleable `S`, no small-order `R` or
//!   keys), with the small-order checks done once per key and from `R`'s bytes rather than on every call.
//! * Tokens longer than [`VerificationOptions::max_token_len`] ([`DEFAULT_MAX_TOKEN_LEN`] = 8 KiB by default)
//!   are rejected before any decoding; segments must be strict unpadded base64url (no padding, no whitespace, no
//!   non-zero trailing bits), so every byte of a token is covered: flipping any bit makes it invalid.
//! * `exp`, `nbf` and `iat` are checked with a leeway ([`DEFAULT_LEEWAY_SECS`] = 5 s); `iss` and `aud` when
//!   configured. Errors are a typed [`VerifyError`] that never echoes token contents.
//! * Keys: the `kid` is the RFC 7638 thumbprint of the public key; private keys are saved as PKCS#8 PEM or
//!   private JWK, never shown by `Debug`, zeroized on drop, and kept expanded (and public keys decompressed) so
//!   that minting and verifying do no key derivation.
//! * A [`KeySet`] has one active signer and older verification keys ([`KeySet::rotate`], [`KeySet::retire`]);
//!   [`KeySet::jwks`] exports the public keys (RFC 8037 JWKS) for verifiers, [`KeySet::to_json`] the private file.
//! * An optional verified-token cache ([`CacheOptions`]) makes re-verifying a known token cost about a
//!   microsecond, with the same time, issuer and audience rules.
//! * Claims follow Descope's access-key session tokens ([`SessionClaims`]); the authorization helpers follow the
//!   go SDK, including the `dct` tenant association (see [`SessionClaims::validate_tenant_permissions`]).

mod authz;
mod b64;
mod cache;
mod claims;
mod error;
mod jwk;
mod key;
mod key_set;
mod mint;
mod strict_key;
mod unique_members;
mod verify;
mod weight;

pub use cache::{CacheOptions, DEFAULT_CACHE_BYTES, DEFAULT_CACHE_ENTRIES};
pub use claims::{Audience, REGISTERED_CLAIMS, SessionClaims, TenantClaims};
pub use error::{KeyError, MintError, VerifyError};
pub use jwk::{ALG_EDDSA, CRV_ED25519, Jwk, Jwks, KTY_OKP, USE_SIG};
pub use key::SigningKey;
pub use key_set::KeySet;
pub use mint::TokenMinter;
pub use verify::{DEFAULT_LEEWAY_SECS, DEFAULT_MAX_TOKEN_LEN, VerificationOptions, VerifiedToken, Verifier};
