//! The audit trail every component schema gets: an entry commits with its change or not at all, a
//! refused action is recorded once with the problem, nothing can change or remove an entry, and the list
//! filters.

use bazaar_platform::Problem;
use bazaar_platform::audit::{self, AuditEntry, AuditQuery, Outcome, RequestId};
use bazaar_platform::auth::{Claims, CurrentUser, Role};
use bazaar_platform::db;
use bazaar_testkit::TestEnv;
use sqlx::PgPool;
use sqlx::migrate::Migrator;

static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;

async fn schema(env: &TestEnv) -> PgPool {
    let schema = env.schema("shop");
    let pool = db::pool("shop", &env.database_url, &schema, 3).expect("pool");
    db::migrate(&pool, &schema, &NO_MIGRATIONS)
        .await
        .expect("migrate");
    pool
}

fn ops(id: &str) -> CurrentUser {
    CurrentUser::from(Claims::new(
        "issuer",
        "audience",
        id,
        vec![Role::Ops],
        std::time::Duration::from_secs(60),
    ))
}

#[tokio::test]
async fn an_entry_commits_with_its_change_or_not_at_all_and_can_never_be_changed() {
    let env = TestEnv::start().await.expect("infrastructure");
    let pool = schema(&env).await;
    let request = RequestId(Some("req-1".to_owned()));
    let entry = AuditEntry::new(&ops("ops-1"), &request, "order.pack", "order", "o-1")
        .before(serde_json::json!({"state": "confirmed"}))
        .after(serde_json::json!({"state": "packed"}));

    let mut tx = pool.begin().await.expect("begin");
    entry.record(&mut tx).await.expect("recorded");
    tx.rollback().await.expect("rollback");
    let page = audit::list(&pool, &AuditQuery::default())
        .await
        .expect("list");
    assert!(
        page.items.is_empty(),
        "a rolled back change leaves no entry"
    );

    let mut tx = pool.begin().await.expect("begin");
    let id = entry.record(&mut tx).await.expect("recorded");
    tx.commit().await.expect("commit");
    let page = audit::list(&pool, &AuditQuery::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    let recorded = &page.items[0];
    assert_eq!(recorded.id, id);
    assert_eq!(recorded.actor, "ops-1");
    assert_eq!(recorded.actor_roles, vec!["ops"]);
    assert_eq!(recorded.outcome, "succeeded");
    assert_eq!(recorded.request_id.as_deref(), Some("req-1"));
    assert_eq!(
        recorded.before,
        Some(serde_json::json!({"state": "confirmed"}))
    );
    assert_eq!(recorded.after, Some(serde_json::json!({"state": "packed"})));

    for statement in [
        "UPDATE audit_log SET actor = 'someone-else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let refused = sqlx::query(statement).execute(&pool).await;
        assert!(refused.is_err(), "{statement} must be refused");
    }
    let page = audit::list(&pool, &AuditQuery::default())
        .await
        .expect("list");
    assert_eq!(page.items[0].actor, "ops-1", "unchanged");
    env.cleanup().await;
}

#[tokio::test]
async fn a_refused_action_is_recorded_once_with_the_problem_and_the_list_filters_and_pages() {
    let env = TestEnv::start().await.expect("infrastructure");
    let pool = schema(&env).await;
    let request = RequestId(None);
    let entry = AuditEntry::new(&ops("ops-2"), &request, "order.deliver", "order", "o-2");
    let refused = entry
        .on_failure(&pool, async {
            Err::<(), _>(Problem::conflict("The order has not shipped."))
        })
        .await;
    assert_eq!(refused.expect_err("refused").status, 409);
    for n in 0..3 {
        let mut tx = pool.begin().await.expect("begin");
        AuditEntry::new(
            &ops("ops-1"),
            &request,
            "order.pack",
            "order",
            format!("o-{n}"),
        )
        .record(&mut tx)
        .await
        .expect("recorded");
        tx.commit().await.expect("commit");
    }

    let refusals = audit::list(
        &pool,
        &AuditQuery {
            outcome: Some(Outcome::Refused),
            ..AuditQuery::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(refusals.items.len(), 1);
    assert_eq!(refusals.items[0].action, "order.deliver");
    assert_eq!(
        refusals.items[0].detail.as_deref(),
        Some("The order has not shipped.")
    );

    let first = audit::list(
        &pool,
        &AuditQuery {
            actor: Some("ops-1".to_owned()),
            limit: Some(2),
            ..AuditQuery::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(
        first
            .items
            .iter()
            .map(|e| e.resource_id.as_str())
            .collect::<Vec<_>>(),
        ["o-2", "o-1"],
        "newest first"
    );
    let rest = audit::list(
        &pool,
        &AuditQuery {
            actor: Some("ops-1".to_owned()),
            before: first.next_before,
            ..AuditQuery::default()
        },
    )
    .await
    .expect("list");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].resource_id, "o-0");
    assert!(rest.next_before.is_none());

    let bad = audit::list(
        &pool,
        &AuditQuery {
            limit: Some(0),
            ..AuditQuery::default()
        },
    )
    .await;
    assert_eq!(bad.expect_err("limit 0").status, 422);
    env.cleanup().await;
}
