//! Instruction counts of ak's CPU-bound hot paths, counted by callgrind, checked against a baseline.
//!
//! `cargo bench -p ak-benches --bench icount` runs every scenario in its own process under
//! `valgrind --tool=callgrind`, twice, prints baseline, now and change for every scenario, and exits
//! non-zero when one grew by more than 10% against `benches/icount-baseline.txt`, when the set of
//! scenarios changed, or when a scenario's two counts differ. `-- --update` rewrites the baseline instead, for the commit that justifies
//! the change; `-- --list` names the scenarios; `-- --run <scenario>` is what each child runs.
//!
//! # What is counted
//!
//! Each child sets its scenario up (stores, keys, tokens: not counted), runs the operation once to
//! warm lazy statics and caches (not counted), then runs it once inside [`icount_measured_region`].
//! Callgrind starts with collection off (`--collect-atstart=no`) and `--toggle-collect` turns it on
//! for exactly the duration of that function, callees included, so a count is one operation's
//! instructions and nothing of the setup. (A named function and `--toggle-collect` need no client
//! requests compiled into the binary, no C toolchain and no `unsafe`; subtracting a setup-only run
//! would count the difference of two large, independently varying numbers.)
//!
//! # Why the counts repeat
//!
//! Nothing in a measured operation depends on the time or on OS randomness: the services read a
//! [`ManualClock`] and draw ids, secrets, salts and token ids from a [`SeededRandom`], so every
//! run creates the same keys and mints byte-identical tokens (Ed25519 is deterministic; its
//! verification is variable-time, so the token must be the same). The children run under
//! `setarch -R` (no address-space randomisation). The one randomised structure left is std's
//! `HashMap` (the secret and token caches), whose per-process hash keys change which slots
//! collide: every measured operation therefore meets a cache of at most one entry (the cold
//! exchange an empty one), where the probe sequence cannot vary.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ak::{
    AccessKeys, AuthError, CacheOptions, CreateKey, ExchangeOptions, KeyManager, KeySet, ManualClock,
    MemoryKeyStore, RoleCatalog, SeededRandom, SessionClaims, SigningKey, SqliteKeyStore,
};
use ak_benches::icount::{
    Counts, callgrind_total, compare, comparison_table, format_baseline, parse_baseline,
};
use ak_token::TokenMinter;
use serde_json::json;

/// The committed baseline.
const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/icount-baseline.txt");
/// The callgrind output of the last run, per scenario (for `callgrind_annotate`).
const OUTPUT_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/icount");
/// The function whose execution callgrind counts (`--toggle-collect` matches it by name).
const MEASURED_FN: &str = "*icount_measured_region*";

const SEED: [u8; 32] = [42; 32];
const ISSUER: &str = "P2akBenchProject0000000000000";
const NOW: i64 = 1_750_000_000;
const RANDOM_SEED: u64 = 13;

/// What sets a scenario up.
type Setup = fn() -> Scenario;

/// Every scenario: its name (the baseline's key) and what sets it up.
const SCENARIOS: &[(&str, Setup)] = &[
    ("key_parse", key_parse),
    ("authenticate_memory_cached_secret", authenticate_cached),
    ("authenticate_memory_argon2", authenticate_argon2),
    ("authenticate_memory_fail_unknown_id", || {
        failing_authenticate(Failure::UnknownId)
    }),
    ("authenticate_memory_fail_wrong_secret", || {
        failing_authenticate(Failure::WrongSecret)
    }),
    ("authenticate_memory_fail_wrong_secret_in_grace", || {
        failing_authenticate(Failure::WrongSecretInGrace)
    }),
    ("exchange_memory_warm", exchange_warm),
    ("exchange_memory_cold", exchange_cold),
    ("exchange_sqlite_warm", exchange_sqlite_warm),
    ("sign_ed25519_raw", sign_raw),
    ("mint", mint),
    ("verify_fresh_token", verify_fresh),
    ("verify_cached_token", verify_cached),
];

/// When an operation runs: to warm up (not counted) or to be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    WarmUp,
    Measure,
}

/// A scenario, set up: called once with [`Phase::WarmUp`], then once with [`Phase::Measure`].
type Scenario = Box<dyn FnMut(Phase)>;

/// The only code callgrind counts. Never inlined, so that the symbol exists for `--toggle-collect`.
#[inline(never)]
fn icount_measured_region(op: &mut dyn FnMut(Phase)) {
    op(black_box(Phase::Measure));
}

