//! The pricing engine: one pure, deterministic function ([`quote`]) that prices a set of lines in one
//! currency, applies promotions and works out shipping. The quote endpoint, the product page's effective
//! prices, and (through HTTP) the cart and checkout all come through here.
//!
//! Rules, in order:
//! 1. A line is priced at its variant's list price in the requested currency. A SKU that is unknown,
//!    whose product is not Active, or that has no price in the currency is flagged unavailable (not
//!    dropped) and counts nowhere.
//! 2. Candidates are the automatic promotions and at most one coupon, each running at `now` (start
//!    inclusive, end exclusive) and under its total-use limit. They are tried by priority (highest first),
//!    then automatic before coupon, then by `namespace/name`.
//! 3. A candidate is skipped when its minimum subtotal (measured on the subtotal before discounts, in the
//!    requested currency) is not met, or when it names minimums or amounts but none in this currency.
//! 4. Stacking: the first promotion that has an effect applies. A later one applies only if it and every
//!    promotion applied so far are stackable.
//! 5. Discounts work on what is left of each targeted line after earlier promotions: a percentage is taken
//!    per line (rounded half away from zero to the minor unit); a fixed amount is spread over the targeted
//!    lines in proportion to what is left of them (largest remainder, ties to the earlier line), never more
//!    than what is left; buy-X-get-Y makes the cheapest `get` of every `buy + get` targeted units free;
//!    free shipping makes every shipping option free.
//! 6. Shipping options come from the fulfillment policies covering the destination; a method is free when
//!    the merchandise total after discounts reaches its free-over amount. Without a requested method the
//!    cheapest delivery method (not pickup) is chosen.

use std::collections::BTreeMap;

use bazaar_contracts::quote::LineStatus;
use bazaar_contracts::{Currency, Money, MoneyError, Sku};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{
    Discount, Fulfillment, Product, Promotion, ScheduleState, Store, StoreKind, amount_in,
    normalize_code,
};

/// One line asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub sku: Sku,
    pub quantity: u32,
}

/// Where the goods go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub region: Option<String>,
}

/// What to price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    pub currency: Currency,
    pub lines: Vec<LineRequest>,
    pub coupon_code: Option<String>,
    pub destination: Option<Destination>,
    pub shipping_method: Option<String>,
}

/// How often a promotion has been redeemed, so far as the caller knows (the order component owns
/// redemptions); promotions missing from [`PricingData::usage`] count as never used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub total: u32,
    pub by_customer: u32,
}

/// The merchandise a quote is computed from.
#[derive(Debug, Clone, Copy)]
pub struct PricingData<'a> {
    /// Products owning the requested SKUs (any lifecycle; others are ignored).
    pub products: &'a [Product],
    pub promotions: &'a [Promotion],
    pub fulfillments: &'a [Fulfillment],
    pub stores: &'a [Store],
    /// Redemptions by promotion key (`namespace/name`).
    pub usage: &'a BTreeMap<String, Usage>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the amounts are too large to add up")]
    Overflow,
}

impl From<MoneyError> for PricingError {
    fn from(_: MoneyError) -> Self {
        PricingError::Overflow
    }
}

/// Part of a line's price taken off by a promotion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineDiscount {
    /// `namespace/name` of the promotion.
    pub promotion: String,
    /// Its title (or name), for shoppers.
    pub title: String,
    pub amount: Money,
}

/// A priced line: the fields of `bazaar_contracts::quote::QuotedLine`, plus the discount breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotedLine {
    pub sku: Sku,
    pub quantity: u32,
    pub status: LineStatus,
    /// Product title; empty for an unknown SKU.
    pub title: String,
    /// Absent when the line is not available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    /// Unit price × quantity (zero when unavailable).
    pub subtotal: Money,
    /// Sum of `discounts`.
    pub discount: Money,
    /// Subtotal minus discount.
    pub total: Money,
    /// Slug of the product, when the SKU is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_at_price: Option<Money>,
    /// Each promotion's share of this line's discount.
    pub discounts: Vec<LineDiscount>,
}

