//! Mapping SQLite failures to [`StoreError`]s.

use ak_core::{BackendErrorKind, StoreError};
use rusqlite::ErrorCode;

/// The backend name every [`StoreError::Backend`] of this crate carries.
pub(crate) const BACKEND: &str = "sqlite";

/// The [`BackendErrorKind`] for a SQLite error.
pub(crate) fn kind_of(err: &rusqlite::Error) -> BackendErrorKind {
    match err.sqlite_error_code() {
        Some(ErrorCode::ReadOnly) => BackendErrorKind::ReadOnly,
        Some(ErrorCode::DiskFull) => BackendErrorKind::StorageFull,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => BackendErrorKind::Locked,
        Some(ErrorCode::NotADatabase) => BackendErrorKind::Incompatible,
        Some(
            ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::PermissionDenied
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::NoLargeFileSupport,
        ) => BackendErrorKind::Io,
        _ => BackendErrorKind::Other,
    }
}

/// A [`StoreError`] for a failed SQLite call; `detail` names the store and the operation.
pub(crate) fn sqlite(err: rusqlite::Error, detail: impl Into<String>) -> StoreError {
    let detail = detail.into();
    if err.sqlite_error_code() == Some(ErrorCode::DatabaseCorrupt) {
        return StoreError::Corrupt {
            id: None,
            reason: format!("database disk image is malformed ({detail})"),
            source: Some(Box::new(err)),
        };
    }
    StoreError::Backend {
        backend: BACKEND,
        kind: kind_of(&err),
        detail,
        source: Some(Box::new(err)),
    }
}

/// A [`StoreError`] for a failed SQLite call while opening, where a malformed file means "not an
/// ak database" rather than a corrupt record.
pub(crate) fn opening(err: rusqlite::Error, detail: impl Into<String>) -> StoreError {
    let kind = match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) => BackendErrorKind::Incompatible,
        _ => kind_of(&err),
    };
    StoreError::Backend {
        backend: BACKEND,
        kind,
        detail: detail.into(),
        source: Some(Box::new(err)),
    }
}

/// A [`StoreError::Backend`] without a SQLite error behind it.
pub(crate) fn backend(
    kind: BackendErrorKind,
    detail: impl Into<String>,
    source: Option<ak_core::BoxError>,
) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        kind,
        detail: detail.into(),
        source,
    }
}

/// A [`StoreError`] for a failed file-system call.
pub(crate) fn io(err: std::io::Error, detail: impl Into<String>) -> StoreError {
    let kind = match err.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => BackendErrorKind::ReadOnly,
        std::io::ErrorKind::StorageFull => BackendErrorKind::StorageFull,
        _ => BackendErrorKind::Io,
    };
    backend(kind, detail, Some(Box::new(err)))
}
