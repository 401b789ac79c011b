//! A tenant selection larger than the bounded filter-first read (2,000 candidates) is searched
//! by the plain statement: every page, in every order, is the same as for a small selection.

mod common;

use ak_core::{KeyRecord, KeyStore, KeyTenant, SearchQuery, SortField};

/// Keys of the large tenant: more than the filter-first read takes.
const LARGE: usize = 2_050;

/// Every third key belongs to the small tenant as well.
fn record(index: usize) -> KeyRecord {
    // Names and creation times in different orders, with ties on both, so that either sort and
    // the id tie-break all matter.
    let mut record = ak_testkit::fixtures::record(
        &format!("k{index:05}"),
        &format!("name {:04}", (index * 7919) % 1_000),
        i64::try_from(index / 3).unwrap(),
    );
    let mut tenants = vec![KeyTenant::new("large", ["reader"])];
    if index.is_multiple_of(3) {
        tenants.push(KeyTenant::new("small", ["reader"]));
    }
    record.key.key_tenants = tenants;
    record
}

/// Every page of `query` in turn, as ids.
fn all_pages(store: &impl KeyStore, query: &SearchQuery) -> Vec<String> {
    let mut ids = Vec::new();
    let mut query = query.clone();
    loop {
        let page = store.search(&query).unwrap();
        ids.extend(page.items.iter().map(|record| record.key.id.clone()));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return ids,
        }
    }
}

#[test]
fn a_large_tenant_pages_like_a_small_one() {
    if common::admin().is_none() {
        return;
    }
    let schema = common::TempSchema::new();
    let store = schema.open();
    let records: Vec<KeyRecord> = (0..LARGE).map(record).collect();
    for record in &records {
        store.insert(record).unwrap();
    }
    for tenant in ["large", "small"] {
        for sort in [SortField::CreatedTime, SortField::Name] {
            for descending in [false, true] {
                let query = SearchQuery {
                    tenant_ids: vec![tenant.into()],
                    sort,
                    descending,
                    limit: 700,
                    ..SearchQuery::default()
                };
                let mut expected: Vec<&KeyRecord> = records
                    .iter()
                    .filter(|record| query.matches(&record.key))
                    .collect();
                expected.sort_by(|a, b| query.compare(&a.key, &b.key));
                let expected: Vec<String> = expected.iter().map(|record| record.key.id.clone()).collect();
                assert_eq!(
                    expected.len(),
                    if tenant == "large" {
                        LARGE
                    } else {
                        LARGE.div_ceil(3)
                    }
                );
                assert_eq!(
                    all_pages(&store, &query),
                    expected,
                    "{tenant} ({sort:?}, descending {descending})"
                );
            }
        }
    }
}
