//! A small but realistic shop (running and outdoor gear in San Francisco, shipping in the US and parts of
//! Europe), loaded through the write module exactly as the operator would. Tests and `bazaar dev` use it.

use std::collections::BTreeMap;

use bazaar_contracts::{Currency, Money, Sku};
use bazaar_platform::kafka::Outbox;
use sqlx::PgConnection;

use crate::model::{
    Address, Contact, DayRange, Discount, Fulfillment, GeoPoint, Image, Limits, OpeningHours,
    Product, ProductLifecycle, Promotion, Schedule, ShippingMethod, Store, StoreKind, Targets,
    Variant, Weekday, Zone,
};
use crate::write::{self, Applied, WriteError};

/// Everything in the example shop.
#[derive(Debug, Clone)]
pub struct Shop {
    pub products: Vec<Product>,
    pub stores: Vec<Store>,
    pub fulfillments: Vec<Fulfillment>,
    pub promotions: Vec<Promotion>,
}

fn money(amount: &str, currency: Currency) -> Money {
    // The amounts below are literals with the currency's decimal places.
    Money::parse(amount, currency).unwrap_or(Money::zero(currency))
}

fn usd(amount: &str) -> Money {
    money(amount, Currency::USD)
}

fn eur(amount: &str) -> Money {
    money(amount, Currency::EUR)
}

