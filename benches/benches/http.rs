//! The HTTP rows of issue 14, beside their baselines in the same run:
//!
//! * exchange over HTTP, keep-alive, 32 concurrent connections: `ak serve`'s router against a
//!   bare axum handler that signs the same claims with ed25519-dalek (target: >= 0.75x its
//!   throughput), with p50 and p99 latency;
//! * the same with 2 server worker threads against 1 (target: >= 1.7x);
//! * management create over HTTP against the library call.
//!
//! `cargo bench -p ak-benches --bench http` (add `-- --quick` for a short run). The load
//! generator is in this file: one hyper HTTP/1.1 connection per client task, each sending its
//! next request when the previous answer arrived. It shares the machine with the servers, so
//! the absolute numbers are the machine's; the ratios are the figures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ak::{AccessKeys, CreateKey, KeySet, ManagementKeys, SigningKey, SqliteKeyStore};
use ak_benches::{Row, Schedule, Target, Unit, alternating};
use ak_server::ServerConfig;
use axum::Json;
use axum::http::HeaderMap;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

const PROJECT: &str = "P2akBenchProject0000000000000";
const CONNECTIONS: usize = 32;

#[derive(Debug, Clone, Copy)]
struct Plan {
    quick: bool,
    round: Duration,
    rounds: usize,
    creates: u32,
}

impl Plan {
    fn from_args() -> Self {
        if std::env::args().any(|arg| arg == "--quick") {
            Self {
                quick: true,
                round: Duration::from_millis(200),
                rounds: 3,
                creates: 3,
            }
        } else {
            Self {
                quick: false,
                round: Duration::from_secs(2),
                rounds: 7,
                creates: 30,
            }
        }
    }
}

/// A server running in its own runtime with `workers` threads (and as many blocking threads).
struct Running {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
}

fn run_router(router: axum::Router, workers: usize) -> Running {
    let runtime = runtime(workers);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let config = ServerConfig::default();
    runtime.spawn(async move {
        ak_server::serve(listener, router, &config, None, std::future::pending())
            .await
            .expect("serve");
    });
    Running {
        addr,
        _runtime: runtime,
    }
}

/// The bare baseline: the same claims as an ak exchange, signed with ed25519-dalek.
fn bare_router(key: Arc<ed25519_dalek::SigningKey>, key_id: String) -> axum::Router {
    axum::Router::new().route(
        "/v1/auth/accesskey/exchange",
        post(move |headers: HeaderMap| {
            let key = Arc::clone(&key);
            let key_id = key_id.clone();
            async move {
                let _auth = headers.get("authorization");
                let now = i64::try_from(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                )
                .unwrap_or(0);
                let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT","kid":"bench"}"#);
                let claims = json!({"iss": PROJECT, "sub": key_id, "iat": now, "exp": now + 600,
                                    "jti": "AAAAAAAAAAAAAAAAAAAAAA", "roles": [], "permissions": []});
                let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
                let signing_input = format!("{header}.{payload}");
                let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes()).to_bytes());
                Json(json!({"keyId": key_id, "sessionJwt": format!("{signing_input}.{signature}"), "expiration": now + 600}))
            }
        }),
    )
}

/// Requests per second and every latency, from `CONNECTIONS` keep-alive connections for
/// `duration`.
fn load(
    client: &tokio::runtime::Runtime,
    addr: SocketAddr,
    auth: &str,
    duration: Duration,
) -> (f64, Vec<Duration>) {
    client.block_on(async {
        let deadline = Instant::now() + duration;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let auth = auth.to_owned();
            tasks.push(tokio::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .expect("handshake");
                tokio::spawn(connection);
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let request = hyper::Request::post("/v1/auth/accesskey/exchange")
                        .header("host", "bench")
                        .header("authorization", &auth)
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(b"{}")))
                        .expect("request");
                    let sent = Instant::now();
                    let response = sender.send_request(request).await.expect("response");
                    assert_eq!(response.status(), 200, "exchange failed");
                    let _ = response.into_body().collect().await.expect("body");
                    latencies.push(sent.elapsed());
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("client task"));
        }
        let elapsed = started.elapsed().as_secs_f64();
        (all.len() as f64 / elapsed, all)
    })
}

/// The nearest-rank percentile `per_mille`/1000 of `latencies`, in nanoseconds.
fn percentile(latencies: &mut [Duration], per_mille: usize) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    latencies.sort();
    let index = (latencies.len() - 1) * per_mille.min(1000) / 1000;
    latencies[index].as_nanos() as f64
}

fn ak_service(dir: &std::path::Path) -> (AccessKeys, ManagementKeys, String, String) {
    let store = Arc::new(SqliteKeyStore::open(dir.join("keys.db")).expect("store"));
    let keys = AccessKeys::builder()
        .shared_store(store.clone())
        .signing_keys(KeySet::new(SigningKey::generate()))
        .issuer(PROJECT)
        .build()
        .expect("service");
    let created = keys.create(CreateKey::named("bench")).expect("create");
    let management = ManagementKeys::new(store).expect("management");
    let admin = management
        .create("bench admin", false, "")
        .expect("management key");
    (
        keys,
        management,
        created.cleartext.expose_secret().to_owned(),
        admin.cleartext.expose_secret().to_owned(),
    )
}