/// A way to get the goods, priced for this cart: the fields of `bazaar_contracts::quote::ShippingOption`
/// plus where it comes from and why it is free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOption {
    /// Method code, or `pickup`.
    pub code: String,
    pub name: String,
    /// What the shopper pays.
    pub price: Money,
    /// Delivery days (0 and 0 for pickup or when the policy names none).
    pub delivery_days_min: u32,
    pub delivery_days_max: u32,
    /// `namespace/name` of the fulfillment policy offering it.
    pub fulfillment: String,
    /// The rate before free-over or free-shipping promotions.
    pub list_price: Money,
    /// Why it is free, when it is: `free-over` or the promotion's `namespace/name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_because: Option<String>,
    /// For pickup: the stores (`namespace/name`) to collect from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pickup_stores: Vec<String>,
}

/// A promotion that took effect (`bazaar_contracts::quote::AppliedPromotion` plus `freeShipping`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPromotion {
    pub promotion: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The promotion's title (or name).
    pub description: String,
    /// Taken off the lines.
    pub amount: Money,
    pub free_shipping: bool,
}

/// What became of the coupon code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CouponStatus {
    Applied,
    Unknown,
    NotYetValid,
    Expired,
    LimitReached,
    MinimumNotMet,
    /// Applies to nothing in this cart (or not in this currency).
    NotApplicable,
    /// A promotion that does not stack won over it.
    NotCombinable,
}

/// What became of the coupon code (`bazaar_contracts::quote::CouponResult` plus `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CouponOutcome {
    pub code: String,
    pub applied: bool,
    /// Why it did not apply, for the shopper.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub status: CouponStatus,
}

impl CouponOutcome {
    fn new(code: String, status: CouponStatus) -> Self {
        let applied = status == CouponStatus::Applied;
        Self {
            code,
            applied,
            reason: (!applied).then(|| coupon_message(status).to_owned()),
            status,
        }
    }
}

/// The priced cart: the fields of `bazaar_contracts::quote::Quote`, plus notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    pub currency: String,
    pub lines: Vec<QuotedLine>,
    pub promotions: Vec<AppliedPromotion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponOutcome>,
    /// Every way to get the goods to the destination (empty without one).
    pub shipping_options: Vec<ShippingOption>,
    /// The chosen (or else the cheapest delivery) option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingOption>,
    /// Sum of the available lines before discounts.
    pub subtotal: Money,
    /// Sum of the line discounts.
    pub discount: Money,
    pub shipping_total: Money,
    /// Subtotal − discount + shipping total.
    pub total: Money,
    /// Things the shopper should know, e.g. a requested shipping method that does not serve the destination.
    pub notices: Vec<String>,
}

/// A line being priced.
struct Line<'a> {
    product: Option<&'a Product>,
    /// The unit list price (0 when unavailable).
    unit: i64,
    /// Unit price × quantity (0 when unavailable).
    gross: i64,
    /// What is left of `gross` after the promotions applied so far.
    remaining: i64,
    /// Why the line cannot be bought, if it cannot.
    unavailable: Option<LineStatus>,
    /// (promotion index, amount) taken off by each promotion.
    discounts: Vec<(usize, i64)>,
}

/// Whether a promotion can be used at `now` given what is known of its redemptions.
pub fn availability(
    promotion: &Promotion,
    now: DateTime<Utc>,
    usage: &BTreeMap<String, Usage>,
) -> Result<(), CouponStatus> {
    match promotion.schedule.state(now) {
        ScheduleState::NotStarted => return Err(CouponStatus::NotYetValid),
        ScheduleState::Ended => return Err(CouponStatus::Expired),
        ScheduleState::Running => {}
    }
    let used = usage.get(&promotion.key()).copied().unwrap_or_default();
    let over_total = promotion
        .limits
        .total_uses
        .is_some_and(|max| used.total >= max);
    let over_customer = promotion
        .limits
        .per_customer
        .is_some_and(|max| used.by_customer >= max);
    if over_total || over_customer {
        return Err(CouponStatus::LimitReached);
    }
    Ok(())
}

