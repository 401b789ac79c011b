//! What each command does.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use ak::signing::{MASTER_KEY_FILE_VAR, MASTER_KEY_VAR, MasterKey, SharedSigningKeys, SigningKeyInfo};
use ak::{AccessKeys, CreateKey, ExchangeOptions, KeyManager, KeyStatus, KeyStore, SearchQuery, UpdateKey};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use ak::Clock as _;
use ak::crates::core::audit::{AuditEvent, AuditEventStore as _, AuditQuery, AuditRecorder, actions};

use crate::args::{
    AuditArgs, Cli, Command, CreateArgs, ExchangeArgs, KeyFields, SearchArgs, SigningKeyCommand, UpdateArgs,
};
use crate::error::CliError;
use crate::key_file;
use crate::output;
use crate::secret_io::{self, SecretLine};
use crate::store_url::AllViews;

/// The environment variable an access key may be passed in (never an argument).
pub(crate) const ACCESS_KEY_VAR: &str = "AK_ACCESS_KEY";
/// The environment variable a session token may be passed in (never an argument).
pub(crate) const SESSION_TOKEN_VAR: &str = "AK_SESSION_TOKEN";

pub(crate) struct Context {
    pub(crate) cli: Cli,
    out: std::io::Stdout,
    /// The store, opened once per command (sled allows one handle per directory).
    views: std::cell::OnceCell<AllViews>,
    /// Records the management calls of this command; written before the command returns.
    recorder: std::cell::OnceCell<AuditRecorder>,
}

impl Context {
    pub(crate) fn new(cli: Cli) -> Self {
        Self {
            cli,
            out: std::io::stdout(),
            views: std::cell::OnceCell::new(),
            recorder: std::cell::OnceCell::new(),
        }
    }

    pub(crate) fn views(&self) -> Result<&AllViews, CliError> {
        if let Some(views) = self.views.get() {
            return Ok(views);
        }
        let views = self.cli.store.open_all()?;
        Ok(self.views.get_or_init(|| views))
    }

    /// Records a management call of this command in the audit trail, as `cli:$USER`.
    /// Records one management call of this command in the store's audit trail (written before
    /// the command exits), as made by `cli:$USER`.
    pub(crate) fn audit<T, E>(
        &self,
        action: &str,
        ids: &[String],
        result: &Result<T, E>,
    ) -> Result<(), CliError> {
        let views = self.views()?;
        let recorder = self
            .recorder
            .get_or_init(|| AuditRecorder::new(Arc::clone(&views.audit)));
        let now = ak::SystemClock.now_millis();
        let event = AuditEvent::new(action, creator(), now).with_keys(ids.iter().cloned());
        recorder.record(match result {
            Ok(_) => event,
            Err(_) => event.failed("error"),
        });
        Ok(())
    }

    pub(crate) fn print(&self, text: &str) -> Result<(), CliError> {
        let mut out = self.out.lock();
        writeln!(out, "{text}")?;
        Ok(())
    }

    pub(crate) fn print_json(&self, value: &Value) -> Result<(), CliError> {
        self.print(&serde_json::to_string_pretty(value).unwrap_or_default())
    }

    fn store(&self) -> Result<Arc<dyn KeyStore>, CliError> {
        Ok(Arc::clone(&self.views()?.keys))
    }

    fn manager(&self) -> Result<KeyManager, CliError> {
        Ok(KeyManager::builder(self.store()?)
            .build()
            .map_err(ak::ConfigError::from)?)
    }

    /// The key set file to import: `--keys`, else the one beside a local store.
    pub(crate) fn keys_path(&self) -> Option<PathBuf> {
        self.cli
            .keys
            .clone()
            .or_else(|| self.cli.store.default_keys_path())
    }

