//! Everything a command can fail with, printed as one line.

use crate::key_file::KeyFileError;

/// A failed operation (exit code 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Store(#[from] ak::StoreError),
    #[error(transparent)]
    Manage(#[from] ak::ManageError),
    #[error(transparent)]
    Exchange(#[from] ak::ExchangeError),
    #[error(transparent)]
    Session(#[from] ak::SessionError),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Config(#[from] ak::ConfigError),
    #[error("signing keys: {0}")]
    Keys(#[from] ak::KeyError),
    #[error("signing keys: {0}")]
    SigningKeys(#[from] ak::signing::SigningKeysError),
    #[error(transparent)]
    MasterKey(#[from] ak::signing::MasterKeyError),
    #[error(transparent)]
    Server(#[from] ak_server::ConfigError),
    #[error(transparent)]
    Tls(#[from] ak_server::TlsError),
    #[error(transparent)]
    Webhook(#[from] ak::webhook::WebhookError),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("demo failed: {0}")]
    Demo(String),
}

/// The error and its sources on one line, each source once.
pub(crate) fn one_line(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace('\n', " ")
}