/// What a shopper is told about a coupon in `status`; the quote and the coupon check say the same.
pub fn coupon_message(status: CouponStatus) -> &'static str {
    match status {
        CouponStatus::Applied => "The code was applied.",
        CouponStatus::Unknown => "No promotion has this code.",
        CouponStatus::NotYetValid => "This code is not valid yet.",
        CouponStatus::Expired => "This code has expired.",
        CouponStatus::LimitReached => "This code has been used up.",
        CouponStatus::MinimumNotMet => "The cart does not reach this code's minimum subtotal.",
        CouponStatus::NotApplicable => "This code applies to nothing in the cart.",
        CouponStatus::NotCombinable => {
            "This code cannot be combined with a promotion already applied."
        }
    }
}

/// Prices `request` against `data` at `now`: the steps of the module documentation, one function each.
pub fn quote(
    request: &QuoteRequest,
    data: &PricingData<'_>,
    now: DateTime<Utc>,
) -> Result<Quote, PricingError> {
    let currency = request.currency;
    let money = |minor: i64| Money::from_minor(minor, currency);

    let (mut lines, subtotal) = price_lines(request, data)?;
    let (candidates, coupon_index, mut coupon) = candidates(request, data, now);
    let promoted = apply_promotions(
        request,
        data,
        &mut lines,
        subtotal,
        &candidates,
        coupon_index,
        &mut coupon,
    )?;

    let discount = subtotal
        - lines
            .iter()
            .map(|l| l.remaining)
            .try_fold(0i64, i64::checked_add)
            .ok_or(PricingError::Overflow)?;
    let merchandise = subtotal - discount;
    let shipped = ship(request, data, money(merchandise), promoted.free_shipping);
    let shipping_price = shipped.chosen.as_ref().map_or(0, |s| s.price.minor());
    let total = merchandise
        .checked_add(shipping_price)
        .ok_or(PricingError::Overflow)?;

    Ok(Quote {
        currency: currency.code().to_owned(),
        lines: quoted_lines(request, data, &lines),
        subtotal: money(subtotal),
        discount: money(discount),
        promotions: applied_promotions(request, data, &lines, &promoted),
        coupon,
        shipping_options: shipped.options,
        shipping: shipped.chosen,
        shipping_total: money(shipping_price),
        total: money(total),
        notices: shipped.notices,
    })
}

/// Rule 1: each line at its variant's list price, or flagged unavailable; and the subtotal of the
/// available lines.
fn price_lines<'a>(
    request: &QuoteRequest,
    data: &PricingData<'a>,
) -> Result<(Vec<Line<'a>>, i64), PricingError> {
    let currency = request.currency;
    let mut lines: Vec<Line<'a>> = Vec::with_capacity(request.lines.len());
    for requested in &request.lines {
        let product = data
            .products
            .iter()
            .find(|p| p.variant(&requested.sku).is_some());
        let variant = product.and_then(|p| p.variant(&requested.sku));
        let price = variant.and_then(|v| v.price_in(currency));
        let unavailable = match (product, price) {
            (None, _) => Some(LineStatus::UnknownSku),
            (Some(p), _) if !p.is_active() => Some(LineStatus::NotForSale),
            (Some(_), None) => Some(LineStatus::NoPriceInCurrency),
            _ => None,
        };
        let unit = price.map_or(0, Money::minor);
        let gross = if unavailable.is_none() {
            unit.checked_mul(i64::from(requested.quantity))
                .ok_or(PricingError::Overflow)?
        } else {
            0
        };
        lines.push(Line {
            product,
            unit,
            gross,
            remaining: gross,
            unavailable,
            discounts: Vec::new(),
        });
    }
    let subtotal = lines
        .iter()
        .try_fold(0i64, |sum, l| sum.checked_add(l.gross))
        .ok_or(PricingError::Overflow)?;
    Ok((lines, subtotal))
}