    /// The master key: `AK_MASTER_KEY`, else `--master-key-file`, else the file beside a local
    /// store (created on first use, mode 0600). A remote (PostgreSQL) store has no such file:
    /// without a configured key it is an error, before the store is touched.
    pub(crate) fn master_key(&self) -> Result<MasterKey, CliError> {
        if let Some(text) = std::env::var_os(MASTER_KEY_VAR) {
            let text =
                Zeroizing::new(text.into_string().map_err(|_| {
                    CliError::Input(format!("{MASTER_KEY_VAR}: a master key is 64 hex digits"))
                })?);
            return MasterKey::parse(&text)
                .map_err(|_| CliError::Input(format!("{MASTER_KEY_VAR}: a master key is 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`")));
        }
        if let Some(path) = &self.cli.master_key_file {
            return Ok(MasterKey::from_file(path)?);
        }
        match self.cli.store.default_master_key_path() {
            Some(path) => Ok(MasterKey::load_or_create(&path)?),
            None => Err(CliError::Input(format!(
                "a PostgreSQL store needs a master key, the same on every node: set {MASTER_KEY_VAR} \
                 (64 hex digits, e.g. from `openssl rand -hex 32`) or --master-key-file \
                 ({MASTER_KEY_FILE_VAR}); no key file is created beside a remote store"
            ))),
        }
    }

    /// The store's shared signing keys under `master`; a key set file (`--keys`, or the one
    /// beside a local store), if it exists, is imported first when the store holds none yet.
    pub(crate) fn shared_signing_keys(
        &self,
        store: Arc<dyn ak::SigningKeyStore>,
        master: MasterKey,
    ) -> Result<SharedSigningKeys, CliError> {
        let shared = SharedSigningKeys::new(store, master);
        if !shared.is_stored()?
            && let Some(path) = self.keys_path()
            && path.exists()
        {
            shared.import(&key_file::load(&path)?)?;
        }
        Ok(shared)
    }

    fn service(&self) -> Result<AccessKeys, CliError> {
        let master = self.master_key()?;
        let views = self.views()?;
        Ok(AccessKeys::builder()
            .shared_store(Arc::clone(&views.keys))
            .shared_signing_keys(self.shared_signing_keys(Arc::clone(&views.signing), master)?)
            .audit_store(Arc::clone(&views.audit))
            .usage_store(Arc::clone(&views.usage))
            .actor(creator())
            .issuer(&self.cli.issuer)
            .build()?)
    }

    pub(crate) fn run(&self) -> Result<(), CliError> {
        let result = self.run_command();
        // Every recorded event is written before the command ends.
        if let Some(recorder) = self.recorder.get() {
            recorder.shutdown();
        }
        result
    }

    fn run_command(&self) -> Result<(), CliError> {
        match &self.cli.command {
            Command::Create(args) => self.create(args),
            Command::Load { id } => self.show_key(&self.manager()?.load(id)?),
            Command::Search(args) => self.search(args),
            Command::Update(args) => self.update(args),
            Command::Activate(ids) => self.set_status(&ids.ids, KeyStatus::Active),
            Command::Deactivate(ids) => self.set_status(&ids.ids, KeyStatus::Inactive),
            Command::Delete(ids) => {
                let result = self.manager()?.delete_batch(&ids.ids);
                self.audit(actions::ACCESS_KEY_DELETE, &ids.ids, &result)?;
                result?;
                self.done(&format!("Deleted {} key(s).", ids.ids.len()))
            }
            Command::Rotate { id, grace } => {
                let result = self
                    .manager()?
                    .rotate(id, grace.map_or(0, |grace| grace.as_secs()));
                self.audit(actions::ACCESS_KEY_ROTATE, std::slice::from_ref(id), &result)?;
                self.show_created("Rotated", &result?)
            }
            Command::Audit(args) => self.audit_trail(args),
            Command::Exchange(args) => self.exchange(args),
            Command::Verify => self.verify(),
            Command::Jwks => self.print(&self.service()?.jwks().to_json()),
            Command::SigningKey(command) => self.signing_key(command),
            Command::Demo => crate::demo::run(self.cli.json),
            Command::Serve(args) => crate::serve::run(self, args),
            Command::ManagementKey(command) => crate::management_key::run(self, command),
            Command::Webhook(command) => crate::webhook::run(self, command),
        }
    }

