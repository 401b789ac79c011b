//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::parse;
use crate::store_url::StoreUrl;

/// Administer access keys on the embedded store; exchange keys for tokens and verify them.
#[derive(Debug, Parser)]
#[command(name = "ak", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Where keys are stored: `sqlite:<path>`, `sled:<directory>`, or
    /// `postgres://user[:password]@host[:port]/database[?sslmode=require][&schema=ak]` (also
    /// `postgresql://`; `schema` defaults to `ak`): one store for many nodes, which needs a
    /// master key (AK_MASTER_KEY or --master-key-file).
    #[arg(long, global = true, env = "AK_STORE", hide_env_values = true, default_value = "sqlite:ak.db", value_parser = parse::store_url)]
    pub(crate) store: StoreUrl,
    /// A signing key set file (JSON) imported into the store once, when the store holds no
    /// signing keys yet (default: `<store>.signing-keys.json` beside the store, if it exists).
    #[arg(long, global = true, env = "AK_SIGNING_KEYS")]
    pub(crate) keys: Option<PathBuf>,
    /// The file holding the master key that seals the signing keys in the store (64 hex digits,
    /// mode 0600). The key itself may instead be given in AK_MASTER_KEY. Default, for local
    /// stores: `<store>.master-key` beside the store, created on first use; a PostgreSQL store
    /// requires one or the other, the same on every node.
    #[arg(long, global = true, env = "AK_MASTER_KEY_FILE")]
    pub(crate) master_key_file: Option<PathBuf>,
    /// The issuer (project id) written to and required in tokens.
    #[arg(long, global = true, env = "AK_ISSUER", default_value = "ak")]
    pub(crate) issuer: String,
    /// Print Descope-shaped JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a key and print its cleartext (shown this once only).
    Create(CreateArgs),
    /// Show one key.
    Load {
        /// The key id.
        id: String,
    },
    /// List keys matching filters.
    Search(SearchArgs),
    /// Change a key's name and, if given, other fields (absent options keep their value).
    Update(UpdateArgs),
    /// Activate keys (a batch when several ids are given).
    Activate(Ids),
    /// Deactivate keys (a batch when several ids are given).
    Deactivate(Ids),
    /// Delete keys, irreversibly (a batch when several ids are given).
    Delete(Ids),
    /// Give a key a new secret and print it.
    Rotate {
        /// The key id.
        id: String,
        /// How long the previous secret keeps working, e.g. `10m` (default: not at all).
        #[arg(long, value_parser = parse::duration)]
        grace: Option<std::time::Duration>,
    },
    /// Exchange an access key, read from standard input or AK_ACCESS_KEY, for a session token.
    Exchange(ExchangeArgs),
    /// Verify a session token, read from standard input or AK_SESSION_TOKEN, and print its claims.
    Verify,
    /// Print the public signing keys as a JWKS document.
    Jwks,
    /// Manage the token signing keys.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// Run the main job end to end in a temporary store, narrating each step.
    Demo,
    /// Serve Descope's access-key REST API on the store (stops on SIGINT/SIGTERM).
    Serve(crate::serve::ServeArgs),
    /// Manage the management keys that authenticate calls to the server's management API.
    #[command(subcommand)]
    ManagementKey(crate::management_key::ManagementKeyCommand),
    /// Manage the webhooks that receive audit events (delivered by `ak serve`).
    #[command(subcommand)]
    Webhook(crate::webhook::WebhookCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum SigningKeyCommand {
    /// Add a new signing key: published in the JWKS at once, signing after the delay (default:
    /// at once). Older keys keep verifying until retired.
    Rotate {
        /// Sign with the new key only after this long (e.g. 10m), so verifiers that cache the
        /// JWKS see it before any token uses it. At most 30d.
        #[arg(long, value_parser = parse::duration)]
        activate_after: Option<std::time::Duration>,
    },
    /// Remove a key: its tokens stop verifying on every node. The key signing now is refused.
    Retire {
        /// The key's `kid` (it may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// List the keys of the set: signing, pending (with activation time) or verifying.
    List,
    /// Write the set to a key set file (JSON, mode 0600; it holds the private keys).
    Export {
        /// The file to write (replaced if it exists).
        file: PathBuf,
    },
    /// Import a key set file: into an empty store it becomes the set; otherwise its new keys are
    /// added as verification-only keys.
    Import {
        /// The key set file (mode 0600).
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct Ids {
    /// One or more key ids.
    #[arg(required = true)]
    pub(crate) ids: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct KeyFields {
    /// A description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// A project role (repeatable).
    #[arg(long = "role")]
    pub(crate) roles: Vec<String>,
    /// A tenant, optionally with roles: `T` or `T:R1,R2` (repeatable).
    #[arg(long = "tenant", value_parser = parse::tenant)]
    pub(crate) tenants: Vec<ak::KeyTenant>,
    /// A custom claim for the token, `K=JSON` (repeatable).
    #[arg(long = "claim", value_parser = parse::json_pair)]
    pub(crate) claims: Vec<(String, serde_json::Value)>,
    /// A custom attribute, `K=JSON` (repeatable).
    #[arg(long = "attr", value_parser = parse::json_pair)]
    pub(crate) attrs: Vec<(String, serde_json::Value)>,
    /// A permitted IP address or CIDR range (repeatable).
    #[arg(long = "ip", value_parser = parse::ip_rule)]
    pub(crate) ips: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The key's name.
    #[arg(long)]
    pub(crate) name: String,
    /// Expire after this long, e.g. `30d`, `12h`, `90m`.
    #[arg(long, value_parser = parse::duration, conflicts_with = "expires_at")]
    pub(crate) expires_in: Option<std::time::Duration>,
    /// Expire at this time: RFC 3339 or Unix seconds.
    #[arg(long, value_parser = parse::timestamp)]
    pub(crate) expires_at: Option<i64>,
    /// Bind the key to this user id.
    #[arg(long)]
    pub(crate) user: Option<String>,
    #[command(flatten)]
    pub(crate) fields: KeyFields,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The key id.
    pub(crate) id: String,
    /// The key's (new) name; required, as in Descope.
    #[arg(long)]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) fields: KeyFields,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// Keys in this tenant (repeatable: any of them).
    #[arg(long = "tenant")]
    pub(crate) tenants: Vec<String>,
    /// Keys bound to this user.
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Keys created by this principal.
    #[arg(long)]
    pub(crate) created_by: Option<String>,
    /// Keys with this custom attribute, `K=JSON` (repeatable: all must match).
    #[arg(long = "attr", value_parser = parse::json_pair)]
    pub(crate) attrs: Vec<(String, serde_json::Value)>,
    /// Keys whose name or description contains this text (ASCII case ignored).
    #[arg(long)]
    pub(crate) text: Option<String>,
    /// Keys with this status.
    #[arg(long, value_parser = ["active", "inactive"])]
    pub(crate) status: Option<String>,
    /// At most this many keys.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) limit: u32,
}

#[derive(Debug, Args)]
pub(crate) struct ExchangeArgs {
    /// An exchange-time claim placed under `nsec`, `K=JSON` (repeatable).
    #[arg(long = "claim", value_parser = parse::json_pair)]
    pub(crate) claims: Vec<(String, serde_json::Value)>,
    /// Select one of the key's tenants (it becomes `dct`).
    #[arg(long)]
    pub(crate) tenant: Option<String>,
    /// The client's IP address, checked against the key's permitted IPs.
    #[arg(long)]
    pub(crate) ip: Option<std::net::IpAddr>,
}
