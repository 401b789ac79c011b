//! Reading and printing secrets (access keys, tokens) without leaving unwiped copies behind.
//!
//! A `String` that grows reallocates and frees its old buffer unwiped, so every buffer that holds
//! a secret here is sized up front and refuses to grow, and is a [`Zeroizing`] one: a read that
//! would not fit is an error, never a reallocation. Output is written in one `write_all` that
//! ends with a newline, which std's line-buffered stdout passes straight to the file descriptor
//! instead of copying it into its own (never wiped) buffer.

use std::fmt;
use std::io::{self, Read, Write};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::CliError;

/// Reads all of `reader` (at most `max` bytes) as UTF-8 into a zeroizing buffer allocated once.
pub(crate) fn read_secret(mut reader: impl Read, max: usize, what: &str) -> io::Result<Zeroizing<String>> {
    let mut buffer = Zeroizing::new(vec![0u8; max + 1]);
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    if filled > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} is longer than {max} bytes"),
        ));
    }
    buffer.truncate(filled);
    let bytes = std::mem::take(&mut *buffer);
    String::from_utf8(bytes).map(Zeroizing::new).map_err(|err| {
        // The bytes are wiped here; the error keeps none of them.
        drop(Zeroizing::new(err.into_bytes()));
        io::Error::new(io::ErrorKind::InvalidData, format!("{what} is not UTF-8"))
    })
}

/// A line of text holding a secret, formatted into a buffer of fixed capacity.
pub(crate) struct SecretLine(Zeroizing<String>);

impl SecretLine {
    /// Formats `args` and a newline into a buffer of `capacity` bytes; an error if it would not
    /// fit (the buffer never grows).
    pub(crate) fn format(capacity: usize, args: fmt::Arguments<'_>) -> Result<Self, CliError> {
        let mut line = Fixed(Zeroizing::new(String::with_capacity(capacity)));
        fmt::Write::write_fmt(&mut line, args)
            .and_then(|()| fmt::Write::write_str(&mut line, "\n"))
            .map_err(|_| CliError::Input("internal error: output buffer too small".into()))?;
        Ok(Self(line.0))
    }

    /// `value` as pretty JSON and a newline, in a buffer of `capacity` bytes.
    pub(crate) fn json(capacity: usize, value: &impl Serialize) -> Result<Self, CliError> {
        let mut bytes = FixedBytes(Zeroizing::new(Vec::with_capacity(capacity)));
        serde_json::to_writer_pretty(&mut bytes, value)
            .and_then(|()| bytes.write_all(b"\n").map_err(serde_json::Error::io))
            .map_err(|_| CliError::Input("internal error: output buffer too small".into()))?;
        let text = String::from_utf8(std::mem::take(&mut *bytes.0))
            .map_err(|_| CliError::Input("internal error: output is not UTF-8".into()))?;
        Ok(Self(Zeroizing::new(text)))
    }

    /// Writes the line to `out` in one call.
    pub(crate) fn write_to(&self, mut out: impl Write) -> io::Result<()> {
        out.write_all(self.0.as_bytes())?;
        out.flush()
    }
}

/// A `String` that refuses to grow past its capacity.
struct Fixed(Zeroizing<String>);

impl fmt::Write for Fixed {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.0.capacity() - self.0.len() < text.len() {
            return Err(fmt::Error);
        }
        self.0.push_str(text);
        Ok(())
    }
}

/// A byte buffer that refuses to grow past its capacity.
struct FixedBytes(Zeroizing<Vec<u8>>);

impl Write for FixedBytes {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.0.capacity() - self.0.len() < bytes.len() {
            return Err(io::Error::other("output buffer too small"));
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        assert_eq!(*read_secret(&b"abc"[..], 3, "x").unwrap(), "abc");
        assert_eq!(*read_secret(&b""[..], 3, "x").unwrap(), "");
        assert!(read_secret(&b"abcd"[..], 3, "x").is_err());
        assert!(read_secret(&[0xff, 0xfe][..], 3, "x").is_err());
    }

    #[test]
    fn a_line_never_outgrows_its_buffer() {
        let line = SecretLine::format(8, format_args!("{}", "secret")).unwrap();
        assert_eq!(&*line.0, "secret\n");
        assert!(SecretLine::format(6, format_args!("{}", "secret")).is_err());
        let json = SecretLine::json(64, &serde_json::json!({"a": "b"})).unwrap();
        assert_eq!(&*json.0, "{\n  \"a\": \"b\"\n}\n");
        assert!(SecretLine::json(4, &serde_json::json!({"a": "b"})).is_err());
    }
}
