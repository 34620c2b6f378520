//! The order suite's adapter to the shared harness (`bazaar_testkit`): a shop running for real in this test
//! process (components served over HTTP on 127.0.0.1 with real PostgreSQL and Kafka, tokens from a test
//! issuer) with the example merchandise seeded into the catalog through its write module.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use bazaar_order::OrderConfig;
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::ServeConfig;
pub use bazaar_testkit::{Answer, Subject, eventually};
use reqwest::Method;
use serde_json::Value;
use sqlx::PgPool;

/// The order component, as the harness's subject.
pub struct Order;

impl Subject for Order {
    type Config = OrderConfig;
    fn spec() -> &'static ComponentSpec {
        &bazaar_order::COMPONENT
    }
}

bazaar_testkit::suite_harness! {
    /// A shop: `components` in one process, the catalog seeded.
    pub struct Shop;
}

impl Shop {
    /// Serves `components` with the example merchandise loaded into the catalog.
    pub async fn open(components: &[&'static ComponentSpec]) -> Shop {
        Self::open_with(components, |config| config).await
    }

    /// [`open`](Self::open) with the runtime's settings adjusted (components' settings, pool sizes...).
    pub async fn open_with(
        components: &[&'static ComponentSpec],
        configure: impl FnOnce(ServeConfig) -> ServeConfig,
    ) -> Shop {
        let shop = bazaar_testkit::Harness::serve::<Order>(components, Order::config(), configure);
        let shop = Shop(shop.await);
        shop.seed_catalog().await;
        shop
    }

    async fn seed_catalog(&self) {
        seed_catalog(&self.pool("catalog")).await;
    }

    pub async fn get(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        self.call(Method::GET, path, token, headers, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Answer {
        self.call(Method::POST, path, token, headers, Some(body))
            .await
    }

    /// Stops the shop whatever state its components are in (some tests break them on purpose).
    pub async fn close(self) {
        self.0.stop_anyway().await;
    }
}

/// Loads the example merchandise into the catalog schema of `pool`, through the catalog's write module.
pub async fn seed_catalog(pool: &PgPool) {
    let mut tx = pool.begin().await.expect("begin");
    bazaar_catalog::seed::load(
        &mut tx,
        &bazaar_catalog::write::outbox(),
        &bazaar_catalog::seed::shop("shop"),
    )
    .await
    .expect("seed");
    tx.commit().await.expect("commit");
}

/// The amount of a Money JSON value.
pub fn amount(money: &Value) -> &str {
    money["amount"].as_str().unwrap_or("?")
}
