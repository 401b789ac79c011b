//! `ak management-key create|list|delete`: the credentials of the server's management API.

use clap::Subcommand;
use serde_json::json;

use ak::crates::core::audit::actions;
use ak::{ManagementKey, ManagementKeys};

use crate::commands::{Context, creator};
use crate::error::CliError;
use crate::output::time;

#[derive(Debug, Subcommand)]
pub(crate) enum ManagementKeyCommand {
    /// Create a management key and print its cleartext (shown this once only).
    Create {
        /// The key's name.
        #[arg(long)]
        name: String,
        /// May only load and search access keys.
        #[arg(long)]
        read_only: bool,
    },
    /// List the management keys.
    List,
    /// Delete a management key; it stops working at the server's next request.
    Delete {
        /// The management key id.
        id: String,
    },
}

fn manager(context: &Context) -> Result<ManagementKeys, CliError> {
    // The context's one handle: sled allows one per directory, and the audit trail uses it too.
    let store = std::sync::Arc::clone(&context.views()?.management);
    Ok(ManagementKeys::new(store).map_err(ak::ConfigError::from)?)
}

fn table(keys: &[ManagementKey]) -> String {
    let mut out = format!("{:<26}  {:<10}  {:<20}  {}\n", "ID", "ACCESS", "CREATED", "NAME");
    for key in keys {
        let access = if key.read_only { "read-only" } else { "full" };
        out.push_str(&format!(
            "{:<26}  {:<10}  {:<20}  {}\n",
            key.id,
            access,
            time(key.created_time),
            key.name
        ));
    }
    out.push_str(&format!("{} management key(s)", keys.len()));
    out
}

pub(crate) fn run(context: &Context, command: &ManagementKeyCommand) -> Result<(), CliError> {
    let keys = manager(context)?;
    match command {
        ManagementKeyCommand::Create { name, read_only } => {
            let result = keys.create(name, *read_only, &creator());
            let ids: Vec<String> = result.iter().map(|created| created.key.id.clone()).collect();
            context.audit(actions::MANAGEMENT_KEY_CREATE, &ids, &result)?;
            let created = result?;
            if context.cli.json {
                return context.print_json(&json!({
                    "cleartext": created.cleartext.expose_secret(),
                    "key": created.key,
                }));
            }
            let access = if created.key.read_only {
                "read-only"
            } else {
                "full access"
            };
            context.print(&format!(
                "Created management key {id} ({name}, {access}).\n\nCleartext key, shown this once and stored nowhere:\n\n    {secret}\n\nUse it as `Authorization: Bearer <projectId>:<key>` (DESCOPE_MANAGEMENT_KEY in the SDKs).",
                id = created.key.id,
                name = created.key.name,
                secret = created.cleartext.expose_secret()
            ))
        }
        ManagementKeyCommand::List => {
            let list = keys.list()?;
            if context.cli.json {
                context.print_json(&json!({ "keys": list }))
            } else {
                context.print(&table(&list))
            }
        }
        ManagementKeyCommand::Delete { id } => {
            let result = keys.delete(id);
            context.audit(actions::MANAGEMENT_KEY_DELETE, std::slice::from_ref(id), &result)?;
            result?;
            if context.cli.json {
                context.print("{}")
            } else {
                context.print(&format!("Deleted management key {id}."))
            }
        }
    }
}