fn sku(code: &str) -> Sku {
    code.parse()
        .unwrap_or_else(|_| unreachable!("seed SKUs are valid"))
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn variant(code: &str, options: &[(&str, &str)], prices: Vec<Money>, grams: u32) -> Variant {
    Variant {
        sku: sku(code),
        title: None,
        options: map(options),
        prices,
        compare_at_prices: Vec::new(),
        weight_grams: Some(grams),
    }
}

#[allow(clippy::too_many_arguments)]
fn product(
    namespace: &str,
    name: &str,
    title: &str,
    description: &str,
    category: &str,
    brand: &str,
    labels: &[(&str, &str)],
    variants: Vec<Variant>,
) -> Product {
    Product {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        slug: name.to_owned(),
        title: title.to_owned(),
        description: description.to_owned(),
        category: category.to_owned(),
        brand: Some(brand.to_owned()),
        images: vec![Image {
            url: format!("https://img.bazaar.dev/{name}.jpg"),
            alt: Some(title.to_owned()),
        }],
        attributes: BTreeMap::new(),
        labels: map(labels),
        lifecycle: ProductLifecycle::Active,
        featured: false,
        variants,
        source_generation: None,
    }
}

fn store(
    namespace: &str,
    name: &str,
    display_name: &str,
    kind: StoreKind,
    street: &str,
    (lat, lon): (f64, f64),
) -> Store {
    let retail = kind == StoreKind::Retail;
    Store {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        display_name: display_name.to_owned(),
        kind,
        address: Address {
            lines: vec![street.to_owned()],
            city: if name.contains("oakland") {
                "Oakland"
            } else {
                "San Francisco"
            }
            .to_owned(),
            region: Some("CA".to_owned()),
            postal_code: None,
            country: "US".to_owned(),
        },
        location: GeoPoint { lat, lon },
        time_zone: "America/Los_Angeles".to_owned(),
        opening_hours: if retail {
            vec![
                OpeningHours {
                    days: vec![
                        Weekday::Monday,
                        Weekday::Tuesday,
                        Weekday::Wednesday,
                        Weekday::Thursday,
                        Weekday::Friday,
                    ],
                    opens: "10:00".into(),
                    closes: "19:00".into(),
                },
                OpeningHours {
                    days: vec![Weekday::Saturday],
                    opens: "10:00".into(),
                    closes: "17:00".into(),
                },
            ]
        } else {
            Vec::new()
        },
        contact: Contact {
            phone: Some("+1 415 555 0100".into()),
            email: Some(format!("{name}@shop.bazaar.dev")),
        },
        pickup: retail,
        ship_from_store: true,
        active: true,
        labels: map(&[("region", "bay-area")]),
    }
}

/// The example shop in `namespace`.
pub fn shop(namespace: &str) -> Shop {
    let ns = namespace;
    let mut trail_runner = product(
        ns,
        "trail-runner",
        "Trail Runner",
        "Lightweight trail running shoe with a grippy outsole for muddy single track.",
        "footwear/running",
        "Northwind",
        &[("collection", "summer")],
        vec![
            variant(
                "TR-42-BLK",
                &[("size", "42"), ("color", "black")],
                vec![usd("129.00"), eur("119.00")],
                310,
            ),
            variant(
                "TR-43-BLK",
                &[("size", "43"), ("color", "black")],
                vec![usd("129.00"), eur("119.00")],
                320,
            ),
            variant(
                "TR-42-BLU",
                &[("size", "42"), ("color", "blue")],
                vec![usd("129.00"), eur("119.00")],
                310,
            ),
        ],
    );
    trail_runner.featured = true;
    trail_runner.attributes = map(&[("drop", "6 mm"), ("upper", "recycled mesh")]);
    let mut road_racer = product(
        ns,
        "road-racer",
        "Road Racer",
        "Carbon-plated road shoe for race day.",
        "footwear/running",
        "Swiftfoot",
        &[("collection", "performance")],
        vec![variant(
            "RR-42",
            &[("size", "42")],
            vec![usd("149.00"), eur("139.00")],
            220,
        )],
    );
    road_racer.variants[0].compare_at_prices = vec![usd("179.00")];
    let summit_boot = product(
        ns,
        "summit-boot",
        "Summit Boot",
        "Waterproof leather hiking boot for long days in the mountains.",
        "footwear/hiking",
        "Northwind",
        &[("collection", "outdoor")],
        vec![
            variant(
                "SB-42",
                &[("size", "42")],
                vec![usd("189.00"), eur("179.00")],
                640,
            ),
            variant(
                "SB-43",
                &[("size", "43")],
                vec![usd("189.00"), eur("179.00")],
                655,
            ),
        ],
    );
    let mut merino_tee = product(
        ns,
        "merino-tee",
        "Merino Tee",
        "Soft merino wool running tee that stays fresh for days.",
        "apparel/tops",
        "Fjellwear",
        &[("collection", "summer")],
        vec![
            variant(
                "MT-S",
                &[("size", "S")],
                vec![usd("45.00"), eur("42.00")],
                140,
            ),
            variant(
                "MT-M",
                &[("size", "M")],
                vec![usd("45.00"), eur("42.00")],
                150,
            ),
            variant(
                "MT-L",
                &[("size", "L")],
                vec![usd("45.00"), eur("42.00")],
                160,
            ),
        ],
    );
    merino_tee.featured = true;
    let rain_shell = product(
        ns,
        "rain-shell",
        "Rain Shell",
        "Packable waterproof jacket with taped seams.",
        "apparel/outerwear",
        "Fjellwear",
        &[("collection", "outdoor")],
        vec![variant("RS-M", &[("size", "M")], vec![usd("220.00")], 300)],
    );
    let trail_socks = product(
        ns,
        "trail-socks",
        "Trail Socks",
        "Cushioned running socks, merino blend.",
        "accessories/socks",
        "Northwind",
        &[("collection", "basics")],
        vec![variant(
            "TS-M",
            &[("size", "M")],
            vec![usd("15.00"), eur("14.00")],
            60,
        )],
    );
    let mut winter_parka = product(
        ns,
        "winter-parka",
        "Winter Parka",
        "Down parka, coming this autumn.",
        "apparel/outerwear",
        "Fjellwear",
        &[("collection", "winter")],
        vec![variant("WP-M", &[("size", "M")], vec![usd("349.00")], 900)],
    );
    winter_parka.lifecycle = ProductLifecycle::Draft;

    let stores = vec![
        store(
            ns,
            "downtown",
            "Bazaar Downtown",
            StoreKind::Retail,
            "1 Market St",
            (37.7946, -122.3950),
        ),
        store(
            ns,
            "mission",
            "Bazaar Mission",
            StoreKind::Retail,
            "2100 Mission St",
            (37.7634, -122.4194),
        ),
        store(
            ns,
            "oakland-warehouse",
            "Oakland Warehouse",
            StoreKind::Warehouse,
            "500 Embarcadero W",
            (37.7955, -122.2790),
        ),
    ];
    let fulfillments = vec![
        Fulfillment {
            namespace: ns.to_owned(),
            name: "us-domestic".into(),
            zones: vec![Zone {
                countries: vec!["US".into()],
                regions: Vec::new(),
            }],
            source_stores: vec![
                "oakland-warehouse".into(),
                "downtown".into(),
                "mission".into(),
            ],
            methods: vec![
                ShippingMethod {
                    code: "standard".into(),
                    name: "Standard".into(),
                    rates: vec![usd("4.99")],
                    free_over: vec![usd("50.00")],
                    delivery_days: Some(DayRange { min: 3, max: 5 }),
                },
                ShippingMethod {
                    code: "express".into(),
                    name: "Express".into(),
                    rates: vec![usd("14.99")],
                    free_over: Vec::new(),
                    delivery_days: Some(DayRange { min: 1, max: 2 }),
                },
            ],
            pickup: true,
        },
        Fulfillment {
            namespace: ns.to_owned(),
            name: "europe".into(),
            zones: vec![Zone {
                countries: vec!["DE".into(), "FR".into(), "NL".into()],
                regions: Vec::new(),
            }],
            source_stores: vec!["oakland-warehouse".into()],
            methods: vec![ShippingMethod {
                code: "standard".into(),
                name: "International standard".into(),
                rates: vec![eur("9.90")],
                free_over: vec![eur("150.00")],
                delivery_days: Some(DayRange { min: 5, max: 9 }),
            }],
            pickup: false,
        },
    ];
    let promotions = vec![
        Promotion {
            namespace: ns.to_owned(),
            name: "summer-sale".into(),
            title: Some("Summer sale: 20% off the summer collection".into()),
            code: None,
            discount: Discount::Percentage(20),
            applies_to: Targets {
                labels: map(&[("collection", "summer")]),
                ..Targets::default()
            },
            minimum_subtotal: Vec::new(),
            schedule: Schedule::default(),
            limits: Limits::default(),
            priority: 10,
            stackable: true,
        },
        Promotion {
            namespace: ns.to_owned(),
            name: "socks-3-for-2".into(),
            title: Some("Socks: buy 2, get 1 free".into()),
            code: None,
            discount: Discount::BuyXGetY { buy: 2, get: 1 },
            applies_to: Targets {
                categories: vec!["accessories/socks".into()],
                ..Targets::default()
            },
            minimum_subtotal: Vec::new(),
            schedule: Schedule::default(),
            limits: Limits::default(),
            priority: 5,
            stackable: true,
        },
        Promotion {
            namespace: ns.to_owned(),
            name: "welcome-10".into(),
            title: Some("10 off your first order over 50".into()),
            code: Some("WELCOME10".into()),
            discount: Discount::Amount(vec![usd("10.00"), eur("10.00")]),
            applies_to: Targets::default(),
            minimum_subtotal: vec![usd("50.00"), eur("50.00")],
            schedule: Schedule::default(),
            limits: Limits {
                total_uses: Some(1000),
                per_customer: Some(1),
            },
            priority: 0,
            stackable: true,
        },
        Promotion {
            namespace: ns.to_owned(),
            name: "free-shipping".into(),
            title: Some("Free shipping on everything".into()),
            code: Some("SHIPFREE".into()),
            discount: Discount::FreeShipping,
            applies_to: Targets::default(),
            minimum_subtotal: Vec::new(),
            schedule: Schedule::default(),
            limits: Limits::default(),
            priority: 0,
            stackable: true,
        },
    ];
    Shop {
        products: vec![
            trail_runner,
            road_racer,
            summit_boot,
            merino_tee,
            rain_shell,
            trail_socks,
            winter_parka,
        ],
        stores,
        fulfillments,
        promotions,
    }
}

/// How many resources a load created, updated or left alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl LoadReport {
    fn count(&mut self, applied: Applied) {
        match applied {
            Applied::Created => self.created += 1,
            Applied::Updated => self.updated += 1,
            Applied::Unchanged => self.unchanged += 1,
        }
    }
}

