//! Mapping PostgreSQL failures to [`StoreError`]s.

use ak_core::{BackendErrorKind, BoxError, StoreError};
use postgres::error::SqlState;

/// The backend name every [`StoreError::Backend`] of this crate carries.
pub(crate) const BACKEND: &str = "postgres";

/// A [`StoreError::Backend`] of this crate.
pub(crate) fn backend(
    kind: BackendErrorKind,
    detail: impl Into<String>,
    source: Option<BoxError>,
) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        kind,
        detail: detail.into(),
        source,
    }
}

/// What went wrong inside one attempt of a store call: a decided outcome ([`Fail::Store`],
/// returned as it is) or a PostgreSQL error that may be retried.
#[derive(Debug)]
pub(crate) enum Fail {
    /// The call's answer (not found, conflict, corrupt, ...): the transaction rolls back.
    Store(StoreError),
    /// The server or the connection failed before `COMMIT` was sent: nothing was applied.
    Pg(postgres::Error),
    /// `COMMIT` (or a single autocommit write) failed: when the connection was lost, the write
    /// may or may not have been applied.
    Commit(postgres::Error),
}

impl From<StoreError> for Fail {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<postgres::Error> for Fail {
    fn from(error: postgres::Error) -> Self {
        Self::Pg(error)
    }
}

/// A serialization failure or a deadlock: the server rolled the transaction back, so running it
/// again is safe.
pub(crate) fn is_retryable(err: &postgres::Error) -> bool {
    matches!(
        err.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// The connection is gone (closed, reset, the server shut down or terminated the session).
pub(crate) fn is_connection_lost(err: &postgres::Error) -> bool {
    match err.code() {
        None => err.is_closed() || io_source(err).is_some(),
        Some(code) => {
            code.code().starts_with("08")
                || *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
        }
    }
}

fn io_source(err: &postgres::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = inner.source();
    }
    None
}

/// The [`BackendErrorKind`] of a PostgreSQL error.
pub(crate) fn kind_of(err: &postgres::Error) -> BackendErrorKind {
    if is_connection_lost(err) {
        return BackendErrorKind::Unavailable;
    }
    let Some(code) = err.code() else {
        return BackendErrorKind::Other;
    };
    let class = &code.code()[..2];
    if *code == SqlState::TOO_MANY_CONNECTIONS {
        BackendErrorKind::Unavailable
    } else if *code == SqlState::DISK_FULL || *code == SqlState::PROGRAM_LIMIT_EXCEEDED {
        BackendErrorKind::StorageFull
    } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
        BackendErrorKind::ReadOnly
    } else if class == "28"
        || *code == SqlState::INSUFFICIENT_PRIVILEGE
        || *code == SqlState::INVALID_CATALOG_NAME
    {
        BackendErrorKind::Denied
    } else if class == "40" || *code == SqlState::LOCK_NOT_AVAILABLE || *code == SqlState::QUERY_CANCELED {
        BackendErrorKind::Locked
    } else if class == "58" {
        BackendErrorKind::Io
    } else {
        BackendErrorKind::Other
    }
}

/// A [`StoreError`] for a failed PostgreSQL call; `detail` names the server and the operation.
pub(crate) fn pg(err: postgres::Error, detail: impl Into<String>) -> StoreError {
    let kind = kind_of(&err);
    let mut detail = detail.into();
    if let Some(db) = err.as_db_error() {
        detail = format!("{detail}: {} ({})", db.message(), db.code().code());
    } else {
        // The client's own message (never the password): "error connecting to server: Connection
        // refused", "connection closed", "error performing TLS handshake: invalid peer
        // certificate: UnknownIssuer", ...
        detail = format!("{detail}: {err}");
        if let Some(io) = io_source(&err).filter(|io| !detail.contains(&io.to_string())) {
            detail = format!("{detail}: {io}");
        }
    }
    backend(kind, detail, Some(Box::new(err)))
}
