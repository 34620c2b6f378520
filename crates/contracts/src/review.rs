//! Events of the review component (topic `bazaar.review`, key = product slug). Review is the only producer.
//! A product's rating summary counts its published reviews only; every review change that alters it
//! (written, edited, published or hidden by staff, deleted) announces the whole new summary, so a consumer
//! keeps the last one it received per product and never adds deltas.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Published reviews of a product by stars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StarHistogram {
    /// Reviews with one star.
    #[serde(rename = "1")]
    pub one: u32,
    /// Reviews with two stars.
    #[serde(rename = "2")]
    pub two: u32,
    /// Reviews with three stars.
    #[serde(rename = "3")]
    pub three: u32,
    /// Reviews with four stars.
    #[serde(rename = "4")]
    pub four: u32,
    /// Reviews with five stars.
    #[serde(rename = "5")]
    pub five: u32,
}

impl StarHistogram {
    /// From the counts of 1 to 5 stars, in that order.
    pub fn from_counts(counts: [u32; 5]) -> Self {
        let [one, two, three, four, five] = counts;
        Self {
            one,
            two,
            three,
            four,
            five,
        }
    }

    /// The counts of 1 to 5 stars, in that order.
    pub fn counts(&self) -> [u32; 5] {
        [self.one, self.two, self.three, self.four, self.five]
    }

    /// How many reviews in all.
    pub fn count(&self) -> u32 {
        self.counts().iter().sum()
    }

    /// The mean of the stars rounded to two decimals, `None` without reviews.
    pub fn average(&self) -> Option<f64> {
        let count = u64::from(self.count());
        if count == 0 {
            return None;
        }
        let stars: u64 = (1..=5u64)
            .zip(self.counts())
            .map(|(stars, n)| stars * u64::from(n))
            .sum();
        Some(((stars as f64 / count as f64) * 100.0).round() / 100.0)
    }
}

/// `review.rating_summary.changed`: a product's rating summary (published reviews) is now this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatingSummaryChanged {
    /// The product's slug, as in `catalog.product.upserted` and the catalog's public API.
    pub product_slug: String,
    /// Published reviews in all (the sum of the histogram).
    pub count: u32,
    /// Mean stars rounded to two decimals; null when `count` is 0.
    pub average: Option<f64>,
    /// Published reviews by stars, keys `"1"` to `"5"`.
    pub histogram: StarHistogram,
    /// When the change was made (UTC); later events of a product carry later times.
    pub changed_at: DateTime<Utc>,
}

impl RatingSummaryChanged {
    /// The event for a product whose published reviews now count `histogram`.
    pub fn new(product_slug: impl Into<String>, histogram: StarHistogram) -> Self {
        Self {
            product_slug: product_slug.into(),
            count: histogram.count(),
            average: histogram.average(),
            histogram,
            changed_at: Utc::now(),
        }
    }
}

crate::domain_events! {
    RatingSummaryChanged => "review.rating_summary.changed", REVIEW, product_slug;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DomainEvent, Envelope, Topic};

    #[test]
    fn a_summary_is_keyed_by_product_with_count_and_average_from_the_histogram() {
        let event =
            RatingSummaryChanged::new("trail-runner", StarHistogram::from_counts([1, 0, 0, 1, 1]));
        assert_eq!(RatingSummaryChanged::TOPIC, Topic::REVIEW);
        assert_eq!(event.key(), "trail-runner");
        assert_eq!(event.count, 3);
        assert_eq!(event.average, Some(3.33));

        let json = Envelope::wrap("/bazaar/review", &event)
            .expect("wrap")
            .to_json_value();
        assert_eq!(json["type"], "review.rating_summary.changed");
        assert_eq!(json["subject"], "trail-runner");
        assert_eq!(json["data"]["productSlug"], "trail-runner");
        assert_eq!(json["data"]["histogram"]["1"], 1);
        assert_eq!(json["data"]["histogram"]["4"], 1);
        assert_eq!(json["data"]["histogram"]["5"], 1);
        assert_eq!(json["data"]["average"], 3.33);
    }

    #[test]
    fn a_product_without_published_reviews_has_no_average() {
        let event = RatingSummaryChanged::new("p", StarHistogram::default());
        assert_eq!(event.count, 0);
        assert_eq!(event.average, None);
        let json = serde_json::to_value(&event).expect("json");
        assert!(json["average"].is_null());
    }

    #[test]
    fn the_schema_requires_every_star_count() {
        let schema = crate::schema::generate::<RatingSummaryChanged>();
        assert_eq!(schema["title"], "review.rating_summary.changed");
        let definitions = schema
            .get("$defs")
            .or_else(|| schema.get("definitions"))
            .expect("definitions");
        let required = definitions["StarHistogram"]["required"]
            .as_array()
            .expect("histogram required");
        assert_eq!(required.len(), 5);
    }
}
