//! Admission without an API server, in milliseconds: the generated schemas accept the example shop in
//! `crds/examples/` and refuse every example in `crds/examples/invalid/`, and every CEL rule compiles
//! within the cost budget. Admission is emulated as the API server does it: schema defaults first, then
//! the OpenAPI schema (unknown fields refused, as `kubectl apply --validate=strict` does; JSON Schema
//! via `jsonschema`), then the CEL rules (`x-kubernetes-validations`), evaluated with Kubernetes' CEL
//! libraries (`kube-cel`).
//!
//! The real kube-apiserver is the authority: `real_apiserver.rs` checks that it refuses each invalid
//! example with the message its `# expect:` line quotes. The emulation words its errors differently, so
//! here only the refusal itself is checked; it is the quick check while editing a schema or a CEL rule,
//! and the only one on a machine without the kube-api build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bazaar_operator::resources::{Fulfillment, Product, Promotion, Store};
use kube::CustomResourceExt;
use serde_json::{Value, json};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/examples")
}

/// The openAPIV3Schema of every kind, from the generated definitions.
fn schemas() -> BTreeMap<String, Value> {
    bazaar_operator::crdgen::definitions()
        .into_iter()
        .map(|crd| {
            let version = &crd.spec.versions[0];
            let schema = version
                .schema
                .as_ref()
                .and_then(|schema| schema.open_api_v3_schema.as_ref())
                .expect("every version has a schema");
            (
                crd.spec.names.kind.clone(),
                serde_json::to_value(schema).expect("schema serializes"),
            )
        })
        .collect()
}

/// An OpenAPI v3 schema as JSON Schema: `nullable` becomes a `null` type, and objects with declared
/// properties refuse others (the API server would silently drop them, hiding a typo).
fn to_json_schema(openapi: &Value) -> Value {
    fn walk(node: &mut Value) {
        let Some(object) = node.as_object_mut() else {
            return;
        };
        if object.remove("nullable") == Some(Value::Bool(true))
            && let Some(kind) = object.get("type").cloned()
        {
            object.insert("type".into(), json!([kind, "null"]));
        }
        if object.contains_key("properties") && !object.contains_key("additionalProperties") {
            object.insert("additionalProperties".into(), Value::Bool(false));
        }
        for key in ["properties", "patternProperties"] {
            if let Some(Value::Object(children)) = object.get_mut(key) {
                children.values_mut().for_each(walk);
            }
        }
        for key in ["items", "additionalProperties", "not"] {
            if let Some(child) = object.get_mut(key) {
                walk(child);
            }
        }
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(children)) = object.get_mut(key) {
                children.iter_mut().for_each(walk);
            }
        }
    }
    let mut schema = openapi.clone();
    walk(&mut schema);
    // apiVersion, kind and metadata are checked by the API server itself, not by the CRD's schema.
    let properties = schema["properties"]
        .as_object_mut()
        .expect("root properties");
    for key in ["apiVersion", "kind", "metadata"] {
        properties.entry(key).or_insert(json!({}));
    }
    schema
}

/// Every reason the emulated admission refuses `document` for, as `field.path: message`: by the OpenAPI
/// schema, and by the CEL rules.
struct Refusals {
    schema: Vec<String>,
    cel: Vec<String>,
}

fn admission(document: &Value) -> Refusals {
    let kind = document["kind"].as_str().expect("document has a kind");
    let openapi = schemas()
        .remove(kind)
        .unwrap_or_else(|| panic!("no CRD for kind {kind}"));
    let defaulted = kube_cel::apply_defaults(&openapi, document);

    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&to_json_schema(&openapi))
        .expect("the generated schema is a valid JSON Schema");
    let schema = validator
        .iter_errors(&defaulted)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = path.trim_start_matches('/').replace('/', ".");
            format!("{path}: {error}")
        })
        .collect();

    let mut cel = Vec::new();
    if let Err(failures) = kube_cel::Validator::new().validate(&openapi, &defaulted, None) {
        for failure in failures.iter() {
            // A rule that does not compile is a bug in the definitions, never a reason to refuse an object.
            // (A rule over a missing required field fails to evaluate; the API server refuses those too.)
            assert!(
                matches!(
                    failure.kind,
                    kube_cel::ErrorKind::ValidationFailure | kube_cel::ErrorKind::EvaluationError
                ),
                "CEL rule `{}` is broken: {}",
                failure.rule,
                failure.message
            );
            cel.push(failure.to_string());
        }
    }
    Refusals { schema, cel }
}