fn manager(cache: bool) -> KeyManager {
    KeyManager::builder(Arc::new(MemoryKeyStore::new()))
        .clock(Arc::new(ManualClock::new(NOW)))
        .random(Arc::new(SeededRandom::new(RANDOM_SEED)))
        .role_catalog(RoleCatalog::new().with_project_role("deployer", ["deploy", "read"]))
        .secret_cache_capacity(if cache { 16 } else { 0 })
        .build()
        .expect("bench manager settings are valid")
}

fn service(token_cache: bool) -> AccessKeys {
    service_on(Arc::new(MemoryKeyStore::new()), token_cache)
}

fn service_on(store: Arc<dyn ak::KeyStore>, token_cache: bool) -> AccessKeys {
    let mut builder = AccessKeys::builder()
        .shared_store(store)
        .clock(Arc::new(ManualClock::new(NOW)))
        .random(Arc::new(SeededRandom::new(RANDOM_SEED)))
        .signing_keys(KeySet::new(SigningKey::from_seed(&SEED)))
        .issuer(ISSUER)
        .role_catalog(RoleCatalog::new().with_project_role("deployer", ["deploy", "read"]));
    if token_cache {
        builder = builder.token_cache(CacheOptions::default());
    }
    builder.build().expect("bench service settings are valid")
}

/// A key shaped like the report's real keys: one role, two custom claims.
fn request(name: &str) -> CreateKey {
    let claims = json!({"plan": "gold", "region": "eu-west-1"});
    CreateKey {
        role_names: vec!["deployer".into()],
        custom_claims: claims.as_object().cloned().unwrap_or_default(),
        ..CreateKey::named(name)
    }
}

fn key_parse() -> Scenario {
    let created = manager(true).create(request("parse")).expect("create");
    let presented = created.cleartext.expose_secret().to_owned();
    Box::new(move |phase| {
        let parsed = ak_core::fuzzing::parse_key(black_box(&presented));
        if phase == Phase::WarmUp {
            assert!(parsed.is_some(), "a created key parses");
        }
        drop(black_box(parsed));
    })
}

fn authenticate_cached() -> Scenario {
    let manager = manager(true);
    let presented = manager.create(request("cached")).expect("create").cleartext;
    Box::new(move |_| {
        let result = manager.authenticate(black_box(presented.expose_secret()), None);
        assert!(result.is_ok(), "authenticates");
        drop(black_box(result));
    })
}

fn authenticate_argon2() -> Scenario {
    let manager = manager(false);
    let presented = manager.create(request("argon2")).expect("create").cleartext;
    Box::new(move |_| {
        let result = manager.authenticate(black_box(presented.expose_secret()), None);
        assert!(result.is_ok(), "authenticates");
        drop(black_box(result));
    })
}

/// How a failing authentication fails (issue 12, finding 5: all three should cost the same).
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// A well-formed key whose id is not in the store.
    UnknownId,
    /// An existing key's first secret after a rotation without grace.
    WrongSecret,
    /// A wrong secret for a key whose previous secret is in its rotation grace period.
    WrongSecretInGrace,
}

fn failing_authenticate(failure: Failure) -> Scenario {
    let manager = manager(true);
    let created = manager.create(request("failing")).expect("create");
    let presented = created.cleartext;
    match failure {
        Failure::UnknownId => manager.delete(&created.key.id).expect("delete"),
        Failure::WrongSecret => drop(manager.rotate(&created.key.id, 0).expect("rotate")),
        Failure::WrongSecretInGrace => {
            for _ in 0..2 {
                drop(manager.rotate(&created.key.id, 24 * 3600).expect("rotate"));
            }
        }
    }
    Box::new(move |phase| {
        let result = manager.authenticate(black_box(presented.expose_secret()), None);
        if phase == Phase::WarmUp {
            assert!(matches!(result, Err(AuthError::InvalidKey)), "{failure:?} fails");
        }
        drop(black_box(result));
    })
}

fn exchange_warm() -> Scenario {
    let keys = service(false);
    let presented = keys.create(request("warm")).expect("create").cleartext;
    let options = ExchangeOptions::default();
    Box::new(move |_| {
        let result = keys.exchange(black_box(presented.expose_secret()), &options);
        assert!(result.is_ok(), "exchanges");
        drop(black_box(result));
    })
}

