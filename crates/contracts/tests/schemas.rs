//! The JSON Schemas committed under `schemas/` are what the Rust types generate: a change to an event
//! contract shows up in review as a schema diff. Regenerate with `BAZAAR_BLESS=1 cargo test -p bazaar-contracts`.

use std::path::PathBuf;

#[test]
fn committed_event_schemas_match_the_rust_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let bless = std::env::var_os("BAZAAR_BLESS").is_some();
    let mut stale = Vec::new();
    let expected: Vec<String> = bazaar_contracts::schema::all()
        .into_iter()
        .map(|(event_type, schema)| {
            let file = format!("{event_type}.json");
            let text = serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n";
            let path = dir.join(&file);
            if bless {
                std::fs::write(&path, &text).expect("write schema");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(file.clone());
            }
            file
        })
        .collect();
    let mut committed: Vec<String> = std::fs::read_dir(&dir)
        .expect("schemas dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.ends_with(".json"))
        .collect();
    committed.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert!(
        stale.is_empty(),
        "schemas out of date: {stale:?}; run BAZAAR_BLESS=1 cargo test -p bazaar-contracts"
    );
    assert_eq!(
        committed, expected_sorted,
        "a committed schema has no event type, or one is missing"
    );
}
