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
mod serve;
mod store_url;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::Context::new(cli).run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ak: error: {}", error::one_line(&error));
            ExitCode::FAILURE
        }
    }
}