/// Rule 2: the running automatic promotions under their limits and the coupon, in the order they are
/// tried; with the coupon's index among `data.promotions` (when it may be tried) and its outcome so far.
fn candidates(
    request: &QuoteRequest,
    data: &PricingData<'_>,
    now: DateTime<Utc>,
) -> (Vec<usize>, Option<usize>, Option<CouponOutcome>) {
    let mut coupon: Option<CouponOutcome> = None;
    let mut coupon_index: Option<usize> = None;
    if let Some(code) = &request.coupon_code {
        let code = normalize_code(code);
        let found = data
            .promotions
            .iter()
            .position(|p| p.normalized_code().as_deref() == Some(code.as_str()));
        let status = match found {
            None => Some(CouponStatus::Unknown),
            Some(i) => availability(&data.promotions[i], now, data.usage).err(),
        };
        match status {
            Some(status) => coupon = Some(CouponOutcome::new(code, status)),
            None => {
                coupon_index = found;
                coupon = Some(CouponOutcome::new(code, CouponStatus::NotApplicable));
            }
        }
    }
    let mut candidates: Vec<usize> = data
        .promotions
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_automatic() && availability(p, now, data.usage).is_ok())
        .map(|(i, _)| i)
        .chain(coupon_index)
        .collect();
    candidates.sort_by(|&a, &b| {
        let (pa, pb) = (&data.promotions[a], &data.promotions[b]);
        pb.priority
            .cmp(&pa.priority)
            .then(pb.is_automatic().cmp(&pa.is_automatic()))
            .then(pa.namespace.cmp(&pb.namespace))
            .then(pa.name.cmp(&pb.name))
    });
    (candidates, coupon_index, coupon)
}

/// The promotions that took effect, in order, and the one that ships for free.
struct Promoted {
    applied: Vec<usize>,
    free_shipping: Option<usize>,
}

/// Rules 3 to 5: each candidate in turn, skipped for its minimum subtotal or for stacking, else taken off
/// what is left of the lines it targets. Records what became of the coupon.
fn apply_promotions(
    request: &QuoteRequest,
    data: &PricingData<'_>,
    lines: &mut [Line<'_>],
    subtotal: i64,
    candidates: &[usize],
    coupon_index: Option<usize>,
    coupon: &mut Option<CouponOutcome>,
) -> Result<Promoted, PricingError> {
    let currency = request.currency;
    let money = |minor: i64| Money::from_minor(minor, currency);
    let mut applied: Vec<usize> = Vec::new();
    let mut free_shipping: Option<usize> = None;
    for &index in candidates {
        let promotion = &data.promotions[index];
        let is_coupon = Some(index) == coupon_index;
        let mut set_coupon = |status: CouponStatus| {
            if is_coupon && let Some(outcome) = coupon.as_mut() {
                *outcome = CouponOutcome::new(outcome.code.clone(), status);
            }
        };
        if !applied.is_empty()
            && (!promotion.stackable || applied.iter().any(|&i| !data.promotions[i].stackable))
        {
            set_coupon(CouponStatus::NotCombinable);
            continue;
        }
        if !promotion.minimum_subtotal.is_empty() {
            match amount_in(&promotion.minimum_subtotal, currency) {
                Some(minimum) if subtotal >= minimum.minor() => {}
                Some(_) => {
                    set_coupon(CouponStatus::MinimumNotMet);
                    continue;
                }
                None => {
                    set_coupon(CouponStatus::NotApplicable);
                    continue;
                }
            }
        }
        let targeted: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(i, line)| {
                line.unavailable.is_none()
                    && line
                        .product
                        .is_some_and(|p| promotion.applies_to.matches(p, &request.lines[*i].sku))
            })
            .map(|(i, _)| i)
            .collect();
        let amounts: Vec<(usize, i64)> = match &promotion.discount {
            Discount::Percentage(percent) => targeted
                .iter()
                .map(|&i| Ok((i, money(lines[i].remaining).percentage(*percent)?.minor())))
                .collect::<Result<_, MoneyError>>()?,
            Discount::Amount(amounts) => match amount_in(amounts, currency) {
                Some(amount) => allocate(
                    amount.minor(),
                    &targeted
                        .iter()
                        .map(|&i| (i, lines[i].remaining))
                        .collect::<Vec<_>>(),
                ),
                None => Vec::new(),
            },
            Discount::BuyXGetY { buy, get } => {
                buy_x_get_y(*buy, *get, &targeted, lines, &request.lines)
            }
            Discount::FreeShipping => Vec::new(),
        };
        let amounts: Vec<(usize, i64)> = amounts.into_iter().filter(|(_, a)| *a > 0).collect();
        let ships_free =
            matches!(promotion.discount, Discount::FreeShipping) && !targeted.is_empty();
        if amounts.is_empty() && !ships_free {
            set_coupon(CouponStatus::NotApplicable);
            continue;
        }
        for (i, amount) in amounts {
            let amount = amount.min(lines[i].remaining);
            lines[i].remaining -= amount;
            lines[i].discounts.push((index, amount));
        }
        if ships_free && free_shipping.is_none() {
            free_shipping = Some(index);
        }
        applied.push(index);
        set_coupon(CouponStatus::Applied);
    }
    Ok(Promoted {
        applied,
        free_shipping,
    })
}