    /// One key: `{"key": …}` with `--json`, else every field on its own line.
    fn show_key(&self, key: &ak::AccessKey) -> Result<(), CliError> {
        if self.cli.json {
            self.print_json(&json!({ "key": key }))
        } else {
            self.print(&output::key_details(key))
        }
    }

    fn done(&self, message: &str) -> Result<(), CliError> {
        if self.cli.json {
            self.print("{}")
        } else {
            self.print(message)
        }
    }

    fn create(&self, args: &CreateArgs) -> Result<(), CliError> {
        let manager = self.manager()?;
        let now = manager.clock().now();
        let expire_time = match (args.expires_in, args.expires_at) {
            (Some(after), _) => Some(
                i64::try_from(after.as_secs())
                    .ok()
                    .and_then(|secs| now.checked_add(secs))
                    .ok_or_else(|| CliError::Input("--expires-in is too far in the future".into()))?,
            ),
            (None, at) => at,
        };
        let KeyFields {
            description,
            roles,
            tenants,
            claims,
            attrs,
            ips,
        } = &args.fields;
        let request = CreateKey {
            name: args.name.clone(),
            description: description.clone(),
            expire_time,
            role_names: roles.clone(),
            key_tenants: tenants.clone(),
            user_id: args.user.clone(),
            custom_claims: to_map(claims),
            custom_attributes: to_map(attrs),
            permitted_ips: ips.clone(),
            created_by: Some(creator()),
        };
        let result = manager.create(request);
        let ids: Vec<String> = result.iter().map(|created| created.key.id.clone()).collect();
        self.audit(actions::ACCESS_KEY_CREATE, &ids, &result)?;
        self.show_created("Created", &result?)
    }

