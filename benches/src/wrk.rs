//! Load over HTTP from wrk (Debian's `wrk`), for the report's HTTP rows.
//!
//! wrk is a load generator in C that spends a few microseconds of CPU per request. The report
//! runs it beside the servers on the same cores, so a cheap load generator matters: a hyper
//! client in the bench process cost about half as much CPU per request as the server itself.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Concurrent keep-alive connections, each sending its next request when the previous answer
/// arrived.
pub const CONNECTIONS: usize = 32;

/// The Lua script wrk runs: a POST of `{}` with a JSON content type.
pub const WRK_SCRIPT: &str =
    "wrk.method = \"POST\"\nwrk.body = \"{}\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n";

/// What one round of load measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Round {
    /// Nanoseconds per request (1/throughput).
    pub per_request: f64,
    /// Median latency, nanoseconds.
    pub p50: f64,
    /// 99th-percentile latency, nanoseconds.
    pub p99: f64,
}

impl Round {
    /// Reads wrk's `Requests/sec:` line and the 50% and 99% lines of its `--latency` distribution.
    pub fn parse(text: &str) -> Option<Self> {
        let value = |label: &str| {
            text.lines()
                .map(str::trim)
                .find_map(|line| line.strip_prefix(label))
                .map(str::trim)
        };
        let per_second: f64 = value("Requests/sec:")?.parse().ok()?;
        if per_second <= 0.0 {
            return None;
        }
        Some(Self {
            per_request: 1e9 / per_second,
            p50: duration_ns(value("50%")?)?,
            p99: duration_ns(value("99%")?)?,
        })
    }
}

/// A wrk duration (`812.00us`, `1.20ms`, `2.01s`) in nanoseconds.
fn duration_ns(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// One round of `duration` (whole seconds, at least one) of POSTs to `addr`'s exchange endpoint
/// with `Authorization: <auth>`, from one wrk thread over [`CONNECTIONS`] connections, running
/// `script` (a file holding [`WRK_SCRIPT`]).
///
/// # Panics
/// When wrk is missing or fails, or when any request got an error or a non-2xx answer.
pub fn post(script: &Path, addr: SocketAddr, auth: &str, duration: Duration) -> Round {
    let output = Command::new("wrk")
        .arg("-t1")
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg("-H")
        .arg(format!("Authorization: {auth}"))
        .arg(format!("http://{addr}/v1/auth/accesskey/exchange"))
        .stdin(Stdio::null())
        .output()
        .expect("wrk runs (the HTTP rows need it: apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx") && !text.contains("Socket errors"),
        "requests failed under load: {text}"
    );
    Round::parse(&text).unwrap_or_else(|| panic!("unreadable wrk output: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 1s test @ http://127.0.0.1:1/v1/auth/accesskey/exchange
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.23ms  300.00us   5.00ms   80.00%
    Req/Sec    25.00k     1.00k   26.00k    90.00%
  Latency Distribution
     50%  812.00us
     75%    1.50ms
     90%    2.00ms
     99%    2.50s
  25000 requests in 1.00s, 10.00MB read
Requests/sec:  25000.00
Transfer/sec:     10.00MB
";

    #[test]
    fn a_round_is_read_from_wrk_output() {
        let round = Round::parse(OUTPUT).unwrap();
        assert_eq!(
            round,
            Round {
                per_request: 40_000.0,
                p50: 812_000.0,
                p99: 2.5e9
            }
        );
    }

    #[test]
    fn incomplete_or_odd_output_is_refused() {
        assert_eq!(Round::parse("Requests/sec: 1\n"), None);
        assert_eq!(Round::parse(&OUTPUT.replace("25000.00", "0.00")), None);
        assert_eq!(duration_ns("3.5m"), None);
        assert_eq!(duration_ns("12"), None);
    }
}