/// The shipping step's answer.
struct Shipped {
    options: Vec<ShippingOption>,
    chosen: Option<ShippingOption>,
    notices: Vec<String>,
}

/// Rule 6: the options for the destination (free-over judged on `merchandise`, after discounts; all free
/// when a free-shipping promotion applied), and the requested or else cheapest delivery option.
fn ship(
    request: &QuoteRequest,
    data: &PricingData<'_>,
    merchandise: Money,
    free_shipping: Option<usize>,
) -> Shipped {
    let mut notices = Vec::new();
    let Some(destination) = &request.destination else {
        return Shipped {
            options: Vec::new(),
            chosen: None,
            notices,
        };
    };
    let mut options =
        shipping_options_for(data.fulfillments, data.stores, destination, merchandise);
    if let Some(index) = free_shipping {
        let key = data.promotions[index].key();
        for option in &mut options {
            if !option.price.is_zero() {
                option.price = Money::zero(request.currency);
                option.free_because = Some(key.clone());
            }
        }
    }
    let chosen = match &request.shipping_method {
        Some(code) => {
            let found = options.iter().find(|o| &o.code == code).cloned();
            if found.is_none() {
                notices.push(format!(
                    "Shipping method `{code}` is not available for this destination and currency; choose one of the shipping options."
                ));
            }
            found
        }
        None => options
            .iter()
            .filter(|o| o.code != "pickup")
            .min_by(|a, b| {
                a.price
                    .minor()
                    .cmp(&b.price.minor())
                    .then(a.code.cmp(&b.code))
            })
            .cloned(),
    };
    if options.is_empty() {
        notices.push("Nothing ships to this destination in this currency.".to_owned());
    }
    Shipped {
        options,
        chosen,
        notices,
    }
}

