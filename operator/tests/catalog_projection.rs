//! The projection against real PostgreSQL: the example shop goes through the operator's reconcile code
//! (mapping, then the catalog's write module) into a migrated catalog schema; doing it again changes
//! nothing; a conflicting resource is rejected with an actionable reason; deleting removes the projection.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::path::Path;

use bazaar_catalog::write;
use bazaar_operator::offline::{Manifests, project_all};
use bazaar_operator::projection::{CatalogProjection, Kind, ObjectKey, PostgresCatalog};
use bazaar_operator::reconcile::status::Outcome;
use bazaar_platform::db;
use bazaar_testkit::TestEnv;

async fn migrated_catalog() -> (TestEnv, PostgresCatalog) {
    let env = TestEnv::start().await.expect("test infrastructure");
    let schema = env.schema("catalog");
    let pool = db::pool("catalog", &env.database_url, &schema, 5).expect("pool");
    db::migrate(&pool, &schema, bazaar_catalog::COMPONENT.migrations)
        .await
        .expect("catalog migrations");
    (env, PostgresCatalog::new(pool))
}

fn example_shop() -> Manifests {
    Manifests::read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/examples"))
        .expect("examples")
}

fn changed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Projected { changed: true, .. })
}

#[tokio::test]
async fn the_example_shop_is_projected_once_and_then_left_unchanged() {
    let (env, catalog) = migrated_catalog().await;
    let shop = example_shop();

    let first = project_all(&shop, &catalog).await;
    assert_eq!(
        first.len(),
        13,
        "5 products, 3 stores, 2 fulfillments, 3 promotions"
    );
    for (key, outcome) in &first {
        let outcome = outcome.as_ref().unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(
            changed(outcome),
            "{key} is written the first time: {outcome:?}"
        );
    }
    let second = project_all(&shop, &catalog).await;
    for (key, outcome) in &second {
        let outcome = outcome.as_ref().unwrap();
        assert!(
            matches!(outcome, Outcome::Projected { changed: false, .. }),
            "{key} is unchanged the second time: {outcome:?}"
        );
    }

    let mut conn = catalog.pool().acquire().await.unwrap();
    let product = write::load_product(&mut conn, "shop", "trail-runner")
        .await
        .unwrap()
        .expect("projected");
    assert_eq!(product.variants.len(), 4);
    assert_eq!(
        product.variants[0]
            .prices
            .iter()
            .map(|m| m.minor())
            .collect::<Vec<_>>(),
        [11900, 12900]
    );
    let fulfillment = write::load_fulfillment(&mut conn, "shop", "us-domestic")
        .await
        .unwrap()
        .expect("projected");
    assert_eq!(
        fulfillment.source_stores,
        ["downtown-sf", "reno-warehouse"],
        "resolved from the selector"
    );
    let promotion = write::load_promotion(&mut conn, "shop", "summer-20")
        .await
        .unwrap()
        .expect("projected");
    assert_eq!(promotion.code.as_deref(), Some("SUMMER20"));
    drop(conn);
    env.cleanup().await;
}

#[tokio::test]
async fn a_product_claiming_another_products_sku_is_rejected_and_deletion_removes_the_projection() {
    let (env, catalog) = migrated_catalog().await;
    let shop = example_shop();
    project_all(&shop, &catalog).await;

    let copycat = Manifests::parse(
        r#"
apiVersion: bazaar.dev/v1alpha1
kind: Product
metadata: {name: road-runner, namespace: shop}
spec:
  title: Road Runner
  category: footwear/running
  variants: [{sku: TR-42-BLK, prices: {USD: "99.00"}}]
"#,
        "inline",
    )
    .unwrap();
    let results = project_all(&copycat, &catalog).await;
    let [(_, Ok(Outcome::Rejected { rejection, .. }))] = results.as_slice() else {
        panic!("rejected: {results:?}");
    };
    assert_eq!(rejection.reason, "SkuConflict");
    assert_eq!(
        rejection.message,
        "SKU TR-42-BLK already belongs to Product shop/trail-runner; remove it there first or choose another SKU"
    );

    let key = ObjectKey {
        kind: Kind::Product,
        namespace: "shop".into(),
        name: "trail-runner".into(),
    };
    assert_eq!(catalog.remove(&key).await.unwrap(), write::Removed::Deleted);
    assert_eq!(
        catalog.remove(&key).await.unwrap(),
        write::Removed::Absent,
        "removing is idempotent"
    );
    let mut conn = catalog.pool().acquire().await.unwrap();
    assert!(
        write::load_product(&mut conn, "shop", "trail-runner")
            .await
            .unwrap()
            .is_none()
    );
    drop(conn);

    // With the SKU free again, the copycat is accepted.
    let results = project_all(&copycat, &catalog).await;
    assert!(
        matches!(results[0].1, Ok(Outcome::Projected { changed: true, .. })),
        "{results:?}"
    );
    env.cleanup().await;
}
