//! The generated schemas accept the example shop in `crds/examples/` and reject every example in
//! `crds/examples/invalid/` for the reason its `# expect:` line names. Admission is reproduced as the API
//! server does it: schema defaults first, then the OpenAPI schema (unknown fields refused, as
//! `kubectl apply --validate=strict` does), then the CEL rules (`x-kubernetes-validations`), evaluated with
//! Kubernetes' CEL libraries.

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

/// Every reason the API server would refuse `document`, as `field.path: message`.
fn admission_errors(document: &Value) -> Vec<String> {
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
    let mut errors: Vec<String> = validator
        .iter_errors(&defaulted)
        .map(|error| {
            let path = error.instance_path().to_string();
            let path = path.trim_start_matches('/').replace('/', ".");
            format!("{path}: {error}")
        })
        .collect();

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
            errors.push(failure.to_string());
        }
    }
    errors
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

/// The `# expect: ...` line of an invalid example.
fn expectation(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .find_map(|line| line.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{} has no `# expect:` line", path.display()))
        .to_owned()
}

#[test]
fn every_invalid_example_is_refused_for_the_reason_it_names() {
    let files = yaml_files(&examples_dir().join("invalid"));
    assert!(files.len() >= 20, "the invalid examples are there");
    for path in files {
        let expected = expectation(&path);
        let documents = yaml_documents(&path);
        assert_eq!(
            documents.len(),
            1,
            "{}: one resource per invalid example",
            path.display()
        );
        let errors = admission_errors(&documents[0]);
        assert!(
            errors.iter().any(|error| error.contains(&expected)),
            "{} should be refused with `{expected}`, got {errors:#?}",
            path.display()
        );
    }
}

/// A CEL rule of a definition: where it sits, its text, and the schema node it is evaluated against.
struct CelRule {
    path: String,
    rule: String,
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
    for CelRule { path, rule, node } in &rules {
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
