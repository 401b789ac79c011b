//! `ak serve`: Descope's access-key REST API on the store.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ak::expiring::ExpiryConfig;
use ak::webhook::{AuditPipeline, DeliveryConfig, Webhooks};
use ak::{AccessKeys, ManagementKeys, RoleCatalog};
use ak_server::{
    DEFAULT_AUTH_FAILURE_BURST, DEFAULT_AUTH_FAILURES_PER_SECOND, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, ServerConfig, TlsConfig,
};
use clap::Args;
use ipnet::IpNet;

use crate::commands::Context;
use crate::error::CliError;
use crate::parse;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the real one is printed).
    #[arg(long, env = "AK_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: String,
    /// PEM certificate chain: serve HTTPS (needs --tls-key).
    #[arg(long, env = "AK_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate (needs --tls-cert).
    #[arg(long, env = "AK_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A proxy address or CIDR whose X-Forwarded-For is believed (repeatable; env comma-separated).
    #[arg(long = "trusted-proxy", env = "AK_TRUSTED_PROXY", value_delimiter = ',', value_parser = proxy)]
    trusted_proxies: Vec<IpNet>,
    /// Largest request body, in bytes.
    #[arg(long, env = "AK_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Request timeout, e.g. `30s`.
    #[arg(long, env = "AK_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse::duration)]
    request_timeout: Duration,
    /// Most open connections.
    #[arg(long, env = "AK_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Largest request head (request line and headers), in bytes (at least 8192).
    #[arg(long, env = "AK_MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    max_header_bytes: usize,
    /// Failed authentications a client IP may make in a burst.
    #[arg(long, env = "AK_AUTH_FAILURE_BURST", default_value_t = DEFAULT_AUTH_FAILURE_BURST)]
    auth_failure_burst: u32,
    /// Failed authentications a client IP regains per second.
    #[arg(long, env = "AK_AUTH_FAILURES_PER_SECOND", default_value_t = DEFAULT_AUTH_FAILURES_PER_SECOND)]
    auth_failures_per_second: f64,
    /// Most secret verifications at once (default: the number of CPUs).
    #[arg(long, env = "AK_MAX_CONCURRENT_HASHES")]
    max_concurrent_hashes: Option<usize>,
    /// Runtime worker threads (default: the number of CPUs).
    #[arg(long, env = "AK_WORKERS")]
    workers: Option<usize>,
    /// How often the signing keys are reloaded from the store (1s ..= 1h), so a rotation or
    /// retirement made on another node is followed. A token with an unknown kid also reloads
    /// them (at most once a second).
    #[arg(long, env = "AK_SIGNING_KEY_REFRESH", default_value = "30s", value_parser = crate::parse::duration)]
    signing_key_refresh: std::time::Duration,
    /// Record `accesskey.expiring` for active keys this close to their expiry (at most 30d),
    /// checked at start and every 10 minutes; subscribe a webhook to it to be paged.
    #[arg(long, env = "AK_EXPIRY_WARNING", default_value = "7d", value_parser = crate::parse::duration)]
    expiry_warning: std::time::Duration,
    /// A role catalog, JSON `{"project": {"role": ["perm", ...]}, "tenant": {"role": [...]}}`:
    /// tokens then carry each role's permissions, and unknown roles are refused (400).
    #[arg(long, env = "AK_ROLES")]
    roles: Option<PathBuf>,
}

/// The `--roles` file.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    #[serde(default)]
    project: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    tenant: BTreeMap<String, Vec<String>>,
}

fn role_catalog(path: &Path) -> Result<RoleCatalog, CliError> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|file| std::io::Read::read_to_string(&mut std::io::Read::take(file, 1 << 20), &mut text))
        .map_err(|error| CliError::Input(format!("role catalog {}: {error}", path.display())))?;
    let file: RolesFile = serde_json::from_str(&text)
        .map_err(|error| CliError::Input(format!("role catalog {}: {error}", path.display())))?;
    let mut catalog = RoleCatalog::new();
    for (role, permissions) in file.project {
        catalog = catalog.with_project_role(role, permissions);
    }
    for (role, permissions) in file.tenant {
        catalog = catalog.with_tenant_role(role, permissions);
    }
    Ok(catalog)
}

fn proxy(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("invalid proxy {text:?}: use an IP address or a CIDR range"))
}

impl ServeArgs {
    fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::default();
        config.max_body_bytes = self.max_body_bytes;
        config.request_timeout = self.request_timeout;
        config.max_connections = self.max_connections;
        config.max_header_bytes = self.max_header_bytes;
        config.auth_failure_burst = self.auth_failure_burst;
        config.auth_failures_per_second = self.auth_failures_per_second;
        if let Some(hashes) = self.max_concurrent_hashes {
            config.max_concurrent_hashes = hashes;
        }
        config.trusted_proxies.clone_from(&self.trusted_proxies);
        config
    }
}

pub(crate) fn run(context: &Context, args: &ServeArgs) -> Result<(), CliError> {
    let config = args.config();
    config.validate()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::from_pem_files(cert, key)?),
        _ => None,
    };
    // The master key first: a remote store without one is refused before it is touched.
    let master = context.master_key()?;
    let views = context.cli.store.open_all()?;
    // The last handle on the store is dropped here, after the runtime has stopped: a PostgreSQL
    // store closes its connections with a blocking call, which must not run on a runtime thread
    // (where the router, and with it the service, is dropped when the server stops).
    let _store = Arc::clone(&views.keys);
    let management_store = views.management;
    let mut webhooks = Webhooks::new(views.webhooks, master.clone());
    let mut builder = AccessKeys::builder();
    // Webhook delivery and expiry warnings run behind the store's audit trail.
    let expiry = ExpiryConfig {
        window: args.expiry_warning,
        ..ExpiryConfig::default()
    };
    let pipeline = AuditPipeline::start(
        Arc::clone(&views.keys),
        views.audit,
        webhooks.clone(),
        Arc::new(ak::SystemClock),
        DeliveryConfig::default(),
        &expiry,
    )
    .map_err(|error| CliError::Input(error.to_string()))?;
    webhooks = webhooks.with_audit_store(pipeline.audit_store());
    builder = builder
        .shared_store(views.keys)
        .shared_signing_keys(context.shared_signing_keys(views.signing, master)?)
        // Exchanges are recorded in the audit trail (through the pipeline's store, so webhooks
        // see them) and note each key's last use, both written in the background, never on the
        // request's path.
        .audit_store(pipeline.audit_store())
        .usage_store(views.usage)
        .signing_key_refresh(args.signing_key_refresh)
        .webhooks(webhooks)
        .issuer(&context.cli.issuer);
    if let Some(path) = &args.roles {
        builder = builder.role_catalog(role_catalog(path)?);
    }
    let keys = builder.build()?;
    let management = ManagementKeys::new(management_store).map_err(ak::ConfigError::from)?;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.workers {
        runtime.worker_threads(workers.max(1));
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async {
        let app = ak_server::router(keys, management, config.clone())?;
        let listener = tokio::net::TcpListener::bind(&args.listen).await?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {scheme}://{}", listener.local_addr()?)?;
            out.flush()?;
        }
        ak_server::serve(listener, app, &config, tls, ak_server::shutdown_signal()).await?;
        Ok::<(), CliError>(())
    })?;
    // The service (and its recorders) is gone with the router: deliver what they wrote last.
    drop(pipeline);
    Ok(())
}