fn admission_errors(document: &Value) -> Vec<String> {
    let Refusals { mut schema, cel } = admission(document);
    schema.extend(cel);
    schema
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

fn yaml_files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .expect("directory readable")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

fn example_shop() -> Vec<Value> {
    yaml_files(&examples_dir())
        .iter()
        .flat_map(|path| yaml_documents(path))
        .collect()
}

fn name_of(document: &Value) -> String {
    format!(
        "{}/{}",
        document["kind"].as_str().unwrap_or("?"),
        document["metadata"]["name"].as_str().unwrap_or("?")
    )
}

#[test]
fn every_example_resource_is_admitted() {
    for document in example_shop() {
        let errors = admission_errors(&document);
        assert!(
            errors.is_empty(),
            "{} is refused: {errors:#?}",
            name_of(&document)
        );
    }
}

#[test]
fn every_example_resource_reads_into_its_rust_type() {
    for document in example_shop() {
        let parsed = match document["kind"].as_str() {
            Some("Product") => serde_json::from_value::<Product>(document.clone()).map(drop),
            Some("Store") => serde_json::from_value::<Store>(document.clone()).map(drop),
            Some("Fulfillment") => {
                serde_json::from_value::<Fulfillment>(document.clone()).map(drop)
            }
            Some("Promotion") => serde_json::from_value::<Promotion>(document.clone()).map(drop),
            other => panic!("unexpected kind {other:?} in the examples"),
        };
        parsed.unwrap_or_else(|e| panic!("{}: {e}", name_of(&document)));
    }
}

#[test]
fn the_example_shop_is_a_realistic_one() {
    let shop = example_shop();
    let count = |kind: &str| shop.iter().filter(|d| d["kind"] == kind).count();
    let stores_of_type = |store_type: &str| {
        shop.iter()
            .filter(|d| d["kind"] == "Store" && d["spec"]["type"] == store_type)
            .count()
    };
    assert!(count("Product") >= 4, "several products");
    assert!(
        shop.iter()
            .filter(|d| d["kind"] == "Product")
            .any(|d| d["spec"]["variants"]
                .as_array()
                .is_some_and(|v| v.len() > 1)),
        "some product has several variants"
    );
    assert_eq!(stores_of_type("Retail"), 2, "two retail stores");
    assert_eq!(stores_of_type("Warehouse"), 1, "one warehouse");
    assert_eq!(count("Fulfillment"), 2, "two fulfillment policies");
    assert_eq!(count("Promotion"), 3, "three promotions");
    assert!(
        shop.iter()
            .all(|d| d["apiVersion"] == "bazaar.dev/v1alpha1"
                && d["metadata"]["namespace"] == "shop"),
        "every example is a bazaar.dev/v1alpha1 resource in namespace shop"
    );
}

/// The `# expect: ...` line of an invalid example: the real API server's message.
fn expectation(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .find_map(|line| line.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{} has no `# expect:` line", path.display()))
        .to_owned()
}

/// Refused by the check the real API server names: a CEL rule when its message quotes one of the rules'
/// messages, the OpenAPI schema otherwise. The emulation's wording is not compared.
#[test]
fn every_invalid_example_is_refused_by_the_check_the_api_server_names() {
    let rule_messages: Vec<String> = cel_rules()
        .into_iter()
        .filter_map(|rule| rule.message)
        .collect();
    let files = yaml_files(&examples_dir().join("invalid"));
    assert!(files.len() >= 20, "the invalid examples are there");
    let (mut by_cel, mut by_schema) = (0, 0);
    for path in files {
        let expected = expectation(&path);
        let documents = yaml_documents(&path);
        assert_eq!(
            documents.len(),
            1,
            "{}: one resource per invalid example",
            path.display()
        );
        let refusals = admission(&documents[0]);
        if rule_messages
            .iter()
            .any(|message| expected.contains(message.as_str()))
        {
            by_cel += 1;
            assert!(
                !refusals.cel.is_empty(),
                "{}: the API server refuses it by a CEL rule (`{expected}`), kube-cel admits it",
                path.display()
            );
        } else {
            by_schema += 1;
            assert!(
                !refusals.schema.is_empty(),
                "{}: the API server refuses it by the OpenAPI schema (`{expected}`), the emulation admits it",
                path.display()
            );
        }
    }
    assert!(
        by_cel >= 10 && by_schema >= 10,
        "CEL: {by_cel}, schema: {by_schema}"
    );
}

/// A CEL rule of a definition: where it sits, its text, and the schema node it is evaluated against.
struct CelRule {
    path: String,
    rule: String,
    message: Option<String>,
    node: Value,
}

fn cel_rules() -> Vec<CelRule> {
    fn collect(node: &Value, path: &str, rules: &mut Vec<CelRule>) {
        let Some(object) = node.as_object() else {
            return;
        };
        for rule in object
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            rules.push(CelRule {
                path: path.to_owned(),
                rule: rule["rule"].as_str().expect("rule text").to_owned(),
                message: rule["message"].as_str().map(str::to_owned),
                node: node.clone(),
            });
        }
        if let Some(Value::Object(properties)) = object.get("properties") {
            for (name, child) in properties {
                collect(child, &format!("{path}.{name}"), rules);
            }
        }
        for key in ["items", "additionalProperties"] {
            if let Some(child) = object.get(key) {
                collect(child, &format!("{path}[{key}]"), rules);
            }
        }
    }
    let mut rules = Vec::new();
    for (kind, schema) in schemas() {
        collect(&schema, &kind, &mut rules);
    }
    rules
}

#[test]
fn every_cel_rule_compiles_and_stays_within_the_cost_budget() {
    let rules = cel_rules();
    assert!(
        rules.len() >= 15,
        "the cross-field rules are in the schemas"
    );
    for CelRule {
        path, rule, node, ..
    } in &rules
    {
        let compiled = kube_cel::compile_schema(node);
        assert!(
            !compiled.has_errors(),
            "{path}: `{rule}` does not compile: {:?}",
            compiled.compilation_errors()
        );
        // Every list and map a rule iterates is bounded (maxItems, maxProperties, maxLength), so that the
        // API server's cost estimate accepts the definition.
        let warnings = kube_cel::estimate_rule_cost(rule, &compiled);
        assert!(warnings.is_empty(), "{path}: `{rule}`: {warnings:#?}");
    }
}

#[test]
fn the_schemas_name_their_resources_as_kubectl_users_expect() {
    let names = |crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition| {
        (
            crd.spec.names.plural,
            crd.spec.names.short_names.unwrap_or_default(),
            crd.spec.names.categories.unwrap_or_default(),
            crd.spec.scope,
        )
    };
    let bazaar = vec!["bazaar".to_string()];
    assert_eq!(
        names(Product::crd()),
        (
            "products".into(),
            vec!["prod".into()],
            bazaar.clone(),
            "Namespaced".into()
        )
    );
    assert_eq!(
        names(Store::crd()),
        (
            "stores".into(),
            vec!["st".into()],
            bazaar.clone(),
            "Namespaced".into()
        )
    );
    assert_eq!(
        names(Fulfillment::crd()),
        (
            "fulfillments".into(),
            vec!["ful".into()],
            bazaar.clone(),
            "Namespaced".into()
        )
    );
    assert_eq!(
        names(Promotion::crd()),
        (
            "promotions".into(),
            vec!["promo".into()],
            bazaar,
            "Namespaced".into()
        )
    );
    for crd in bazaar_operator::crdgen::definitions() {
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version
                .subresources
                .as_ref()
                .is_some_and(|s| s.status.is_some()),
            "{} has a status subresource",
            crd.spec.names.kind
        );
        let columns: Vec<_> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|column| column.name.as_str())
            .collect();
        assert!(
            columns.contains(&"Ready"),
            "{} shows Ready in kubectl get",
            crd.spec.names.kind
        );
    }
}
