//! The OpenAPI 3 document of the simulator, served at [`PATH`] (no token needed).
//!
//! It is generated from the route table (`routes::ROUTES`: the operation table joined with the
//! simulator's documentation) that also builds the router, so it lists exactly the routes served: parameters (query, body as JSON or form), the 200 body's
//! schema (inferred from the table's reference-shaped example, which it also carries), and the
//! error statuses, all in the simulator's one error shape.

use std::sync::LazyLock;

use axum::Json;
use serde_json::{Map, Value, json};

use super::routes::{ROUTES, RouteDef};
use crate::aeapi::ops::{Auth, Param, ParamIn};

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

static DOCUMENT: LazyLock<Value> = LazyLock::new(build);

/// The document (built once).
pub fn document() -> &'static Value {
    &DOCUMENT
}

/// GET /openapi.json.
pub async fn serve() -> Json<Value> {
    Json(document().clone())
}

/// A JSON schema describing `v` (types of every field, recursively).
pub fn schema_of(v: &Value) -> Value {
    match v {
        Value::Null => json!({"nullable": true}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(a) => json!({
            "type": "array",
            "items": a.first().map(schema_of).unwrap_or_else(|| json!({})),
        }),
        Value::Object(o) => {
            let props: Map<String, Value> =
                o.iter().map(|(k, v)| (k.clone(), schema_of(v))).collect();
            json!({"type": "object", "properties": props})
        }
    }
}

/// The schema of a parameter: its type, the values the simulator takes (`enum`, integer
/// bounds, from the operation table), and `minLength: 1` for a required string (the simulator
/// takes an empty value as absent).
fn param_schema(p: &Param) -> Value {
    let mut schema = match p.kind {
        "object" => json!({"type": "object"}),
        "array" => json!({"type": "array", "items": {}}),
        other => json!({"type": other}),
    };
    if let Some(values) = p.allowed() {
        schema["enum"] = json!(values);
    } else if p.kind == "string" && p.required {
        schema["minLength"] = json!(1);
    }
    if let Some((lo, hi)) = p.bounds() {
        schema["minimum"] = json!(lo);
        schema["maximum"] = json!(hi);
    }
    schema
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => {
            "A required parameter is missing, or a parameter has a value the operation does not take"
        }
        401 => {
            "No, garbled or expired token; unknown agent, registeredId, engagement or customer; another agent's engagement"
        }
        403 => {
            "The site is not among the token's sites; with `strict: true`, no or a garbled token"
        }
        422 => "Too late: withdrawn offer, closed engagement",
        _ => "Error",
    }
}

/// A body's schema; OpenAPI 3.0 wants at least one name in `required`, or no `required`.
fn object_schema(properties: Map<String, Value>, required: &[Value]) -> Value {
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = Value::Array(required.to_vec());
    }
    schema
}

