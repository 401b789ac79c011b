//! The JSON shapes match Descope's wire format.

use ak_core::{AccessKey, CreateKey, KeyStatus, KeyTenant, UpdateKey};
use serde_json::json;

#[test]
fn access_key_serializes_with_descope_names_and_explicit_empties() {
    let key = AccessKey {
        id: "K1".into(),
        name: "n".into(),
        description: String::new(),
        role_names: Vec::new(),
        key_tenants: vec![KeyTenant::new("t1", ["r"])],
        status: KeyStatus::Active,
        created_time: 1_700_000_000,
        expire_time: None,
        created_by: String::new(),
        bound_user_id: None,
        custom_claims: serde_json::Map::new(),
        custom_attributes: serde_json::Map::new(),
        permitted_ips: Vec::new(),
        last_used_time: None,
        last_used_ip: None,
    };
    let value = serde_json::to_value(&key).unwrap();
    assert_eq!(
        value,
        json!({
            "id": "K1", "name": "n", "description": "", "roleNames": [],
            "keyTenants": [{"tenantId": "t1", "roleNames": ["r"]}],
            "status": "active", "createdTime": 1_700_000_000, "expireTime": 0, "createdBy": "",
            "boundUserId": "", "customClaims": {}, "customAttributes": {}, "permittedIps": []
        })
    );
    let back: AccessKey = serde_json::from_value(value).unwrap();
    assert_eq!(back, key);

    // Last use appears only once the key was used.
    let used = AccessKey {
        last_used_time: Some(1_700_000_500),
        last_used_ip: Some("10.0.0.1".into()),
        ..key
    };
    let value = serde_json::to_value(&used).unwrap();
    assert_eq!(value["lastUsedTime"], 1_700_000_500);
    assert_eq!(value["lastUsedIp"], "10.0.0.1");
    assert_eq!(serde_json::from_value::<AccessKey>(value).unwrap(), used);
}

#[test]
fn create_requests_accept_every_sdks_encoding_of_empty() {
    // go sends nulls and "", py sends [] and nulls, node omits keys.
    let go = json!({"name": "k", "description": "", "expireTime": 0, "roleNames": null, "keyTenants": [],
        "userId": "", "customClaims": null, "permittedIps": null, "customAttributes": null});
    let py = json!({"name": "k", "expireTime": 0, "roleNames": [], "keyTenants": [], "userId": null,
        "customClaims": null, "description": null, "permittedIps": null, "customAttributes": null});
    let node = json!({"name": "k", "expireTime": 0});
    for body in [go, py, node] {
        let request: CreateKey = serde_json::from_value(body.clone()).unwrap();
        let expected_description = if body["description"] == "" {
            Some(String::new())
        } else {
            None
        };
        assert_eq!(
            request,
            CreateKey {
                description: expected_description,
                ..CreateKey::named("k")
            },
            "{body}"
        );
    }
    let tenants: CreateKey =
        serde_json::from_value(json!({"name": "k", "keyTenants": [{"tenantId": "t", "roleNames": null}]}))
            .unwrap();
    assert_eq!(tenants.key_tenants, [KeyTenant::new("t", Vec::<String>::new())]);
}

#[test]
fn created_by_cannot_be_injected_through_a_request_body() {
    let request: CreateKey = serde_json::from_value(json!({"name": "k", "createdBy": "mallory"})).unwrap();
    assert_eq!(request.created_by, None);
}

#[test]
fn update_distinguishes_absent_from_empty() {
    let update: UpdateKey =
        serde_json::from_value(json!({"id": "K1", "name": "n", "roleNames": [], "customClaims": {}}))
            .unwrap();
    assert_eq!(update.role_names, Some(Vec::new()));
    assert_eq!(update.custom_claims, Some(serde_json::Map::new()));
    assert_eq!(update.description, None);
    assert_eq!(update.permitted_ips, None);
}

#[test]
fn json_numbers_round_trip_bit_for_bit() {
    // Found by the claims_validation fuzz target: without serde_json's `float_roundtrip`, `1e-030`
    // parsed one ulp off and came back from a token as a different number.
    for text in [
        "1e-030",
        "9.999999999999999e-31",
        "0.1",
        "5e-324",
        "1.7976931348623157e308",
        "123456.789e3",
    ] {
        let claims: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&format!(r#"{{"n":{text}}}"#)).unwrap();
        let expected: f64 = text.parse().unwrap();
        assert_eq!(claims["n"].as_f64(), Some(expected), "{text}");
        let again: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&serde_json::to_string(&claims).unwrap()).unwrap();
        assert_eq!(again, claims, "{text}");
    }
}