/// A warm exchange on a SQLite store in a file, as the report's "exchange, warm, SQLite" row
/// measures it (the secret proven by the secret cache; one point read of the record per call).
fn exchange_sqlite_warm() -> Scenario {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteKeyStore::open(dir.path().join("keys.db")).expect("open SQLite store");
    let keys = service_on(Arc::new(store), false);
    let presented = keys.create(request("warm")).expect("create").cleartext;
    let options = ExchangeOptions::default();
    Box::new(move |_| {
        let _dir = &dir;
        let result = keys.exchange(black_box(presented.expose_secret()), &options);
        assert!(result.is_ok(), "exchanges");
        drop(black_box(result));
    })
}

/// The first exchange of a key: argon2id, then the secret is remembered. The warm-up exchanges a
/// different key through a second service over the same store, so the measured service's secret
/// cache is still empty.
fn exchange_cold() -> Scenario {
    let keys = service(false);
    let warm_up = keys.create(request("cold warm-up")).expect("create").cleartext;
    let cold = keys.create(request("cold")).expect("create").cleartext;
    let other = AccessKeys::builder()
        .shared_store(Arc::clone(keys.manager().store()))
        .clock(Arc::new(ManualClock::new(NOW)))
        .random(Arc::new(SeededRandom::new(RANDOM_SEED + 1)))
        .signing_keys(KeySet::new(SigningKey::from_seed(&SEED)))
        .issuer(ISSUER)
        .role_catalog(RoleCatalog::new().with_project_role("deployer", ["deploy", "read"]))
        .build()
        .expect("bench service settings are valid");
    let options = ExchangeOptions::default();
    Box::new(move |phase| {
        let (service, presented) = match phase {
            Phase::WarmUp => (&other, &warm_up),
            Phase::Measure => (&keys, &cold),
        };
        let result = service.exchange(black_box(presented.expose_secret()), &options);
        assert!(result.is_ok(), "exchanges");
        drop(black_box(result));
    })
}

/// A session token of a fresh service, and its claims.
fn token(keys: &AccessKeys) -> (String, SessionClaims) {
    let presented = keys.create(request("token")).expect("create").cleartext;
    let token = keys
        .exchange(presented.expose_secret(), &ExchangeOptions::default())
        .expect("exchange")
        .session_jwt;
    let claims = keys.validate_session(&token).expect("valid").into_claims();
    (token, claims)
}

fn mint() -> Scenario {
    let (_, claims) = token(&service(false));
    let minter = TokenMinter::new(KeySet::new(SigningKey::from_seed(&SEED)));
    Box::new(move |_| {
        let result = minter.mint(black_box(&claims));
        assert!(result.is_ok(), "mints");
        drop(black_box(result));
    })
}

/// The baseline of the report's exchange rows: a raw Ed25519 signature (ed25519-dalek) of the
/// signing input of a token like the ones the exchange scenarios mint.
fn sign_raw() -> Scenario {
    let (token, _) = token(&service(false));
    let signing_input = token
        .rsplit_once('.')
        .map(|(input, _)| input.as_bytes().to_vec())
        .expect("a compact JWS");
    let dalek = ed25519_dalek::SigningKey::from_bytes(&SEED);
    Box::new(move |_| {
        use ed25519_dalek::Signer as _;
        black_box(dalek.sign(black_box(&signing_input)));
    })
}

fn verify(token_cache: bool) -> Scenario {
    let keys = service(token_cache);
    let (token, _) = token(&keys);
    // `token` verified the token once, so with a cache the warm-up is already a hit.
    Box::new(move |_| {
        let result = keys.validate_session(black_box(&token));
        assert!(result.is_ok(), "verifies");
        drop(black_box(result));
    })
}

fn verify_fresh() -> Scenario {
    verify(false)
}

fn verify_cached() -> Scenario {
    verify(true)
}

/// Child mode: set `name` up, warm it up, run it once inside the measured region.
fn run_one(name: &str) -> ExitCode {
    let Some((_, setup)) = SCENARIOS.iter().find(|(known, _)| *known == name) else {
        eprintln!("unknown scenario `{name}`");
        return ExitCode::FAILURE;
    };
    let mut scenario = setup();
    scenario(Phase::WarmUp);
    icount_measured_region(&mut scenario);
    ExitCode::SUCCESS
}

