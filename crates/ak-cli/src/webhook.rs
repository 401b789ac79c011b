//! `ak webhook add|list|delete`: URLs that receive audit events, signed (delivered by `ak serve`).

use clap::Subcommand;
use serde_json::json;

use ak::webhook::{Webhook, Webhooks};

use crate::commands::{Context, creator};
use crate::error::CliError;
use crate::output::time;

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Register a URL that receives matching audit events as signed POSTs; prints its id and
    /// signing secret (shown this once only).
    Add {
        /// The receiver: an http or https URL (at most 2048 characters, no user:password@).
        url: String,
        /// Deliver only this action, or actions starting with a prefix given as `prefix.*`
        /// (repeatable; default: every action), e.g. `--action accesskey.expiring`.
        #[arg(long = "action")]
        actions: Vec<String>,
    },
    /// List the webhooks (never their secrets).
    List,
    /// Delete a webhook; nothing more is delivered to it.
    Delete {
        /// The webhook id.
        id: String,
    },
}

fn webhooks(context: &Context) -> Result<Webhooks, CliError> {
    let store = context.cli.store.open_webhooks()?;
    Ok(Webhooks::new(store, context.master_key()?))
}

fn table(webhooks: &[Webhook]) -> String {
    let mut out = format!("{:<28}  {:<20}  {:<24}  {}\n", "ID", "CREATED", "ACTIONS", "URL");
    for webhook in webhooks {
        let actions = if webhook.actions.is_empty() {
            "*".to_owned()
        } else {
            webhook.actions.join(",")
        };
        out.push_str(&format!(
            "{:<28}  {:<20}  {:<24}  {}\n",
            webhook.id,
            time(webhook.created_time),
            actions,
            webhook.url
        ));
    }
    out.push_str(&format!("{} webhook(s)", webhooks.len()));
    out
}

pub(crate) fn run(context: &Context, command: &WebhookCommand) -> Result<(), CliError> {
    let webhooks = webhooks(context)?;
    match command {
        WebhookCommand::Add { url, actions } => {
            let created = webhooks.add(url, actions, &creator())?;
            if context.cli.json {
                return context.print_json(&json!({
                    "secret": created.secret.expose_secret(),
                    "webhook": created.webhook,
                }));
            }
            context.print(&format!(
                "Added webhook {id}.\n\nSigning secret, shown this once (the store keeps it only sealed):\n\n    {secret}\n\nVerify each delivery's webhook-signature header with it (Standard Webhooks).\nEvents are delivered by `ak serve` on this store.",
                id = created.webhook.id,
                secret = created.secret.expose_secret()
            ))
        }
        WebhookCommand::List => {
            let list = webhooks.list()?;
            if context.cli.json {
                context.print_json(&json!({ "webhooks": list }))
            } else {
                context.print(&table(&list))
            }
        }
        WebhookCommand::Delete { id } => {
            webhooks.delete_by(id, &creator())?;
            if context.cli.json {
                context.print("{}")
            } else {
                context.print(&format!("Deleted webhook {id}."))
            }
        }
    }
}