/// Each applied promotion with what it took off in all.
fn applied_promotions(
    request: &QuoteRequest,
    data: &PricingData<'_>,
    lines: &[Line<'_>],
    promoted: &Promoted,
) -> Vec<AppliedPromotion> {
    promoted
        .applied
        .iter()
        .map(|&index| {
            let promotion = &data.promotions[index];
            let amount: i64 = lines
                .iter()
                .flat_map(|l| &l.discounts)
                .filter(|(i, _)| *i == index)
                .map(|(_, a)| a)
                .sum();
            AppliedPromotion {
                promotion: promotion.key(),
                code: promotion.normalized_code(),
                description: promotion.display_name().to_owned(),
                amount: Money::from_minor(amount, request.currency),
                free_shipping: promoted.free_shipping == Some(index),
            }
        })
        .collect()
}

/// The priced lines as the answer shows them.
fn quoted_lines(
    request: &QuoteRequest,
    data: &PricingData<'_>,
    lines: &[Line<'_>],
) -> Vec<QuotedLine> {
    let currency = request.currency;
    let money = |minor: i64| Money::from_minor(minor, currency);
    lines
        .iter()
        .zip(&request.lines)
        .map(|(line, requested)| {
            let variant = line.product.and_then(|p| p.variant(&requested.sku));
            let available = line.unavailable.is_none();
            QuotedLine {
                sku: requested.sku.clone(),
                quantity: requested.quantity,
                status: line.unavailable.unwrap_or(LineStatus::Available),
                title: line.product.map(|p| p.title.clone()).unwrap_or_default(),
                unit_price: available.then(|| money(line.unit)),
                subtotal: money(line.gross),
                discount: money(line.gross - line.remaining),
                total: money(line.remaining),
                product: line.product.map(|p| p.slug.clone()),
                compare_at_price: if available {
                    variant.and_then(|v| v.compare_at_in(currency))
                } else {
                    None
                },
                discounts: line
                    .discounts
                    .iter()
                    .map(|&(index, amount)| LineDiscount {
                        promotion: data.promotions[index].key(),
                        title: data.promotions[index].display_name().to_owned(),
                        amount: money(amount),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Spreads `amount` over `shares` (line index, what is left of it) in proportion, never more than the
/// total left; leftover minor units go to the largest remainders, ties to the earlier line.
fn allocate(amount: i64, shares: &[(usize, i64)]) -> Vec<(usize, i64)> {
    let total: i64 = shares.iter().map(|(_, s)| *s).sum();
    if total <= 0 || amount <= 0 {
        return Vec::new();
    }
    let amount = amount.min(total);
    let mut parts: Vec<(usize, i64, i128)> = shares
        .iter()
        .map(|&(i, share)| {
            let exact = i128::from(amount) * i128::from(share);
            let floor = exact / i128::from(total);
            (i, floor as i64, exact % i128::from(total))
        })
        .collect();
    let mut leftover = amount - parts.iter().map(|(_, p, _)| *p).sum::<i64>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2).then(a.cmp(&b)));
    for k in order {
        if leftover == 0 {
            break;
        }
        parts[k].1 += 1;
        leftover -= 1;
    }
    parts.into_iter().map(|(i, p, _)| (i, p)).collect()
}

/// The cheapest `get` of every `buy + get` targeted units are free.
fn buy_x_get_y(
    buy: u32,
    get: u32,
    targeted: &[usize],
    lines: &[Line<'_>],
    requests: &[LineRequest],
) -> Vec<(usize, i64)> {
    let group = u64::from(buy) + u64::from(get);
    let mut units: Vec<(i64, usize)> = Vec::new();
    for &i in targeted {
        for _ in 0..requests[i].quantity {
            units.push((lines[i].unit, i));
        }
    }
    let free = (units.len() as u64 / group) * u64::from(get);
    // Dearest first; among equal prices the earlier line is paid for first.
    units.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut per_line: BTreeMap<usize, i64> = BTreeMap::new();
    for &(unit, i) in units.iter().rev().take(free as usize) {
        *per_line.entry(i).or_default() += unit;
    }
    per_line.into_iter().collect()
}

/// The shipping options for a destination, priced for a merchandise total (after discounts) in its
/// currency: one per fulfillment method with a rate in that currency, plus in-store pickup where a covering
/// policy offers it and one of its stores is active with pickup. Sorted by price, then code, then policy.
pub fn shipping_options_for(
    fulfillments: &[Fulfillment],
    stores: &[Store],
    destination: &Destination,
    merchandise: Money,
) -> Vec<ShippingOption> {
    let currency = merchandise.currency();
    let zero = Money::zero(currency);
    let mut options = Vec::new();
    for fulfillment in fulfillments {
        if !fulfillment.covers(&destination.country, destination.region.as_deref()) {
            continue;
        }
        let sources: Vec<&Store> = fulfillment
            .source_stores
            .iter()
            .filter_map(|name| {
                stores
                    .iter()
                    .find(|s| s.namespace == fulfillment.namespace && &s.name == name && s.active)
            })
            .collect();
        for method in &fulfillment.methods {
            let Some(rate) = amount_in(&method.rates, currency) else {
                continue;
            };
            let free_over = amount_in(&method.free_over, currency)
                .is_some_and(|threshold| merchandise.minor() >= threshold.minor());
            options.push(ShippingOption {
                code: method.code.clone(),
                name: method.name.clone(),
                price: if free_over { zero } else { rate },
                delivery_days_min: method.delivery_days.map_or(0, |d| d.min),
                delivery_days_max: method.delivery_days.map_or(0, |d| d.max),
                fulfillment: fulfillment.key(),
                list_price: rate,
                free_because: free_over.then(|| "free-over".to_owned()),
                pickup_stores: Vec::new(),
            });
        }
        if fulfillment.pickup {
            let pickup_stores: Vec<String> = sources
                .iter()
                .filter(|s| s.pickup && s.kind == StoreKind::Retail)
                .map(|s| s.key())
                .collect();
            if !pickup_stores.is_empty() {
                options.push(ShippingOption {
                    code: "pickup".into(),
                    name: "In-store pickup".into(),
                    price: zero,
                    delivery_days_min: 0,
                    delivery_days_max: 0,
                    fulfillment: fulfillment.key(),
                    list_price: zero,
                    free_because: None,
                    pickup_stores,
                });
            }
        }
    }
    options.sort_by(|a, b| {
        a.price
            .minor()
            .cmp(&b.price.minor())
            .then(a.code.cmp(&b.code))
            .then(a.fulfillment.cmp(&b.fulfillment))
    });
    // One option per code: the cheapest policy's (ties: the first policy by name).
    let mut seen = std::collections::BTreeSet::new();
    options.retain(|o| seen.insert(o.code.clone()));
    options
}

/// A variant's price in one currency as a shopper sees it on the product page: the list price, what one
/// unit costs after the automatic promotions running at `now`, and which promotions made the difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectivePrice {
    pub list: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare_at: Option<Money>,
    pub effective: Money,
    /// `namespace/name` of the promotions applied.
    pub promotions: Vec<String>,
}

/// Prices one unit of `sku` alone in a cart, with automatic promotions only.
pub fn effective_price(
    product: &Product,
    sku: &Sku,
    currency: Currency,
    promotions: &[Promotion],
    now: DateTime<Utc>,
) -> Option<EffectivePrice> {
    let variant = product.variant(sku)?;
    let list = variant.price_in(currency)?;
    let automatic: Vec<Promotion> = promotions
        .iter()
        .filter(|p| p.is_automatic())
        .cloned()
        .collect();
    let usage = BTreeMap::new();
    let products = std::slice::from_ref(product);
    let data = PricingData {
        products,
        promotions: &automatic,
        fulfillments: &[],
        stores: &[],
        usage: &usage,
    };
    let request = QuoteRequest {
        currency,
        lines: vec![LineRequest {
            sku: sku.clone(),
            quantity: 1,
        }],
        coupon_code: None,
        destination: None,
        shipping_method: None,
    };
    let quote = quote(&request, &data, now).ok()?;
    let line = quote.lines.into_iter().next()?;
    Some(EffectivePrice {
        list,
        compare_at: variant.compare_at_in(currency),
        effective: line.total,
        promotions: line.discounts.into_iter().map(|d| d.promotion).collect(),
    })
}

#[cfg(test)]
mod tests;
