//! The document covers both route tables, with the right security on each operation.

use super::*;

fn doc() -> serde_json::Value {
    serde_json::to_value(build()).unwrap()
}

#[test]
fn it_is_openapi_3_1_and_lists_every_route() {
    let d = doc();
    assert_eq!(d["openapi"], "3.1.0");
    for r in ROUTES {
        let path = match r.path {
            Path::Exact(all) => all[0].to_string(),
            Path::Around {
                prefix,
                param,
                suffix,
            } => format!("{prefix}{param}{suffix}"),
        };
        let m = r.method.as_str().to_ascii_lowercase();
        assert!(d["paths"][&path][&m].is_object(), "{m} {path}");
    }
    for e in ENDPOINTS {
        assert!(d["paths"][e.paths[0]]["post"].is_object(), "{}", e.paths[0]);
    }
}

#[test]
fn admin_operations_need_the_admin_token_and_public_ones_nothing() {
    let d = doc();
    let keys = &d["paths"]["/admin/keys"]["post"];
    assert_eq!(keys["security"][0], serde_json::json!({ ADMIN: [] }));
    assert!(keys["responses"]["401"].is_object());
    assert!(d["paths"]["/health"]["get"].get("security").is_none());
    let chat = &d["paths"]["/v1/chat/completions"]["post"];
    assert_eq!(chat["security"][0], serde_json::json!({ KEY: [] }));
    assert_eq!(
        d["components"]["securitySchemes"][ADMIN]["scheme"],
        "bearer"
    );
}

#[test]
fn every_reference_resolves_and_operation_ids_are_unique() {
    let d = doc();
    let text = d.to_string();
    let schemas = d["components"]["schemas"].as_object().unwrap();
    for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &part[..part.find('"').unwrap()];
        assert!(schemas.contains_key(name), "unresolved {name}");
    }
    let mut ids = std::collections::HashSet::new();
    for item in d["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op.get("operationId") {
                assert!(ids.insert(id.to_string()), "duplicate {id}");
            }
        }
    }
}
