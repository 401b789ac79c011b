//! The shared conformance suite and the model-based test, each test in its own schema on the
//! test server (see `common`); without a server they say "skipped" and run on memory stores.

mod common;

use std::sync::Arc;

use ak_core::KeyStore;
use ak_testkit::StoreFactory;

/// A fresh schema; every `open()` re-opens (reconnects to) the same schema.
fn factory() -> impl StoreFactory {
    let schema = common::schema();
    let memory = ak_testkit::memory_factory();
    move || -> Arc<dyn KeyStore> {
        match &schema {
            Some(schema) => Arc::new(schema.open()),
            None => memory.open(),
        }
    }
}

mod keys {
    ak_testkit::keystore_conformance!(crate::factory());
}

mod management {
    use std::sync::Arc;

    use ak_testkit::management::{ManagementStoreFactory, Stores};

    fn factory() -> impl ManagementStoreFactory {
        let schema = crate::common::schema();
        let memory = ak_testkit::management::memory_factory();
        move || match &schema {
            Some(schema) => Stores::of(Arc::new(schema.open())),
            None => memory.open(),
        }
    }

    ak_testkit::management_key_conformance!(factory());
}

mod signing {
    use std::sync::Arc;

    use ak_testkit::signing::{SigningStoreFactory, SigningStores};

    fn factory() -> impl SigningStoreFactory {
        let schema = crate::common::schema();
        let memory = ak_testkit::signing::memory_factory();
        move || match &schema {
            Some(schema) => SigningStores::of(Arc::new(schema.open())),
            None => memory.open(),
        }
    }

    ak_testkit::signing_key_conformance!(factory());
}

mod audit {
    use std::sync::Arc;

    use ak_testkit::audit::{AuditStoreFactory, AuditStores};

    fn factory() -> impl AuditStoreFactory {
        let schema = crate::common::schema();
        let memory = ak_testkit::audit::memory_factory();
        move || match &schema {
            Some(schema) => AuditStores::of(Arc::new(schema.open())),
            None => memory.open(),
        }
    }

    ak_testkit::audit_event_conformance!(factory());
}

mod usage {
    use std::sync::Arc;

    use ak_testkit::usage::{UsageStoreFactory, UsageStores};

    fn factory() -> impl UsageStoreFactory {
        let schema = crate::common::schema();
        let memory = ak_testkit::usage::memory_factory();
        move || match &schema {
            Some(schema) => UsageStores::of(Arc::new(schema.open())),
            None => memory.open(),
        }
    }

    ak_testkit::key_usage_conformance!(factory());
}

mod webhooks {
    use std::sync::Arc;

    use ak_testkit::webhook::{WebhookStoreFactory, WebhookStores};

    fn factory() -> impl WebhookStoreFactory {
        let schema = crate::common::schema();
        let memory = ak_testkit::webhook::memory_factory();
        move || match &schema {
            Some(schema) => WebhookStores::of(Arc::new(schema.open())),
            None => memory.open(),
        }
    }

    ak_testkit::webhook_conformance!(factory());
}
