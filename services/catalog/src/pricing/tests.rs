//! The pricing engine's rules, one by one, without a database.

use std::collections::BTreeMap;

use chrono::TimeZone;

use super::*;
use crate::model::{Limits, ProductLifecycle, Schedule, Targets, Variant};
use crate::seed;

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::USD).expect("usd")
}

fn sku(code: &str) -> Sku {
    code.parse().expect("sku")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0)
        .single()
        .expect("time")
}

fn product(
    name: &str,
    category: &str,
    labels: &[(&str, &str)],
    variants: &[(&str, &str)],
) -> Product {
    Product {
        namespace: "shop".into(),
        name: name.into(),
        slug: name.into(),
        title: name.into(),
        description: String::new(),
        category: category.into(),
        brand: None,
        images: vec![],
        attributes: BTreeMap::new(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        lifecycle: ProductLifecycle::Active,
        featured: false,
        variants: variants
            .iter()
            .map(|(code, price)| Variant {
                sku: sku(code),
                title: None,
                options: BTreeMap::new(),
                prices: vec![usd(price)],
                compare_at_prices: vec![],
                weight_grams: None,
            })
            .collect(),
        source_generation: None,
    }
}

fn promotion(name: &str, discount: Discount) -> Promotion {
    Promotion {
        namespace: "shop".into(),
        name: name.into(),
        title: None,
        code: None,
        discount,
        applies_to: Targets::default(),
        minimum_subtotal: vec![],
        schedule: Schedule::default(),
        limits: Limits::default(),
        priority: 0,
        stackable: false,
    }
}

fn products() -> Vec<Product> {
    vec![
        product(
            "shoe",
            "footwear/running",
            &[("collection", "summer")],
            &[("SHOE", "100.00")],
        ),
        product("tee", "apparel/tops", &[], &[("TEE", "30.00")]),
        product(
            "sock",
            "accessories/socks",
            &[],
            &[("SOCK-A", "10.00"), ("SOCK-B", "12.00")],
        ),
    ]
}

struct Case {
    products: Vec<Product>,
    promotions: Vec<Promotion>,
    fulfillments: Vec<Fulfillment>,
    stores: Vec<Store>,
    usage: BTreeMap<String, Usage>,
}

impl Case {
    fn new(promotions: Vec<Promotion>) -> Case {
        Case {
            products: products(),
            promotions,
            fulfillments: vec![],
            stores: vec![],
            usage: BTreeMap::new(),
        }
    }

    fn quote(&self, lines: &[(&str, u32)], coupon: Option<&str>) -> Quote {
        self.quote_with(request(lines, coupon), now())
    }

    fn quote_with(&self, request: QuoteRequest, at: DateTime<Utc>) -> Quote {
        let data = PricingData {
            products: &self.products,
            promotions: &self.promotions,
            fulfillments: &self.fulfillments,
            stores: &self.stores,
            usage: &self.usage,
        };
        quote(&request, &data, at).expect("quote")
    }
}

fn request(lines: &[(&str, u32)], coupon: Option<&str>) -> QuoteRequest {
    QuoteRequest {
        currency: Currency::USD,
        lines: lines
            .iter()
            .map(|(code, quantity)| LineRequest {
                sku: sku(code),
                quantity: *quantity,
            })
            .collect(),
        coupon_code: coupon.map(str::to_owned),
        destination: None,
        shipping_method: None,
    }
}

fn line_totals(quote: &Quote) -> Vec<Option<String>> {
    quote
        .lines
        .iter()
        .map(|l| (l.status == LineStatus::Available).then(|| l.total.amount()))
        .collect()
}

#[test]
fn without_promotions_lines_are_priced_at_list_and_totals_add_up() {
    let quote = Case::new(vec![]).quote(&[("SHOE", 1), ("TEE", 2)], None);
    assert_eq!(quote.lines[1].unit_price, Some(usd("30.00")));
    assert_eq!(quote.lines[1].subtotal, usd("60.00"));
    assert_eq!(quote.subtotal, usd("160.00"));
    assert_eq!(quote.discount, usd("0.00"));
    assert_eq!(quote.total, usd("160.00"));
    assert!(quote.promotions.is_empty());
}

#[test]
fn a_percentage_comes_off_each_targeted_line_rounded_to_the_cent() {
    let mut promo = promotion("summer", Discount::Percentage(15));
    promo.applies_to.labels = [("collection".to_owned(), "summer".to_owned())].into();
    let mut case = Case::new(vec![promo]);
    case.products[0].variants[0].prices = vec![usd("99.99")];
    let quote = case.quote(&[("SHOE", 1), ("TEE", 1)], None);
    // 15% of 99.99 = 14.9985 -> 15.00 (half away from zero).
    assert_eq!(quote.lines[0].discounts[0].amount, usd("15.00"));
    assert_eq!(quote.lines[0].discounts[0].promotion, "shop/summer");
    assert!(
        quote.lines[1].discounts.is_empty(),
        "the tee is not in the collection"
    );
    assert_eq!(quote.discount, usd("15.00"));
    assert_eq!(quote.total, usd("114.99"));
}

#[test]
fn a_fixed_amount_is_spread_over_the_targeted_lines_in_proportion_and_never_exceeds_them() {
    let case = Case::new(vec![promotion(
        "ten-off",
        Discount::Amount(vec![usd("10.00")]),
    )]);
    let quote = case.quote(&[("SHOE", 1), ("TEE", 1), ("SOCK-A", 1)], None);
    // 100 : 30 : 10 of 10.00 = 7.142.. : 2.142.. : 0.714.. -> 7.14, 2.14, 0.72 (largest remainder).
    let amounts: Vec<String> = quote
        .lines
        .iter()
        .map(|l| l.discounts[0].amount.amount())
        .collect();
    assert_eq!(amounts, ["7.14", "2.14", "0.72"]);
    assert_eq!(quote.discount, usd("10.00"));

    let big = Case::new(vec![promotion(
        "big",
        Discount::Amount(vec![usd("500.00")]),
    )]);
    let quote = big.quote(&[("TEE", 1)], None);
    assert_eq!(quote.discount, usd("30.00"));
    assert_eq!(quote.total, usd("0.00"));
}

#[test]
fn a_fixed_amount_without_an_amount_in_the_currency_does_not_apply() {
    let eur = Money::parse("10.00", Currency::EUR).expect("eur");
    let case = Case::new(vec![promotion("euro-only", Discount::Amount(vec![eur]))]);
    let quote = case.quote(&[("SHOE", 1)], None);
    assert_eq!(quote.discount, usd("0.00"));
    assert!(quote.promotions.is_empty());
}

#[test]
fn buy_two_get_one_makes_the_cheapest_unit_of_each_group_free() {
    let mut promo = promotion("socks", Discount::BuyXGetY { buy: 2, get: 1 });
    promo.applies_to.categories = vec!["accessories".into()];
    let case = Case::new(vec![promo]);
    // Units: 12, 12, 10, 10, 10 -> one full group of three -> the cheapest unit (10.00) is free.
    let quote = case.quote(&[("SOCK-B", 2), ("SOCK-A", 3), ("SHOE", 1)], None);
    assert_eq!(quote.discount, usd("10.00"));
    assert_eq!(quote.lines[1].discounts[0].amount, usd("10.00"));
    assert!(quote.lines[0].discounts.is_empty());
    assert!(
        quote.lines[2].discounts.is_empty(),
        "shoes are not targeted"
    );
    // Six units: two groups, two free units, both the cheapest.
    let quote = case.quote(&[("SOCK-B", 3), ("SOCK-A", 3)], None);
    assert_eq!(quote.discount, usd("20.00"));
    // Two units: no full group.
    let quote = case.quote(&[("SOCK-A", 2)], None);
    assert_eq!(quote.discount, usd("0.00"));
}

#[test]
fn free_shipping_zeroes_every_shipping_option() {
    let seed = seed::shop("shop");
    let mut case = Case::new(vec![promotion("ship", Discount::FreeShipping)]);
    case.fulfillments = seed.fulfillments.clone();
    case.stores = seed.stores.clone();
    let mut req = request(&[("TEE", 1)], None);
    req.destination = Some(Destination {
        country: "US".into(),
        region: Some("CA".into()),
    });
    req.shipping_method = Some("express".into());
    let quote = case.quote_with(req, now());
    let shipping = quote.shipping.expect("chosen");
    assert_eq!(shipping.code, "express");
    assert_eq!(shipping.price, usd("0.00"));
    assert_eq!(shipping.list_price, usd("14.99"));
    assert_eq!(shipping.free_because.as_deref(), Some("shop/ship"));
    assert!(quote.promotions[0].free_shipping);
    assert_eq!(quote.shipping_total, usd("0.00"));
    assert_eq!(quote.total, usd("30.00"));
}

#[test]
fn shipping_is_free_over_the_threshold_after_discounts_and_the_cheapest_delivery_is_chosen() {
    let seed = seed::shop("shop");
    let mut case = Case::new(vec![]);
    case.fulfillments = seed.fulfillments.clone();
    case.stores = seed.stores.clone();
    let with_destination = |lines: &[(&str, u32)]| {
        let mut req = request(lines, None);
        req.destination = Some(Destination {
            country: "US".into(),
            region: None,
        });
        req
    };
    let small = case.quote_with(with_destination(&[("TEE", 1)]), now());
    let standard = small.shipping.clone().expect("chosen");
    assert_eq!(
        (standard.code.as_str(), standard.price),
        ("standard", usd("4.99"))
    );
    assert_eq!(small.shipping_total, usd("4.99"));
    assert_eq!(small.total, usd("34.99"));
    let codes: Vec<&str> = small
        .shipping_options
        .iter()
        .map(|o| o.code.as_str())
        .collect();
    assert_eq!(codes, ["pickup", "standard", "express"]);
    assert_eq!(
        small.shipping_options[0].pickup_stores,
        ["shop/downtown", "shop/mission"]
    );

    let large = case.quote_with(with_destination(&[("TEE", 2)]), now());
    let standard = large.shipping.expect("chosen");
    assert_eq!(standard.price, usd("0.00"));
    assert_eq!(standard.free_because.as_deref(), Some("free-over"));
    assert_eq!(large.total, usd("60.00"));

    // After a discount the merchandise total falls below 50.00: shipping is charged again.
    case.promotions = vec![promotion("ten-off", Discount::Amount(vec![usd("15.00")]))];
    let discounted = case.quote_with(with_destination(&[("TEE", 2)]), now());
    assert_eq!(discounted.shipping.expect("chosen").price, usd("4.99"));
    assert_eq!(discounted.total, usd("49.99"));
}

#[test]
fn an_unavailable_shipping_method_is_reported_not_guessed() {
    let seed = seed::shop("shop");
    let mut case = Case::new(vec![]);
    case.fulfillments = seed.fulfillments;
    case.stores = seed.stores;
    let mut req = request(&[("TEE", 1)], None);
    req.destination = Some(Destination {
        country: "DE".into(),
        region: None,
    });
    req.shipping_method = Some("express".into());
    let quote = case.quote_with(req, now());
    assert!(quote.shipping.is_none());
    assert_eq!(quote.notices.len(), 2, "{:?}", quote.notices);
}

#[test]
fn the_highest_priority_non_stackable_promotion_wins_alone() {
    let mut low = promotion("low", Discount::Percentage(10));
    low.priority = 1;
    let mut high = promotion("high", Discount::Percentage(20));
    high.priority = 5;
    let quote = Case::new(vec![low, high]).quote(&[("SHOE", 1)], None);
    assert_eq!(quote.promotions.len(), 1);
    assert_eq!(quote.promotions[0].promotion, "shop/high");
    assert_eq!(quote.total, usd("80.00"));
}

#[test]
fn stackable_promotions_combine_in_priority_order_on_what_is_left() {
    let mut first = promotion("first", Discount::Percentage(10));
    first.priority = 2;
    first.stackable = true;
    let mut second = promotion("second", Discount::Amount(vec![usd("5.00")]));
    second.priority = 1;
    second.stackable = true;
    let mut blocked = promotion("blocked", Discount::Percentage(50));
    blocked.priority = 0;
    let quote = Case::new(vec![blocked, second, first]).quote(&[("SHOE", 1)], None);
    let applied: Vec<&str> = quote
        .promotions
        .iter()
        .map(|p| p.promotion.as_str())
        .collect();
    assert_eq!(applied, ["shop/first", "shop/second"]);
    // 100.00 - 10% = 90.00 - 5.00 = 85.00; the non-stackable 50% is left out.
    assert_eq!(quote.total, usd("85.00"));
}

#[test]
fn equal_priorities_are_ordered_by_name_so_quotes_are_deterministic() {
    let a = promotion("a-first", Discount::Percentage(10));
    let b = promotion("b-second", Discount::Percentage(30));
    let one = Case::new(vec![b.clone(), a.clone()]).quote(&[("SHOE", 1)], None);
    let two = Case::new(vec![a, b]).quote(&[("SHOE", 1)], None);
    assert_eq!(one, two);
    assert_eq!(one.promotions[0].promotion, "shop/a-first");
}

#[test]
fn a_minimum_subtotal_is_measured_before_discounts_in_the_quote_currency() {
    let mut promo = promotion("min", Discount::Amount(vec![usd("10.00")]));
    promo.code = Some("BIG".into());
    promo.minimum_subtotal = vec![usd("100.00")];
    let case = Case::new(vec![promo.clone()]);
    let below = case.quote(&[("TEE", 3)], Some("big"));
    assert_eq!(
        below.coupon.as_ref().expect("coupon").status,
        CouponStatus::MinimumNotMet
    );
    assert_eq!(below.discount, usd("0.00"));
    let at = case.quote(&[("SHOE", 1)], Some("big"));
    assert_eq!(
        at.coupon.as_ref().expect("coupon").status,
        CouponStatus::Applied
    );
    assert_eq!(at.total, usd("90.00"));
    // A minimum named only in EUR means the promotion does not apply in USD.
    promo.minimum_subtotal = vec![Money::parse("1.00", Currency::EUR).expect("eur")];
    let other = Case::new(vec![promo]).quote(&[("SHOE", 1)], Some("BIG"));
    assert_eq!(
        other.coupon.expect("coupon").status,
        CouponStatus::NotApplicable
    );
}

#[test]
fn schedules_start_inclusive_and_end_exclusive() {
    let start = now();
    let end = start + chrono::Duration::days(1);
    let mut promo = promotion("window", Discount::Percentage(10));
    promo.schedule = Schedule {
        starts_at: Some(start),
        ends_at: Some(end),
    };
    let case = Case::new(vec![promo]);
    let at = |t| case.quote_with(request(&[("SHOE", 1)], None), t).total;
    assert_eq!(at(start - chrono::Duration::seconds(1)), usd("100.00"));
    assert_eq!(at(start), usd("90.00"));
    assert_eq!(at(end - chrono::Duration::seconds(1)), usd("90.00"));
    assert_eq!(at(end), usd("100.00"));
}

#[test]
fn coupons_report_unknown_expired_not_yet_valid_and_used_up() {
    let mut promo = promotion("coupon", Discount::Percentage(10));
    promo.code = Some("SAVE10".into());
    promo.schedule.ends_at = Some(now());
    promo.limits.total_uses = Some(5);
    let mut case = Case::new(vec![promo.clone()]);
    let status = |case: &Case, code| {
        case.quote(&[("SHOE", 1)], Some(code))
            .coupon
            .expect("coupon")
            .status
    };
    assert_eq!(status(&case, "NOPE"), CouponStatus::Unknown);
    assert_eq!(status(&case, "save10"), CouponStatus::Expired);
    promo.schedule = Schedule {
        starts_at: Some(now() + chrono::Duration::hours(1)),
        ends_at: None,
    };
    case.promotions = vec![promo.clone()];
    assert_eq!(status(&case, "SAVE10"), CouponStatus::NotYetValid);
    promo.schedule = Schedule::default();
    case.promotions = vec![promo];
    assert_eq!(status(&case, " Save10 "), CouponStatus::Applied);
    case.usage.insert(
        "shop/coupon".into(),
        Usage {
            total: 5,
            by_customer: 0,
        },
    );
    assert_eq!(status(&case, "SAVE10"), CouponStatus::LimitReached);
}

#[test]
fn a_coupon_loses_to_a_non_stackable_automatic_promotion_of_higher_priority() {
    let mut auto = promotion("auto", Discount::Percentage(20));
    auto.priority = 10;
    let mut coupon = promotion("coupon", Discount::Percentage(10));
    coupon.code = Some("TEN".into());
    coupon.stackable = true;
    let quote = Case::new(vec![auto, coupon]).quote(&[("SHOE", 1)], Some("TEN"));
    assert_eq!(
        quote.coupon.expect("coupon").status,
        CouponStatus::NotCombinable
    );
    assert_eq!(quote.total, usd("80.00"));
}

#[test]
fn a_coupon_for_other_products_is_not_applicable() {
    let mut coupon = promotion("shoes-only", Discount::Percentage(10));
    coupon.code = Some("SHOES".into());
    coupon.applies_to.categories = vec!["footwear".into()];
    let quote = Case::new(vec![coupon]).quote(&[("TEE", 1)], Some("SHOES"));
    assert_eq!(
        quote.coupon.expect("coupon").status,
        CouponStatus::NotApplicable
    );
}

#[test]
fn unavailable_skus_are_flagged_and_left_out_of_the_totals() {
    let mut case = Case::new(vec![promotion("all", Discount::Percentage(10))]);
    case.products[1].lifecycle = ProductLifecycle::Archived;
    case.products.push(product("euro", "misc", &[], &[]));
    case.products[3].variants.push(Variant {
        sku: sku("EURO-ONLY"),
        title: None,
        options: BTreeMap::new(),
        prices: vec![Money::parse("5.00", Currency::EUR).expect("eur")],
        compare_at_prices: vec![],
        weight_grams: None,
    });
    let quote = case.quote(
        &[("SHOE", 1), ("TEE", 1), ("GHOST", 2), ("EURO-ONLY", 1)],
        None,
    );
    let statuses: Vec<LineStatus> = quote.lines.iter().map(|l| l.status).collect();
    assert_eq!(
        statuses,
        [
            LineStatus::Available,
            LineStatus::NotForSale,
            LineStatus::UnknownSku,
            LineStatus::NoPriceInCurrency
        ]
    );
    assert_eq!(quote.lines[2].subtotal, usd("0.00"));
    assert_eq!(quote.lines[2].title, "");
    assert_eq!(quote.lines.len(), 4, "unavailable lines are kept");
    assert_eq!(
        line_totals(&quote),
        [Some("90.00".to_owned()), None, None, None]
    );
    assert_eq!(quote.subtotal, usd("100.00"));
    assert_eq!(quote.total, usd("90.00"));
}

#[test]
fn the_effective_price_applies_automatic_promotions_to_one_unit_only() {
    let mut sale = promotion("sale", Discount::Percentage(25));
    sale.applies_to.skus = vec![sku("SHOE")];
    let mut coupon = promotion("coupon", Discount::Percentage(50));
    coupon.code = Some("HALF".into());
    let bxgy = promotion("bxgy", Discount::BuyXGetY { buy: 1, get: 1 });
    let products = products();
    let price = effective_price(
        &products[0],
        &sku("SHOE"),
        Currency::USD,
        &[sale, coupon, bxgy],
        now(),
    )
    .expect("price");
    assert_eq!(price.list, usd("100.00"));
    assert_eq!(price.effective, usd("75.00"));
    assert_eq!(price.promotions, ["shop/sale"]);
    assert!(effective_price(&products[0], &sku("SHOE"), Currency::EUR, &[], now()).is_none());
}

#[test]
fn amounts_too_large_to_add_are_an_error_not_a_panic() {
    let mut case = Case::new(vec![]);
    case.products[0].variants[0].prices = vec![Money::from_minor(i64::MAX / 2, Currency::USD)];
    let data = PricingData {
        products: &case.products,
        promotions: &case.promotions,
        fulfillments: &case.fulfillments,
        stores: &case.stores,
        usage: &case.usage,
    };
    assert_eq!(
        quote(&request(&[("SHOE", 3)], None), &data, now()),
        Err(PricingError::Overflow)
    );
}