/// The `responses` of an operation: its 200 (with the example and its schema), the long-poll's
/// 204, and its error statuses in the error shape.
fn responses(def: &RouteDef) -> Value {
    let mut responses = Map::new();
    let ok = match def
        .doc
        .example
        .and_then(|e| serde_json::from_str::<Value>(e).ok())
    {
        Some(example) => json!({
            "description": "Success",
            "content": {
                "application/json": {"schema": schema_of(&example), "example": example},
                "application/xml": {"schema": {"type": "object", "xml": {"name": def.doc.root}}},
            },
        }),
        None => json!({"description": "Success (no body)"}),
    };
    responses.insert("200".into(), ok);
    if def.op == "messages.get" {
        responses.insert(
            "204".into(),
            json!({"description": "Nothing pending within the long-poll hold"}),
        );
    }
    // With `strict: true` any bearer call without a usable token is 403 (src/sim/README.md).
    let mut errors = def.doc.errors.to_vec();
    if def.operation.auth == Auth::Bearer && !errors.contains(&403) {
        errors.push(403);
        errors.sort_unstable();
    }
    for status in &errors {
        // The token endpoint answers in the OAuth2 shape, always JSON; the others in the
        // simulator's error shape, as XML under `<error>` with `output=xml`.
        let content = if def.op == "token" {
            json!({"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}})
        } else {
            json!({
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
                "application/xml": {"schema": {"$ref": "#/components/schemas/Error"}},
            })
        };
        responses.insert(
            status.to_string(),
            json!({"description": reason(*status), "content": content}),
        );
    }
    Value::Object(responses)
}

/// The OpenAPI operation object of a route.
fn operation(def: &RouteDef) -> Value {
    let mut parameters: Vec<Value> = Vec::new();
    let mut body_props = Map::new();
    let mut body_required: Vec<Value> = Vec::new();
    // A form body carries no structure: object and array parameters travel in JSON bodies (or
    // as JSON text, which the form schema does not describe).
    let mut form_props = Map::new();
    let mut form_required: Vec<Value> = Vec::new();
    let mut json_only = false;
    for p in def.params() {
        match p.location {
            // The token's `Authorization` is the `clientBasic` security scheme (OpenAPI ignores
            // an `Authorization` header parameter).
            ParamIn::Header => {}
            ParamIn::Query => parameters.push(json!({
                "name": p.name,
                "in": p.location.as_str(),
                "required": p.required,
                "schema": param_schema(&p),
            })),
            _ => {
                let structured = matches!(p.kind, "object" | "array");
                body_props.insert(p.name.to_string(), param_schema(&p));
                if !structured {
                    form_props.insert(p.name.to_string(), param_schema(&p));
                }
                if p.required {
                    body_required.push(p.name.into());
                    if structured {
                        json_only = true;
                    } else {
                        form_required.push(p.name.into());
                    }
                }
            }
        }
    }
    if def.op != "token" {
        parameters.push(json!({
            "name": "output", "in": "query", "required": false,
            "schema": {"type": "string", "enum": ["json", "xml"], "default": "json"},
        }));
    }
    let mut op = Map::new();
    op.insert("operationId".into(), def.op.into());
    op.insert("summary".into(), def.doc.summary.into());
    let tag = if def.path.contains("/customer/") {
        "customer"
    } else if def.op == "token" {
        "auth"
    } else {
        "agent"
    };
    op.insert("tags".into(), json!([tag]));
    op.insert("parameters".into(), Value::Array(parameters));
    if !body_props.is_empty() {
        let mut content = Map::new();
        if def.op != "token" {
            let schema = object_schema(body_props, &body_required);
            content.insert("application/json".into(), json!({"schema": schema}));
        }
        if !json_only {
            let schema = object_schema(form_props, &form_required);
            content.insert(
                "application/x-www-form-urlencoded".into(),
                json!({"schema": schema}),
            );
        }
        op.insert(
            "requestBody".into(),
            json!({"required": !body_required.is_empty(), "content": content}),
        );
    }
    op.insert("responses".into(), responses(def));
    let security = match def.operation.auth {
        Auth::ClientBasic => json!([{"clientBasic": []}]),
        Auth::None => json!([]),
        Auth::Bearer => json!([{"bearer": []}]),
    };
    op.insert("security".into(), security);
    Value::Object(op)
}

fn build() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for def in ROUTES.iter() {
        let entry = paths
            .entry(def.path.to_string())
            .or_insert_with(|| json!({}));
        if let Some(obj) = entry.as_object_mut() {
            obj.insert(def.method.as_str().to_ascii_lowercase(), operation(def));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "AEAPI simulator (aeapi-harness)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Nuance Agent Engagement API v2 as the embedded simulator serves it. \
                Behaviour where the reference is silent is the simulator's choice: see src/sim/README.md.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "clientBasic": {"type": "http", "scheme": "basic"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "xml": {"name": "error"},
                    "required": ["status", "error", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "parameter": {"type": "string"},
                    },
                },
                "OAuthError": {
                    "type": "object",
                    "required": ["error", "error_description"],
                    "properties": {
                        "error": {"type": "string"},
                        "error_description": {"type": "string"},
                    },
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_with_its_required_parameters() {
        let doc = document();
        for def in ROUTES.iter() {
            let op = &doc["paths"][def.path][def.method.as_str().to_ascii_lowercase()];
            assert_eq!(op["operationId"], def.op, "{def:?}");
        }
        let t = &doc["paths"]["/engagementAPI/v2/agent/transferEngagement"]["post"];
        assert_eq!(
            t["requestBody"]["content"]["application/json"]["schema"]["required"],
            json!(["agentId", "engagementId"])
        );
        assert_eq!(t["parameters"][0]["name"], "registeredId");
        assert_eq!(
            t["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["status"],
            json!({"type": "string"})
        );
        assert!(t["responses"]["422"].is_object());
        assert_eq!(
            t["responses"]["422"]["content"]["application/xml"]["schema"],
            json!({"$ref": "#/components/schemas/Error"})
        );
    }

    #[test]
    fn enums_bounds_and_required_come_from_the_operation_table() {
        let doc = document();
        let body = |path: &str, media: &str| {
            doc["paths"][path]["post"]["requestBody"]["content"][media]["schema"].clone()
        };
        let status = body("/engagementAPI/v2/agent/agentStatus", "application/json");
        assert_eq!(
            status["properties"]["state"],
            json!({"type": "string", "enum": ["available", "busy"]})
        );
        assert_eq!(
            status["properties"]["agentId"],
            json!({"type": "string", "minLength": 1})
        );
        let custom = body("/engagementAPI/v2/agent/customSettings", "application/json");
        assert!(custom.get("required").is_none(), "{custom}");
        assert_eq!(
            custom["properties"]["fontSize"],
            json!({"type": "integer", "minimum": 0, "maximum": 100})
        );
        // An object travels only in JSON bodies.
        let script = &doc["paths"]["/engagementAPI/v2/agent/customScript"]["post"]["requestBody"];
        assert!(script["content"]["application/x-www-form-urlencoded"].is_null());
        let token = &doc["paths"]["/oauth-server/oauth/token"]["post"];
        assert_eq!(token["parameters"], json!([]));
        assert_eq!(token["security"], json!([{"clientBasic": []}]));
        assert_eq!(
            token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]
                ["grant_type"]["enum"],
            json!(["client_credentials", "password"])
        );
        // No `required: []` anywhere (invalid OpenAPI 3.0).
        let text = doc.to_string();
        assert!(!text.contains(r#""required":[]"#));
    }
}