/// Runs scenario `name` under callgrind (the `run`th time) and returns its instruction count.
fn count(exe: &Path, name: &str, run: usize) -> Result<u64, String> {
    let out = Path::new(OUTPUT_DIR).join(format!("{name}.{run}.callgrind"));
    let log = Path::new(OUTPUT_DIR).join(format!("{name}.{run}.log"));
    let status = Command::new("setarch")
        .arg("-R")
        .arg("valgrind")
        .arg("--tool=callgrind")
        .arg("--collect-atstart=no")
        .arg(format!("--toggle-collect={MEASURED_FN}"))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(format!("--log-file={}", log.display()))
        .arg(exe)
        .args(["--run", name])
        .stdin(Stdio::null())
        .status()
        .map_err(|error| {
            format!("{name}: cannot start `setarch -R valgrind` ({error}); is valgrind installed?")
        })?;
    if !status.success() {
        return Err(format!(
            "{name}: the child failed ({status}); see {}",
            log.display()
        ));
    }
    let text =
        std::fs::read_to_string(&out).map_err(|error| format!("{name}: {}: {error}", out.display()))?;
    match callgrind_total(&text) {
        Some(0) | None => Err(format!(
            "{name}: callgrind counted nothing; did `--toggle-collect={MEASURED_FN}` match no function?"
        )),
        Some(total) => Ok(total),
    }
}

/// How many times each scenario is counted: the counts must agree, or the check fails.
const RUNS: usize = 2;

/// Counts every scenario [`RUNS`] times, two processes at a time at most, and fails when a
/// scenario's counts differ between its runs (something in it depends on the time, on randomness
/// or on addresses, and its count would not be comparable with a baseline).
fn count_all() -> Result<Counts, String> {
    let exe = std::env::current_exe().map_err(|error| format!("own path: {error}"))?;
    std::fs::create_dir_all(OUTPUT_DIR).map_err(|error| format!("{OUTPUT_DIR}: {error}"))?;
    let jobs = SCENARIOS.len() * RUNS;
    let results: Mutex<Vec<Option<Result<u64, String>>>> = Mutex::new(vec![None; jobs]);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let job = next.fetch_add(1, Ordering::SeqCst);
                    if job >= jobs {
                        break;
                    }
                    let (name, _) = SCENARIOS[job / RUNS];
                    let result = count(&exe, name, job % RUNS + 1);
                    results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[job] = Some(result);
                }
            });
        }
    });
    let results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    SCENARIOS
        .iter()
        .zip(results.chunks(RUNS))
        .map(|((name, _), runs)| {
            let mut counts = Vec::with_capacity(RUNS);
            for result in runs {
                counts.push(
                    result
                        .clone()
                        .unwrap_or_else(|| Err(format!("{name}: not run")))?,
                );
            }
            if counts.windows(2).any(|pair| pair[0] != pair[1]) {
                return Err(format!(
                    "{name}: the count differs between runs ({counts:?}): something in the scenario \
                     depends on the time, on randomness or on addresses"
                ));
            }
            Ok(((*name).to_owned(), counts[0]))
        })
        .collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(position) = args.iter().position(|arg| arg == "--run") {
        return run_one(args.get(position + 1).map_or("", String::as_str));
    }
    if args.iter().any(|arg| arg == "--list") {
        for (name, _) in SCENARIOS {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let update = args.iter().any(|arg| arg == "--update");
    let started = Instant::now();
    let now = match count_all() {
        Ok(now) => now,
        Err(error) => {
            eprintln!("icount: {error}");
            return ExitCode::FAILURE;
        }
    };
    let elapsed = started.elapsed();
    if update {
        if let Err(error) = std::fs::write(BASELINE, format_baseline(&now)) {
            eprintln!("icount: cannot write {BASELINE}: {error}");
            return ExitCode::FAILURE;
        }
        println!("{}", comparison_table(&compare(&now, &now)));
        println!("wrote {BASELINE} ({} scenarios, {})", now.len(), seconds(elapsed));
        return ExitCode::SUCCESS;
    }
    let baseline = match std::fs::read_to_string(BASELINE)
        .map_err(|error| error.to_string())
        .and_then(|text| parse_baseline(&text))
    {
        Ok(baseline) => baseline,
        Err(error) => {
            eprintln!("icount: {BASELINE}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let lines = compare(&baseline, &now);
    println!("{}", comparison_table(&lines));
    println!(
        "instructions per operation, callgrind; {} scenarios in {}; callgrind output in {}",
        now.len(),
        seconds(elapsed),
        PathBuf::from(OUTPUT_DIR).display()
    );
    let failing: Vec<&str> = lines
        .iter()
        .filter(|line| line.fails())
        .map(|line| line.name.as_str())
        .collect();
    if failing.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "icount: {} failed the check; if the change is justified, regenerate the baseline in the \
             same commit with `cargo bench -p ak-benches --bench icount -- --update`",
            failing.join(", ")
        );
        ExitCode::FAILURE
    }
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}
