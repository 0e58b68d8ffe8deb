//! The JSON Schema of the configuration file (`llm-gateway schema`), generated from the
//! [`Config`] types so it cannot drift from what the loader accepts.

use super::model::Config;

/// The JSON Schema of [`Config`].
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Config);
    serde_json::to_value(schema).unwrap_or_else(|e| {
        // Serializing a schema is infallible in practice; never panic on it.
        serde_json::json!({ "error": format!("cannot serialize the schema: {e}") })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_describes_the_sections() {
        let schema = json_schema();
        let props = schema.get("properties").and_then(|p| p.as_object());
        let names: Vec<&str> = props
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for section in [
            "server",
            "providers",
            "models",
            "pools",
            "key_map",
            "redis",
            "model_routing",
        ] {
            assert!(names.contains(&section), "{section} missing from {names:?}");
        }
        let text = schema.to_string();
        assert!(text.contains("azure_openai"), "provider types are listed");
        assert!(
            text.contains("\"additionalProperties\":false"),
            "unknown keys are rejected"
        );
    }
}
