//! The order component's own settings.

/// Settings of the order component; every flag has an environment variable.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct OrderConfig {
    /// Base URL of the catalog component, which prices carts and checkouts. Defaults to this process,
    /// for when the catalog runs in it (`bazaar serve all`, `bazaar dev`).
    #[arg(long = "catalog-url", env = "BAZAAR_CATALOG_URL")]
    pub catalog_url: Option<String>,

    /// Payment attempts per order when the provider fails in a way worth retrying (e.g. a timeout).
    #[arg(long = "payment-attempts", env = "BAZAAR_PAYMENT_ATTEMPTS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub payment_attempts: u32,

    /// Sales tax rates by destination, e.g. `US-CA=7.25,US-NY=8.875,DE=19` (percent; a region's rate wins
    /// over its country's; places not listed pay no tax).
    #[arg(long = "tax-rates", env = "BAZAAR_TAX_RATES", default_value = "",
          value_parser = clap::value_parser!(crate::tax::TaxTable))]
    pub tax_rates: crate::tax::TaxTable,

    /// Currency of a new cart when the shopper names none.
    #[arg(
        long = "default-currency",
        env = "BAZAAR_DEFAULT_CURRENCY",
        default_value = "USD"
    )]
    pub default_currency: String,

    /// Orders the saga may have in progress (placed, not yet confirmed or cancelled) before checkout
    /// answers 503 with `Retry-After` instead of accepting more (backpressure); 0 means no limit.
    #[arg(long = "checkout-max-pending", env = "BAZAAR_CHECKOUT_MAX_PENDING", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub checkout_max_pending: u64,

    /// Milliseconds between two counts of the saga's backlog for checkout admission.
    #[arg(long = "checkout-backlog-refresh-ms", env = "BAZAAR_CHECKOUT_BACKLOG_REFRESH_MS",
          default_value_t = 500, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub checkout_backlog_refresh_ms: u64,
}

impl OrderConfig {
    pub fn checkout_backlog_refresh(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.checkout_backlog_refresh_ms)
    }
}