    fn show_created(&self, verb: &str, created: &ak::CreatedKey) -> Result<(), CliError> {
        let cleartext = created.cleartext.expose_secret();
        let line = if self.cli.json {
            #[derive(serde::Serialize)]
            struct Shown<'a> {
                cleartext: &'a str,
                key: &'a ak::AccessKey,
            }
            // Pretty JSON of the key, indented one level deeper, fits in twice its own size.
            let key_len = serde_json::to_vec_pretty(&created.key).map_or(0, |json| json.len());
            SecretLine::json(
                2 * key_len + cleartext.len() + 64,
                &Shown {
                    cleartext,
                    key: &created.key,
                },
            )?
        } else {
            let (id, name) = (&created.key.id, &created.key.name);
            SecretLine::format(
                160 + id.len() + name.len() + cleartext.len(),
                format_args!(
                    "{verb} access key {id} ({name}).\n\nCleartext key, shown this once and stored nowhere:\n\n    {cleartext}\n"
                ),
            )?
        };
        Ok(line.write_to(self.out.lock())?)
    }

    fn search(&self, args: &SearchArgs) -> Result<(), CliError> {
        let manager = self.manager()?;
        let mut query = SearchQuery {
            tenant_ids: args.tenants.clone(),
            bound_user_id: args.user.clone(),
            created_by: args.created_by.clone(),
            custom_attributes: to_map(&args.attrs),
            text: args.text.clone(),
            status: args.status.as_deref().and_then(KeyStatus::parse),
            not_used_since: args.not_used_since.map(|ago| before_now(&manager, ago)),
            expires_before: args
                .expires_within
                .map(|within| manager.clock().now().saturating_add(secs(within))),
            ..SearchQuery::default()
        };
        let wanted = usize::try_from(args.limit).unwrap_or(usize::MAX);
        let mut keys = Vec::new();
        loop {
            query.limit = u32::try_from(wanted - keys.len())
                .unwrap_or(u32::MAX)
                .min(ak::limits::MAX_PAGE_SIZE);
            let page = manager.search(&query)?;
            for skipped in &page.skipped {
                // A warning, not a failure: the other keys are listed.
                eprintln!(
                    "warning: skipped an unreadable stored record{}: {}",
                    skipped.id.as_ref().map(|id| format!(" {id}")).unwrap_or_default(),
                    skipped.reason
                );
            }
            keys.extend(page.items);
            match page.next_cursor {
                Some(cursor) if keys.len() < wanted => query.cursor = Some(cursor),
                _ => break,
            }
        }
        if self.cli.json {
            self.print_json(&json!({ "keys": keys }))
        } else {
            self.print(&output::key_table(&keys))
        }
    }

    fn update(&self, args: &UpdateArgs) -> Result<(), CliError> {
        let KeyFields {
            description,
            roles,
            tenants,
            claims,
            attrs,
            ips,
        } = &args.fields;
        // Absent options keep the stored value; a given option replaces it.
        let request = UpdateKey {
            id: args.id.clone(),
            name: args.name.clone(),
            description: description.clone(),
            role_names: (!roles.is_empty()).then(|| roles.clone()),
            key_tenants: (!tenants.is_empty()).then(|| tenants.clone()),
            custom_claims: (!claims.is_empty()).then(|| to_map(claims)),
            custom_attributes: (!attrs.is_empty()).then(|| to_map(attrs)),
            permitted_ips: (!ips.is_empty()).then(|| ips.clone()),
        };
        let id = request.id.clone();
        let result = self.manager()?.update(request);
        self.audit(actions::ACCESS_KEY_UPDATE, &[id], &result)?;
        self.show_key(&result?)
    }

    fn audit_trail(&self, args: &AuditArgs) -> Result<(), CliError> {
        let now_ms = ak::SystemClock.now_millis();
        let mut query = AuditQuery {
            key_ids: args.key_ids.clone(),
            actions: args.actions.clone(),
            excluded_actions: args.excluded_actions.clone(),
            actor: args.actor.clone(),
            text: args.text.clone(),
            from: args
                .since
                .map(|ago| now_ms.saturating_sub(secs(ago).saturating_mul(1000))),
            ..AuditQuery::default()
        };
        query.validate().map_err(ak::ManageError::from)?;
        let store = Arc::clone(&self.views()?.audit);
        let wanted = usize::try_from(args.limit).unwrap_or(usize::MAX);
        let mut events = Vec::new();
        loop {
            query.limit = u32::try_from(wanted - events.len())
                .unwrap_or(u32::MAX)
                .min(ak::limits::MAX_PAGE_SIZE);
            let page = store.search_audit_events(&query)?;
            events.extend(page.items);
            match page.next_cursor {
                Some(cursor) if events.len() < wanted => query.cursor = Some(cursor),
                _ => break,
            }
        }
        if self.cli.json {
            self.print_json(&json!({ "audits": events }))
        } else {
            self.print(&output::audit_table(&events))
        }
    }

    fn set_status(&self, ids: &[String], status: KeyStatus) -> Result<(), CliError> {
        let manager = self.manager()?;
        let (action, result) = match status {
            KeyStatus::Active => (actions::ACCESS_KEY_ACTIVATE, manager.activate_batch(ids)),
            KeyStatus::Inactive => (actions::ACCESS_KEY_DEACTIVATE, manager.deactivate_batch(ids)),
        };
        self.audit(action, ids, &result)?;
        result?;
        let verb = if status == KeyStatus::Active {
            "Activated"
        } else {
            "Deactivated"
        };
        self.done(&format!("{verb} {} key(s).", ids.len()))
    }

    fn exchange(&self, args: &ExchangeArgs) -> Result<(), CliError> {
        let presented = read_access_key()?;
        let options = ExchangeOptions {
            custom_claims: to_map(&args.claims),
            selected_tenant: args.tenant.clone(),
            client_ip: args.ip,
        };
        let response = self.service()?.exchange(&presented, &options)?;
        let capacity = response.session_jwt.len() + 128;
        let line = if self.cli.json {
            SecretLine::json(capacity, &response)?
        } else {
            SecretLine::format(capacity, format_args!("{}", response.session_jwt))?
        };
        Ok(line.write_to(self.out.lock())?)
    }

    fn verify(&self) -> Result<(), CliError> {
        let token = read_secret_input(
            SESSION_TOKEN_VAR,
            "a session token (pipe it in, or set AK_SESSION_TOKEN)",
        )?;
        let verified = self.service()?.validate_session(&token)?;
        self.print_json(&serde_json::to_value(verified.claims()).unwrap_or_default())
    }

    fn signing_key(&self, command: &SigningKeyCommand) -> Result<(), CliError> {
        let master = self.master_key()?;
        let shared = self.shared_signing_keys(Arc::clone(&self.views()?.signing), master)?;
        match command {
            SigningKeyCommand::Rotate { activate_after } => {
                let info = shared.rotate(activate_after.unwrap_or_default())?;
                if self.cli.json {
                    self.print_json(&serde_json::to_value(&info).unwrap_or_default())
                } else if activate_after.is_some_and(|after| !after.is_zero()) {
                    self.print(&format!(
                        "New signing key {} is published in the JWKS; it signs from {}. Older keys still verify until retired.",
                        info.kid,
                        output::time(info.activate_at)
                    ))
                } else {
                    self.print(&format!(
                        "New signing key {} is active; older keys still verify until retired.",
                        info.kid
                    ))
                }
            }
            SigningKeyCommand::Retire { kid } => {
                shared.retire(kid)?;
                self.done(&format!(
                    "Retired signing key {kid}; tokens it signed no longer verify (every node, after its refresh)."
                ))
            }
            SigningKeyCommand::List => {
                let keys = shared.list()?;
                if self.cli.json {
                    self.print_json(&json!({ "keys": keys }))
                } else {
                    self.print(&signing_key_table(&keys))
                }
            }
            SigningKeyCommand::Export { file } => {
                key_file::replace(file, &shared.export()?)?;
                self.done(&format!(
                    "Wrote the signing key set to {} (mode 0600).",
                    file.display()
                ))
            }
            SigningKeyCommand::Import { file } => {
                let added = shared.import(&key_file::load(file)?)?;
                if self.cli.json {
                    self.print_json(&json!({ "added": added }))
                } else {
                    self.print(&format!(
                        "Imported {added} signing key(s) from {}.",
                        file.display()
                    ))
                }
            }
        }
    }
}

