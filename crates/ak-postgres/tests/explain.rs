//! On a populated table (20,000 keys, analysed), a point load is one primary-key lookup and
//! every search filter walks an index: no plan has a sequential scan.

mod common;

use ak_core::{ExpiryFilter, KeyStatus, KeyStore, SearchQuery, SortField};
use serde_json::json;

const KEYS: i64 = 20_000;

fn queries() -> Vec<(&'static str, SearchQuery)> {
    let attributes = json!({"team": "team7"}).as_object().unwrap().clone();
    vec![
        ("everything", SearchQuery::default()),
        (
            "tenant",
            SearchQuery {
                tenant_ids: vec!["t17".into()],
                ..SearchQuery::default()
            },
        ),
        (
            "two tenants",
            SearchQuery {
                tenant_ids: vec!["t17".into(), "t18".into()],
                ..SearchQuery::default()
            },
        ),
        (
            "inactive",
            SearchQuery {
                status: Some(KeyStatus::Inactive),
                ..SearchQuery::default()
            },
        ),
        (
            "active",
            SearchQuery {
                status: Some(KeyStatus::Active),
                ..SearchQuery::default()
            },
        ),
        (
            "bound user",
            SearchQuery {
                bound_user_id: Some("u42".into()),
                ..SearchQuery::default()
            },
        ),
        (
            "created by",
            SearchQuery {
                created_by: Some("c7".into()),
                ..SearchQuery::default()
            },
        ),
        (
            "attributes",
            SearchQuery {
                custom_attributes: attributes,
                ..SearchQuery::default()
            },
        ),
        (
            "expired",
            SearchQuery {
                expiry: Some(ExpiryFilter::ExpiredAt(2_000_000)),
                ..SearchQuery::default()
            },
        ),
        (
            "text",
            SearchQuery {
                text: Some("name1".into()),
                ..SearchQuery::default()
            },
        ),
        (
            "tenant and status",
            SearchQuery {
                tenant_ids: vec!["t3".into()],
                status: Some(KeyStatus::Active),
                ..SearchQuery::default()
            },
        ),
    ]
}

/// The index a selective filter must be driven by.
fn selective_index(what: &str) -> Option<&'static str> {
    Some(match what {
        "tenant" | "two tenants" | "tenant and status" => "keys_by_tenant",
        "inactive" => "keys_by_status",
        "bound user" => "keys_by_bound_user",
        "created by" => "keys_by_created_by",
        "attributes" => "keys_by_attributes",
        _ => return None,
    })
}

/// Fills the key table of `schema` with [`KEYS`] generated keys `k1`, `k2`, ... named `name1`,
/// ...: `columns` get `values` (SQL over the series number `g`), and each body is a stored
/// template record's with the id replaced. Returns the table's qualified name.
fn generate_keys(
    admin: &mut postgres::Client,
    schema: &str,
    store: &dyn KeyStore,
    columns: &str,
    values: &str,
) -> String {
    store
        .insert(&ak_testkit::fixtures::record("template", "template", 1))
        .unwrap();
    let keys = format!("\"{schema}\".keys");
    admin
        .batch_execute(&format!(
            "INSERT INTO {keys} (id, name, {columns}, version, body)
             SELECT 'k' || g, 'name' || g, {values}, 1,
                    replace(t.body, '\"id\":\"template\"', '\"id\":\"k' || g || '\"')
               FROM generate_series(1, {KEYS}) AS g, (SELECT body FROM {keys} WHERE id = 'template') AS t"
        ))
        .unwrap();
    keys
}

