//! `ak`: administer access keys on the embedded store, exchange keys for tokens and verify them.
//!
//! Exit codes: 0 success, 1 the operation failed (invalid key, not found, rejected input, store
//! error), 2 usage error. Errors are one line on standard error.

#![forbid(unsafe_code)]

mod args;
mod commands;
mod demo;
mod error;
mod key_file;
mod management_key;
mod output;
mod parse;
mod secret_io;
mod serve;
mod store_url;
mod webhook;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    match commands::Context::new(cli).run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ak: error: {}", error::one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// Prints a usage error (or `--help`, `--version`) as clap would, but with every argument that
/// looks like an access key or a token blanked out, and the password of a store URL: clap echoes
/// a mistyped argument, and a key pasted in the wrong place must not land in a terminal log.
fn usage_error(error: &clap::Error) -> ExitCode {
    let mut text = error.render().to_string();
    // A store URL's password, from an argument (`--store URL`, `--store=URL`) or AK_STORE.
    let store_env = std::env::var("AK_STORE").ok();
    for arg in std::env::args().skip(1).chain(store_env) {
        let value = arg.split_once('=').filter(|(name, _)| name.starts_with("--"));
        for piece in [Some(arg.as_str()), value.map(|(_, value)| value)]
            .into_iter()
            .flatten()
        {
            let redacted = store_url::redact_password(piece);
            if redacted != piece {
                text = text.replace(piece, &redacted);
            }
        }
    }
    for arg in std::env::args().skip(1) {
        for piece in std::iter::once(arg.as_str()).chain(arg.split('=')) {
            if looks_secret(piece) {
                text = text.replace(piece, "[redacted]");
            }
        }
    }
    if error.use_stderr() {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2))
}

/// Whether `text` could be an access key, a management key or a token: long, and only the
/// characters those are made of (letters, digits, `_`, `-`, `.`), with a letter and a digit.
fn looks_secret(text: &str) -> bool {
    text.len() >= 20
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().any(|b| b.is_ascii_alphabetic())
}
