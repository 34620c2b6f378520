//! The review component's settings.

use clap::ValueEnum;

/// What happens to a new or edited review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Moderation {
    /// Listed at once; staff can hide it afterwards (the default).
    Publish,
    /// Held as `pending` until a merchandiser or ops publishes it.
    Hold,
}

/// Settings of the review component; the binary flattens them into `serve` and `dev` and hands them to
/// the component through `Context::settings` (clap's defaults in tests, through `Settings::clap_defaults`).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct ReviewConfig {
    /// New and edited reviews: `publish` (listed at once) or `hold` (listed once staff publish them).
    #[arg(long = "review-moderation", env = "REVIEW_MODERATION", value_enum,
          default_value_t = Moderation::Publish)]
    pub moderation: Moderation,

    /// Writes per shopper (reviews, edits, helpful votes, reports, wishlist changes) per window; past it
    /// the shopper gets 429 with `Retry-After`.
    #[arg(long = "review-rate-limit", env = "REVIEW_RATE_LIMIT", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,

    /// Length of the rate-limit window, in seconds.
    #[arg(long = "review-rate-window-secs", env = "REVIEW_RATE_WINDOW_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_window_secs: u64,

    /// Base URL of the order component, whose cart API moves items between cart and wishlist. Defaults to
    /// this process, for when order runs in it (`bazaar serve all`, `bazaar dev`).
    #[arg(long = "review-order-url", env = "REVIEW_ORDER_URL")]
    pub order_url: Option<String>,
}
