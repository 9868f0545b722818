//! Enough of JSON Schema to hold our outputs to the schemas in docs/schema: type (one or a
//! list), const, enum, properties, required, additionalProperties (false or a schema), items,
//! minItems, maxItems, minimum, maximum, oneOf. Anything else in a schema is refused, so that a
//! schema cannot quietly ask for more than this checks.

use serde_json::Value;

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "oneOf",
];

/// Every way `value` breaks `schema`, each with its JSON path (empty: it conforms).
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(schema, value, "$", &mut found);
    found
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other} in the schema"),
    }
}

fn check(schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        panic!("schema at {at} is not an object");
    };
    for key in schema.keys() {
        assert!(
            KNOWN.contains(&key.as_str()),
            "schema keyword {key} at {at} is not checked"
        );
    }
    let mut fail = |what: String| found.push(format!("{at}: {what}"));
    if let Some(t) = schema.get("type") {
        let names: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type at {at}"),
        };
        if !names.iter().any(|n| type_matches(n, value)) {
            fail(format!("{value} is not of type {t}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            fail(format!("{value} is not {c}"));
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            fail(format!("{value} is not one of {allowed:?}"));
        }
    }
    if let (Some(min), Some(v)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if v < min {
            fail(format!("{v} < minimum {min}"));
        }
    }
    if let (Some(max), Some(v)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if v > max {
            fail(format!("{v} > maximum {max}"));
        }
    }
    if let Some(Value::Array(options)) = schema.get("oneOf") {
        let matching = options
            .iter()
            .filter(|o| violations(o, value).is_empty())
            .count();
        if matching != 1 {
            fail(format!(
                "{value} matches {matching} of oneOf, not exactly 1"
            ));
        }
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    found.push(format!("{at}: required {name} is missing"));
                }
            }
        }
        for (name, v) in object {
            let path = format!("{at}.{name}");
            match (
                properties.and_then(|p| p.get(name)),
                schema.get("additionalProperties"),
            ) {
                (Some(sub), _) => check(sub, v, &path, found),
                (None, Some(Value::Bool(false))) => {
                    found.push(format!("{path}: not in the schema"))
                }
                (None, Some(extra @ Value::Object(_))) => check(extra, v, &path, found),
                (None, _) => {}
            }
        }
    }
    if let Value::Array(list) = value {
        let mut fail = |what: String| found.push(format!("{at}: {what}"));
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (list.len() as u64) < min {
                fail(format!("{} items < minItems {min}", list.len()));
            }
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            if list.len() as u64 > max {
                fail(format!("{} items > maxItems {max}", list.len()));
            }
        }
        if let Some(items) = schema.get("items") {
            for (k, v) in list.iter().enumerate() {
                check(items, v, &format!("{at}[{k}]"), found);
            }
        }
    }
}

/// A schema from docs/schema.
pub fn load(name: &str) -> Value {
    let path = super::repo().join("docs/schema").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `value` must conform to docs/schema/`name`.
pub fn assert_conforms(name: &str, value: &Value) {
    let found = violations(&load(name), value);
    assert!(found.is_empty(), "{name}:\n{}", found.join("\n"));
}