fn to_map(pairs: &[(String, Value)]) -> Map<String, Value> {
    pairs.iter().cloned().collect()
}

/// Who is creating keys: the local user, as `cli:<user>`.
fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Now minus `ago`, in Unix seconds.
fn before_now(manager: &KeyManager, ago: std::time::Duration) -> i64 {
    manager.clock().now().saturating_sub(secs(ago))
}

pub(crate) fn creator() -> String {
    let user = std::env::var("USER").unwrap_or_default();
    let user: String = user.chars().filter(|c| !c.is_control()).take(100).collect();
    if user.is_empty() {
        "cli".to_owned()
    } else {
        format!("cli:{user}")
    }
}

/// The access key from `AK_ACCESS_KEY`, else standard input; never from an argument.
fn read_access_key() -> Result<Zeroizing<String>, CliError> {
    read_secret_input(ACCESS_KEY_VAR, "an access key (pipe it in, or set AK_ACCESS_KEY)")
}

/// Most bytes read from standard input for a key or a token (both are far shorter).
const MAX_STDIN_SECRET_BYTES: usize = 64 * 1024;

/// A secret from environment variable `var`, else standard input, trimmed; never from an
/// argument (argv is readable by every local user).
fn read_secret_input(var: &str, what: &str) -> Result<Zeroizing<String>, CliError> {
    let (text, source) = match std::env::var(var) {
        Ok(value) => (Zeroizing::new(value), var),
        Err(_) => (
            secret_io::read_secret(std::io::stdin().lock(), MAX_STDIN_SECRET_BYTES, what)?,
            "standard input",
        ),
    };
    let trimmed = Zeroizing::new(text.trim().to_owned());
    if trimmed.is_empty() {
        return Err(CliError::Input(format!("expected {what} on {source}")));
    }
    Ok(trimmed)
}

/// One line per signing key: kid, status, activation time.
fn signing_key_table(keys: &[SigningKeyInfo]) -> String {
    keys.iter()
        .map(|key| {
            let status = serde_json::to_value(key.status)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!(
                "{}  {status:<9}  activates {}",
                key.kid,
                output::time(key.activate_at)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
