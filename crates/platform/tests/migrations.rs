//! `bazaar migrate` guarantees: each component's migrations land in its own schema, once, however many
//! pods run them at the same time, and running them again changes nothing.

use std::borrow::Cow;

use bazaar_platform::db;
use bazaar_testkit::TestEnv;
use sqlx::migrate::{Migration, MigrationType, Migrator};

fn shop_migrations() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        20261121000000,
        Cow::Borrowed("shelves"),
        MigrationType::Simple,
        sqlx::SqlSafeStr::into_sql_str(
            "CREATE TABLE shelves (id int PRIMARY KEY); INSERT INTO shelves VALUES (1);",
        ),
        false,
    )])
}

#[tokio::test]
async fn concurrent_migrations_apply_each_version_exactly_once_and_a_rerun_changes_nothing() {
    let env = TestEnv::start().await.expect("infrastructure");
    let schema = env.schema("shop");
    let migrator = shop_migrations();

    let runs = (0..4).map(|_| {
        let pool = db::pool("shop", &env.database_url, &schema, 2).expect("pool");
        let schema = schema.clone();
        let migrator = &migrator;
        async move { db::migrate(&pool, &schema, migrator).await }
    });
    for result in futures::future::join_all(runs).await {
        result.expect("every concurrent run succeeds");
    }
    let pool = db::pool("shop", &env.database_url, &schema, 2).expect("pool");
    db::migrate(&pool, &schema, &migrator).await.expect("rerun");

    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&pool)
            .await
            .expect("history");
    assert_eq!(
        versions,
        vec![1, 2, 20261121000000],
        "platform tables first, then the component's"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM shelves")
        .fetch_one(&pool)
        .await
        .expect("shelves");
    assert_eq!(rows, 1, "the data migration ran once");
    env.cleanup().await;
}

#[tokio::test]
async fn a_components_tables_live_in_its_own_schema_even_when_its_name_is_a_reserved_word() {
    let env = TestEnv::start().await.expect("infrastructure");
    // `order` is reserved in SQL; the order component's schema must still work.
    let schema = format!("{}_order", env.id);
    let pool = db::pool("order", &env.database_url, &schema, 2).expect("pool");
    db::migrate(&pool, &schema, &shop_migrations())
        .await
        .expect("migrate");

    let found: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'shelves' \
         AND table_schema LIKE $1",
    )
    .bind(format!("{}%", env.id))
    .fetch_all(&pool)
    .await
    .expect("catalog query");
    assert_eq!(found, vec![schema]);
    env.cleanup().await;
}

#[tokio::test]
async fn a_schema_name_that_could_inject_sql_is_refused() {
    let result = db::pool("shop", "postgres://localhost/x", "shop; DROP TABLE x", 1);
    assert!(matches!(result, Err(db::DbError::SchemaName(_))));
}
