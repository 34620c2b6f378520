//! Inventory's business metrics, registered in the process registry next to the platform's families.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// Cheap to clone; every clone counts into the same families.
#[derive(Clone)]
pub struct InventoryMetrics {
    /// Reservation outcomes: `reserved`, `rejected`, `committed`, `released`, `expired`, `restocked`.
    reservations: IntCounterVec,
    /// `inventory.stock_low` signals emitted.
    stock_low: IntCounter,
    /// Reservations released because their time ran out.
    expired: IntCounter,
}

/// What became of a reservation (or of an attempt to make one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationOutcome {
    Reserved,
    Rejected,
    Committed,
    Released,
    Expired,
    Restocked,
}

impl ReservationOutcome {
    pub const fn label(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Rejected => "rejected",
            Self::Committed => "committed",
            Self::Released => "released",
            Self::Expired => "expired",
            Self::Restocked => "restocked",
        }
    }
}

impl InventoryMetrics {
    /// Creates the families and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.reservations.clone()))?;
        registry.register(Box::new(metrics.stock_low.clone()))?;
        registry.register(Box::new(metrics.expired.clone()))?;
        Ok(metrics)
    }

    /// The families without a registry: for tests that call the service directly.
    pub fn unregistered() -> Result<Self, prometheus::Error> {
        Ok(Self {
            reservations: IntCounterVec::new(
                Opts::new(
                    "bazaar_inventory_reservations_total",
                    "Reservation outcomes: reserved, rejected, committed, released, expired, restocked",
                ),
                &["outcome"],
            )?,
            stock_low: IntCounter::new(
                "bazaar_inventory_stock_low_total",
                "Low-stock signals emitted (one per SKU per crossing of its threshold)",
            )?,
            expired: IntCounter::new(
                "bazaar_inventory_reservations_expired_total",
                "Reservations released because they outlived their time to live",
            )?,
        })
    }

    pub fn record(&self, outcome: ReservationOutcome) {
        self.reservations
            .with_label_values(&[outcome.label()])
            .inc();
        if outcome == ReservationOutcome::Expired {
            self.expired.inc();
        }
    }

    pub fn stock_low_signalled(&self) {
        self.stock_low.inc();
    }

    /// How often `outcome` was recorded.
    pub fn count(&self, outcome: ReservationOutcome) -> u64 {
        self.reservations
            .with_label_values(&[outcome.label()])
            .get()
    }
}
