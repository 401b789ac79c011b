//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::handlers::{exchange, management, public};

/// The API description served at `GET /openapi.json`.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "ak",
        description = "Descope's access-key API, served by ak. Authenticate with `Authorization: Bearer <projectId>:<managementKey>` (management) or `Bearer <projectId>:<accessKey>` (exchange)."
    ),
    paths(
        management::create,
        management::load,
        management::search,
        management::update,
        management::activate,
        management::activate_batch,
        management::deactivate,
        management::deactivate_batch,
        management::delete,
        management::delete_batch,
        management::rotate,
        management::license,
        exchange::exchange,
        public::jwks,
        public::healthz,
        public::openapi,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("<projectId>:<key>")
                    .build(),
            ),
        );
    }
}