/// Loads `shop` through the write module in the caller's transaction: stores first (fulfillments name
/// them), then products, fulfillments and promotions. Loading it again changes nothing.
pub async fn load(
    conn: &mut PgConnection,
    outbox: &Outbox,
    shop: &Shop,
) -> Result<LoadReport, WriteError> {
    let mut report = LoadReport::default();
    for store in &shop.stores {
        report.count(write::upsert_store(conn, outbox, store).await?);
    }
    for product in &shop.products {
        report.count(write::upsert_product(conn, outbox, product).await?);
    }
    for fulfillment in &shop.fulfillments {
        report.count(write::upsert_fulfillment(conn, outbox, fulfillment).await?);
    }
    for promotion in &shop.promotions {
        report.count(write::upsert_promotion(conn, outbox, promotion).await?);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_resource_is_valid() {
        let shop = shop("shop");
        for p in &shop.products {
            assert_eq!(p.validate(), Ok(()), "{}", p.name);
        }
        for s in &shop.stores {
            assert_eq!(s.validate(), Ok(()), "{}", s.name);
        }
        for f in &shop.fulfillments {
            assert_eq!(f.validate(), Ok(()), "{}", f.name);
        }
        for p in &shop.promotions {
            assert_eq!(p.validate(), Ok(()), "{}", p.name);
        }
    }
}