fn report_row(scenario: String, figure: f64) -> Row {
    Row {
        scenario,
        figure,
        baseline: None,
        ratios: Vec::new(),
        target: Target::Report,
        unit: Unit::Time,
    }
}

/// The report's pairing: one batch of each entry per round, in alternating order; a ratio per round.
fn schedule(plan: &Plan) -> Schedule {
    Schedule {
        pairs: plan.rounds,
        repeats: 1,
    }
}

fn main() {
    let plan = Plan::from_args();
    let root = tempfile::tempdir().expect("temporary directory");
    let client = runtime(1);
    let mut rows = Vec::new();

    // ak (2 workers), ak (1 worker) and the bare handler, each on its own store and runtime.
    let mut servers = Vec::new();
    let mut secrets = Vec::new();
    for workers in [2, 1] {
        let dir = root.path().join(format!("w{workers}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let (keys, management, cleartext, admin) = ak_service(&dir);
        let router = ak_server::router(keys, management, ServerConfig::default()).expect("router");
        servers.push(run_router(router, workers));
        secrets.push((cleartext, admin));
    }
    let signing = Arc::new(ed25519_dalek::SigningKey::from_bytes(&[7; 32]));
    let bare = run_router(bare_router(signing, "bench-key".into()), 2);

    let auth = |secret: &str| format!("Bearer {PROJECT}:{secret}");
    let mut ak_latencies = Vec::new();
    let mut bare_latencies = Vec::new();
    let mut ak2 = || {
        let (rps, latencies) = load(&client, servers[0].addr, &auth(&secrets[0].0), plan.round);
        ak_latencies.extend(latencies);
        1e9 / rps
    };
    let mut ak1 = || {
        load(&client, servers[1].addr, &auth(&secrets[1].0), plan.round)
            .0
            .recip()
            * 1e9
    };
    let mut baseline = || {
        let (rps, latencies) = load(&client, bare.addr, &auth("x"), plan.round);
        bare_latencies.extend(latencies);
        1e9 / rps
    };
    let batches = alternating(schedule(&plan), &mut [&mut ak2, &mut baseline, &mut ak1]);
    rows.push(Row::paired(
        format!("exchange over HTTP, {CONNECTIONS} keep-alive connections, 2 workers (time per request = 1/throughput)"),
        &batches[0],
        ("bare axum + ed25519-dalek sign", &batches[1]),
        Target::RatioAtMost(1.0 / 0.75),
    ));
    rows.push(Row::paired(
        "exchange over HTTP, 2 server workers vs 1 (speed-up)",
        &batches[0],
        ("1 worker", &batches[2]),
        Target::SpeedupAtLeast(1.7),
    ));
    rows.push(report_row(
        "exchange over HTTP, ak, p50 latency".into(),
        percentile(&mut ak_latencies, 500),
    ));
    rows.push(report_row(
        "exchange over HTTP, ak, p99 latency".into(),
        percentile(&mut ak_latencies, 990),
    ));
    rows.push(report_row(
        "exchange over HTTP, bare, p50 latency".into(),
        percentile(&mut bare_latencies, 500),
    ));
    rows.push(report_row(
        "exchange over HTTP, bare, p99 latency".into(),
        percentile(&mut bare_latencies, 990),
    ));

    // Management create: one request at a time over HTTP against the library call.
    let dir = root.path().join("library");
    std::fs::create_dir_all(&dir).expect("dir");
    let (library, _, _, _) = ak_service(&dir);
    let http = reqwest::blocking::Client::new();
    let create_url = format!("http://{}/v1/mgmt/accesskey/create", servers[0].addr);
    let admin = auth(&secrets[0].1);
    let mut count = 0u64;
    let mut over_http = || {
        let started = Instant::now();
        for _ in 0..plan.creates {
            count += 1;
            let response = http
                .post(&create_url)
                .header("authorization", &admin)
                .json(&json!({"name": format!("bench {count}")}))
                .send()
                .expect("create over HTTP");
            assert_eq!(response.status(), 200);
            let _: Value = response.json().expect("body");
        }
        started.elapsed().as_nanos() as f64 / f64::from(plan.creates)
    };
    let mut direct = || {
        let started = Instant::now();
        for step in 0..plan.creates {
            drop(
                library
                    .create(CreateKey::named(format!("direct {step}")))
                    .expect("create"),
            );
        }
        started.elapsed().as_nanos() as f64 / f64::from(plan.creates)
    };
    let batches = alternating(schedule(&plan), &mut [&mut over_http, &mut direct]);
    rows.push(Row::paired(
        "management create over HTTP (durable, SQLite)",
        &batches[0],
        ("AccessKeys::create", &batches[1]),
        Target::Report,
    ));

    println!("{}", ak_benches::table(&rows));
    println!(
        "{} mode, {} rounds of {:.1} s per exchange figure; the load generator shares the machine",
        if plan.quick { "quick" } else { "full" },
        plan.rounds,
        plan.round.as_secs_f64()
    );
}
