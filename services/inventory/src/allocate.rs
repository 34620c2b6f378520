//! Where an order's units come from: a pure function of the demand and the (locked) stock, so that it is
//! deterministic and tested without a database.
//!
//! 1. If any SKU falls short over all shipping locations together, nothing is reserved: every short SKU is
//!    reported (all or nothing).
//! 2. Else, if one location can serve every line, the order ships from there: the first such location by
//!    priority (lower first), then name.
//! 3. Else each SKU is taken greedily from its locations ordered by priority, then most available, then name.

use std::collections::BTreeMap;

use bazaar_contracts::Sku;
use bazaar_contracts::inventory::{Allocation, Shortage};

/// Stock of one SKU at one location that may serve online orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub sku: Sku,
    pub location: String,
    /// On hand less reserved.
    pub available: u64,
    /// Lower is preferred.
    pub priority: i32,
}

/// Plans the allocations for `demand` (units per SKU, each above zero), or says which SKUs fall short.
/// Allocations come sorted by SKU, then location.
pub fn plan(
    demand: &BTreeMap<Sku, u64>,
    candidates: &[Candidate],
) -> Result<Vec<Allocation>, Vec<Shortage>> {
    let total = |sku: &Sku| -> u64 {
        candidates
            .iter()
            .filter(|c| &c.sku == sku)
            .map(|c| c.available)
            .sum()
    };
    let shortages: Vec<Shortage> = demand
        .iter()
        .filter_map(|(sku, &requested)| {
            let available = total(sku);
            (available < requested).then(|| Shortage {
                sku: sku.clone(),
                requested: clamp(requested),
                available: clamp(available),
            })
        })
        .collect();
    if !shortages.is_empty() {
        return Err(shortages);
    }

    // One location for everything, if there is one.
    let mut locations: Vec<(i32, &str)> = candidates
        .iter()
        .map(|c| (c.priority, c.location.as_str()))
        .collect();
    locations.sort_unstable();
    locations.dedup();
    let available_at = |sku: &Sku, location: &str| -> u64 {
        candidates
            .iter()
            .find(|c| &c.sku == sku && c.location == location)
            .map_or(0, |c| c.available)
    };
    if let Some((_, location)) = locations.iter().find(|(_, location)| {
        demand
            .iter()
            .all(|(sku, &requested)| available_at(sku, location) >= requested)
    }) {
        return Ok(demand
            .iter()
            .map(|(sku, &quantity)| Allocation {
                sku: sku.clone(),
                location: (*location).to_owned(),
                quantity: clamp(quantity),
            })
            .collect());
    }

    // Split: greedily per SKU.
    let mut allocations = Vec::new();
    for (sku, &requested) in demand {
        let mut sources: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| &c.sku == sku && c.available > 0)
            .collect();
        sources.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then(b.available.cmp(&a.available))
                .then(a.location.cmp(&b.location))
        });
        let mut remaining = requested;
        let mut taken: Vec<Allocation> = Vec::new();
        for source in sources {
            if remaining == 0 {
                break;
            }
            let quantity = remaining.min(source.available);
            remaining -= quantity;
            taken.push(Allocation {
                sku: sku.clone(),
                location: source.location.clone(),
                quantity: clamp(quantity),
            });
        }
        taken.sort_by(|a, b| a.location.cmp(&b.location));
        allocations.extend(taken);
    }
    Ok(allocations)
}

fn clamp(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sku(code: &str) -> Sku {
        code.parse().expect("sku")
    }

    fn stock(entries: &[(&str, &str, u64, i32)]) -> Vec<Candidate> {
        entries
            .iter()
            .map(|&(s, location, available, priority)| Candidate {
                sku: sku(s),
                location: location.to_owned(),
                available,
                priority,
            })
            .collect()
    }

    fn demand(entries: &[(&str, u64)]) -> BTreeMap<Sku, u64> {
        entries.iter().map(|&(s, q)| (sku(s), q)).collect()
    }

    fn summary(allocations: &[Allocation]) -> Vec<(String, String, u32)> {
        allocations
            .iter()
            .map(|a| (a.sku.to_string(), a.location.clone(), a.quantity))
            .collect()
    }

    #[test]
    fn one_location_that_serves_every_line_is_preferred_even_over_a_higher_priority_one() {
        let candidates = stock(&[
            ("A", "shop/east", 5, 1),
            ("B", "shop/east", 0, 1),
            ("A", "shop/west", 2, 5),
            ("B", "shop/west", 1, 5),
        ]);
        let planned = plan(&demand(&[("A", 2), ("B", 1)]), &candidates).expect("reserved");
        assert_eq!(
            summary(&planned),
            vec![
                ("A".into(), "shop/west".into(), 2),
                ("B".into(), "shop/west".into(), 1)
            ]
        );
    }

    #[test]
    fn among_locations_that_serve_everything_the_best_priority_wins_then_the_name() {
        let candidates = stock(&[
            ("A", "shop/b", 5, 1),
            ("A", "shop/a", 5, 1),
            ("A", "shop/c", 5, 0),
        ]);
        let planned = plan(&demand(&[("A", 1)]), &candidates).expect("reserved");
        assert_eq!(summary(&planned), vec![("A".into(), "shop/c".into(), 1)]);
        let candidates = stock(&[("A", "shop/b", 5, 1), ("A", "shop/a", 5, 1)]);
        let planned = plan(&demand(&[("A", 1)]), &candidates).expect("reserved");
        assert_eq!(summary(&planned), vec![("A".into(), "shop/a".into(), 1)]);
    }

    #[test]
    fn a_split_takes_by_priority_then_most_available() {
        let candidates = stock(&[
            ("A", "shop/small", 2, 1),
            ("A", "shop/big", 4, 1),
            ("A", "shop/far", 9, 9),
        ]);
        // No single location has 7 at priority <= 1 ... but shop/far has 9: one location wins.
        let plan_one = plan(&demand(&[("A", 7)]), &candidates).expect("reserved");
        assert_eq!(summary(&plan_one), vec![("A".into(), "shop/far".into(), 7)]);

        let plan_split = plan(&demand(&[("A", 12)]), &candidates).expect("reserved");
        assert_eq!(
            summary(&plan_split),
            vec![
                ("A".into(), "shop/big".into(), 4),
                ("A".into(), "shop/far".into(), 6),
                ("A".into(), "shop/small".into(), 2),
            ]
        );
    }

    #[test]
    fn any_shortage_reserves_nothing_and_names_every_short_sku() {
        let candidates = stock(&[("A", "shop/x", 3, 1), ("B", "shop/x", 1, 1)]);
        let shortages =
            plan(&demand(&[("A", 4), ("B", 1), ("C", 2)]), &candidates).expect_err("rejected");
        assert_eq!(
            shortages,
            vec![
                Shortage {
                    sku: sku("A"),
                    requested: 4,
                    available: 3
                },
                Shortage {
                    sku: sku("C"),
                    requested: 2,
                    available: 0
                },
            ]
        );
    }
}