#[test]
fn every_search_filter_and_the_point_load_use_an_index() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let store = schema.open();
    let keys = generate_keys(
        &mut admin,
        &schema.name,
        &store,
        "status, created_time, expire_time, created_by, bound_user_id, tenant_ids, attributes",
        "CASE WHEN g % 10 = 0 THEN 'inactive' ELSE 'active' END,
         1000000 + g,
         CASE WHEN g % 4 = 0 THEN 1500000 + g END,
         'c' || (g % 50),
         CASE WHEN g % 3 = 0 THEN NULL ELSE 'u' || (g % 700) END,
         ARRAY['t' || (g % 1000)],
         jsonb_build_object('team', 'team' || (g % 200))",
    );
    admin.batch_execute(&format!("ANALYZE {keys}")).unwrap();

    let point: Vec<String> = admin
        .query(
            &format!("EXPLAIN SELECT version, body FROM {keys} WHERE id = 'k777'"),
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(point[0].contains("Index Scan using keys_pkey"), "{point:?}");

    for (what, query) in queries() {
        for sort in [SortField::CreatedTime, SortField::Name] {
            for descending in [false, true] {
                let query = SearchQuery {
                    sort,
                    descending,
                    ..query.clone()
                };
                let first = store.search(&query).unwrap();
                let mut queries = vec![query.clone()];
                if let Some(cursor) = first.next_cursor {
                    queries.push(SearchQuery {
                        cursor: Some(cursor),
                        ..query.clone()
                    });
                }
                for query in queries {
                    let plan = store.explain_search(&query).unwrap();
                    if std::env::var("AKT_SHOW_PLANS").is_ok() {
                        println!("== {what} {sort:?} {descending}\n{plan}");
                    }
                    assert!(
                        !plan.contains("Seq Scan"),
                        "{what} ({sort:?}, descending {descending}, cursor {}): {plan}",
                        query.cursor.is_some()
                    );
                    assert!(plan.contains("Index"), "{what}: {plan}");
                    if let Some(index) = selective_index(what) {
                        assert!(plan.contains(index), "{what} does not use {index}: {plan}");
                    }
                }
            }
        }
    }
}

/// Before any `ANALYZE` the planner takes about 1% of the table for any tenant or attribute
/// filter; with a page of 10 it then walked the sort index of 20,000 keys, filtering every row,
/// to find the 10 keys of a small tenant. It takes a third of the table for an expiry range, and
/// walked the sort index the same way for `expiresBefore`. The first chunk must go through the
/// filter's index.
#[test]
fn before_analyze_a_small_selection_is_read_through_its_index() {
    let Some(mut admin) = common::admin() else { return };
    let schema = common::TempSchema::new();
    let store = schema.open();
    generate_keys(
        &mut admin,
        &schema.name,
        &store,
        "status, created_time, created_by, tenant_ids, attributes, expire_time",
        "'active', 1000000 + g, 'c' || (g % 50),
         ARRAY[CASE WHEN g <= 10 THEN 'few' ELSE 't' || (g % 1000) END],
         jsonb_build_object('team', CASE WHEN g <= 10 THEN 'few' ELSE 'team' || (g % 200) END),
         CASE WHEN g <= 10 THEN 500 + g WHEN g % 2 = 0 THEN NULL ELSE 2000000000 + g END",
    );
    let analysed: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE schemaname = $1 AND tablename = 'keys'",
            &[&schema.name],
        )
        .unwrap()
        .get(0);
    assert_eq!(analysed, 0, "the table must not have statistics yet");
    let attributes = json!({"team": "few"}).as_object().unwrap().clone();
    let selections = [
        (
            "keys_by_tenant",
            SearchQuery {
                tenant_ids: vec!["few".into()],
                ..SearchQuery::default()
            },
        ),
        (
            "keys_by_attributes",
            SearchQuery {
                custom_attributes: attributes,
                ..SearchQuery::default()
            },
        ),
        (
            "keys_by_expire_time",
            SearchQuery {
                expires_before: Some(1000),
                ..SearchQuery::default()
            },
        ),
        (
            "keys_by_expire_time",
            SearchQuery {
                expiry: Some(ExpiryFilter::ExpiredAt(1000)),
                ..SearchQuery::default()
            },
        ),
    ];
    for (index, query) in selections {
        for sort in [SortField::CreatedTime, SortField::Name] {
            for descending in [false, true] {
                let query = SearchQuery {
                    sort,
                    descending,
                    limit: 10,
                    ..query.clone()
                };
                let plan = store.explain_search(&query).unwrap();
                if std::env::var("AKT_SHOW_PLANS").is_ok() {
                    println!("== {index} {sort:?} {descending}\n{plan}");
                }
                assert!(
                    plan.contains(index),
                    "{index} ({sort:?}, descending {descending}): {plan}"
                );
                assert!(!plan.contains("Seq Scan"), "{index}: {plan}");
            }
        }
    }
}
