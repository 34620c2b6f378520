//! Inventory's operations on its schema. Every change runs in a caller's transaction, takes its row locks in
//! the one order the schema documents (reservation, then `skus` by SKU, then `stock` by SKU and location),
//! writes the events announcing it to the outbox in the same transaction, and leaves the CHECK constraints
//! (`on_hand >= 0`, `reserved >= 0`, `reserved <= on_hand`) as the last line against overselling.

use std::collections::{BTreeMap, BTreeSet};

use bazaar_contracts::Sku;
use bazaar_contracts::inventory::{
    Allocation, AvailabilityChanged, InventoryCommitted, InventoryRejected, InventoryReleased,
    InventoryReserved, ReleaseReason, Shortage, StockLow,
};
use bazaar_contracts::order::{OrderCancelled, OrderConfirmed, OrderPlaced};
use bazaar_platform::kafka::{HandlerError, Outbox, OutboxError};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::allocate::{self, Candidate};
use crate::metrics::{InventoryMetrics, ReservationOutcome};
use crate::model::{LocationName, ReservationState};
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The change would break a stock rule (negative stock, less on hand than reserved).
    #[error("{0}")]
    Conflict(String),
    /// A location the request names is not registered.
    #[error("{0}")]
    UnknownLocation(String),
    /// An event that cannot be applied however often it is retried (confirming an order never reserved).
    #[error("{0}")]
    Unanswerable(String),
    /// Stored data contradicts itself; a bug, never the caller's fault.
    #[error("inconsistent inventory data: {0}")]
    Inconsistent(String),
}

impl From<InventoryError> for HandlerError {
    fn from(error: InventoryError) -> Self {
        match error {
            // Kept as `sqlx::Error` so that the consumer recognises database outages.
            InventoryError::Sql(error) | InventoryError::Outbox(OutboxError::Sql(error)) => {
                HandlerError::from(error)
            }
            InventoryError::Unanswerable(reason) => HandlerError::permanent(reason),
            other => HandlerError::transient(other),
        }
    }
}

pub type Result<T, E = InventoryError> = std::result::Result<T, E>;

/// How stock moves: factors applied to a quantity for on-hand and reserved units.
#[derive(Debug, Clone, Copy)]
enum StockMove {
    /// An order's units are held.
    Reserve,
    /// Held units are free again.
    Unreserve,
    /// Held units left the building.
    Commit,
    /// Sold units came back.
    Restock,
}

impl StockMove {
    const fn factors(self) -> (i32, i32) {
        match self {
            Self::Reserve => (0, 1),
            Self::Unreserve => (0, -1),
            Self::Commit => (-1, -1),
            Self::Restock => (1, 0),
        }
    }
}

/// Units of one SKU held at one location by a reservation.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Line {
    pub sku: String,
    pub location: String,
    pub quantity: i32,
}

/// A reservation whose units are held: it may be committed, released or expire.
#[derive(Debug)]
pub struct HeldReservation {
    order_id: Uuid,
    lines: Vec<Line>,
}

/// A reservation that became a sale: it may only be restocked.
#[derive(Debug)]
pub struct CommittedReservation {
    order_id: Uuid,
    lines: Vec<Line>,
}

/// A reservation as found (and locked) in the database.
#[derive(Debug)]
pub enum Reservation {
    Held(HeldReservation),
    Committed(CommittedReservation),
    /// Released, expired or restocked: nothing more can happen to it.
    Final(ReservationState),
}

/// Why held units are let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The order was cancelled before confirmation.
    Cancelled,
    /// The reservation outlived its time to live.
    Expired,
}

/// What `order.placed` led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacedOutcome {
    Reserved(Vec<Allocation>),
    Rejected(Vec<Shortage>),
    /// This order was answered before; nothing changed.
    AlreadyAnswered,
}

/// The inventory service: its settings, outbox and metrics. Cheap to clone.
#[derive(Clone)]
pub struct Inventory {
    outbox: Outbox,
    metrics: InventoryMetrics,
    settings: Settings,
}

impl Inventory {
    pub fn new(outbox: Outbox, metrics: InventoryMetrics, settings: Settings) -> Self {
        Self {
            outbox,
            metrics,
            settings,
        }
    }

    pub fn metrics(&self) -> &InventoryMetrics {
        &self.metrics
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    // ---------------------------------------------------------------------------------------------
    // The saga

    /// `order.placed`: reserves every line or nothing, and announces which.
    pub async fn place(
        &self,
        tx: &mut PgConnection,
        placed: &OrderPlaced,
    ) -> Result<PlacedOutcome> {
        let order_id = placed.order_id.0;
        let answered: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM reservations WHERE order_id = $1)
                 OR EXISTS (SELECT 1 FROM rejections WHERE order_id = $1)",
        )
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
        if answered {
            tracing::info!(%order_id, "order.placed for an order already answered; ignored");
            return Ok(PlacedOutcome::AlreadyAnswered);
        }

        let mut demand: BTreeMap<Sku, u64> = BTreeMap::new();
        for line in placed.lines.iter().filter(|line| line.quantity > 0) {
            *demand.entry(line.sku.clone()).or_default() += u64::from(line.quantity);
        }
        let skus: Vec<String> = demand.keys().map(|sku| sku.as_str().to_owned()).collect();
        lock_skus(tx, &skus).await?;
        let candidates = lock_candidates(tx, &skus).await?;

        match allocate::plan(&demand, &candidates) {
            Ok(allocations) => {
                let lines: Vec<Line> = allocations
                    .iter()
                    .map(|a| Line {
                        sku: a.sku.as_str().to_owned(),
                        location: a.location.clone(),
                        quantity: i32::try_from(a.quantity).unwrap_or(i32::MAX),
                    })
                    .collect();
                move_stock(tx, &lines, StockMove::Reserve).await?;
                let expires_at: DateTime<Utc> = sqlx::query_scalar(
                    "INSERT INTO reservations (order_id, expires_at)
                     VALUES ($1, now() + make_interval(secs => $2)) RETURNING expires_at",
                )
                .bind(order_id)
                .bind(self.settings.reservation_ttl.as_secs_f64())
                .fetch_one(&mut *tx)
                .await?;
                let (line_skus, locations, quantities) = columns(&lines);
                sqlx::query(
                    "INSERT INTO reservation_lines (order_id, sku, location, quantity)
                     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[])",
                )
                .bind(order_id)
                .bind(line_skus)
                .bind(locations)
                .bind(quantities)
                .execute(&mut *tx)
                .await?;
                self.review_low_stock(tx, &skus).await?;
                self.outbox
                    .enqueue(
                        tx,
                        &InventoryReserved {
                            order_id: placed.order_id,
                            allocations: allocations.clone(),
                            expires_at,
                        },
                    )
                    .await?;
                self.metrics.record(ReservationOutcome::Reserved);
                Ok(PlacedOutcome::Reserved(allocations))
            }
            Err(shortages) => {
                sqlx::query("INSERT INTO rejections (order_id, shortages) VALUES ($1, $2)")
                    .bind(order_id)
                    .bind(serde_json::to_value(&shortages).unwrap_or_default())
                    .execute(&mut *tx)
                    .await?;
                self.outbox
                    .enqueue(
                        tx,
                        &InventoryRejected {
                            order_id: placed.order_id,
                            shortages: shortages.clone(),
                        },
                    )
                    .await?;
                self.metrics.record(ReservationOutcome::Rejected);
                Ok(PlacedOutcome::Rejected(shortages))
            }
        }
    }

    /// `order.confirmed`: the held units become a sale.
    pub async fn confirm(&self, tx: &mut PgConnection, confirmed: &OrderConfirmed) -> Result<()> {
        let order_id = confirmed.order_id.0;
        match lock_reservation(tx, order_id).await? {
            Some(Reservation::Held(held)) => {
                held.commit(self, tx).await?;
            }
            Some(Reservation::Committed(_)) => {
                tracing::info!(%order_id, "order.confirmed again for a committed reservation; ignored");
            }
            Some(Reservation::Final(state)) => {
                // The hold ended (it expired, say) before the confirmation arrived; `inventory.released`
                // told the order so. Taking the units again could oversell, so nothing happens here.
                tracing::warn!(%order_id, %state, "order.confirmed for a reservation that has ended; not committed");
            }
            None => {
                return Err(InventoryError::Unanswerable(format!(
                    "order {order_id} was confirmed but inventory never reserved it"
                )));
            }
        }
        Ok(())
    }

    /// `order.cancelled`: held units are released; committed ones go back on hand when the order says so.
    pub async fn cancel(&self, tx: &mut PgConnection, cancelled: &OrderCancelled) -> Result<()> {
        let order_id = cancelled.order_id.0;
        match lock_reservation(tx, order_id).await? {
            Some(Reservation::Held(held)) => held.end(self, tx, Ending::Cancelled).await,
            Some(Reservation::Committed(committed)) if cancelled.restock => {
                committed.restock(self, tx).await
            }
            Some(Reservation::Committed(_)) => {
                tracing::warn!(%order_id, "order.cancelled without restock for committed stock; units stay sold");
                Ok(())
            }
            Some(Reservation::Final(state)) => {
                tracing::info!(%order_id, %state, "order.cancelled for a reservation that has ended; nothing to do");
                Ok(())
            }
            None => {
                tracing::info!(%order_id, "order.cancelled for an order without reservation; nothing to do");
                Ok(())
            }
        }
    }

    /// Releases at most `limit` held reservations whose time ran out, each in its own transaction; returns
    /// how many. Reservations locked by someone else (being committed, say) are skipped, and a reservation
    /// is only ever taken while still held, so a committed one is never released.
    pub async fn expire_due(&self, pool: &sqlx::PgPool, limit: usize) -> Result<usize> {
        let mut expired = 0;
        while expired < limit {
            let mut tx = pool.begin().await?;
            let due: Option<Uuid> = sqlx::query_scalar(
                "SELECT order_id FROM reservations WHERE state = 'held' AND expires_at <= now()
                 ORDER BY expires_at LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(order_id) = due else {
                tx.rollback().await?;
                break;
            };
            let held = HeldReservation {
                order_id,
                lines: lines_of(&mut tx, order_id).await?,
            };
            held.end(self, &mut tx, Ending::Expired).await?;
            tx.commit().await?;
            tracing::info!(%order_id, "reservation expired; units released");
            expired += 1;
        }
        Ok(expired)
    }

    // ---------------------------------------------------------------------------------------------
    // Ops

    /// Sets the units on hand of `sku` at `location`, audited.
    pub async fn set_on_hand(
        &self,
        tx: &mut PgConnection,
        change: &StockChange<'_>,
        location: &LocationName,
        on_hand: i32,
    ) -> Result<StockLevel> {
        self.change_on_hand(tx, change, location, "set", |_| Some(on_hand))
            .await
    }

    /// Adds `delta` (negative: removes) to the units on hand, audited.
    pub async fn adjust_on_hand(
        &self,
        tx: &mut PgConnection,
        change: &StockChange<'_>,
        location: &LocationName,
        delta: i32,
    ) -> Result<StockLevel> {
        self.change_on_hand(tx, change, location, "adjust", |before| {
            before.checked_add(delta)
        })
        .await
    }

    async fn change_on_hand(
        &self,
        tx: &mut PgConnection,
        change: &StockChange<'_>,
        location: &LocationName,
        kind: &str,
        after: impl FnOnce(i32) -> Option<i32>,
    ) -> Result<StockLevel> {
        let location = location.as_str();
        let can_ship: Option<bool> =
            sqlx::query_scalar("SELECT can_ship FROM locations WHERE name = $1")
                .bind(location)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(can_ship) = can_ship else {
            return Err(InventoryError::UnknownLocation(format!(
                "Location `{location}` is not registered; register it under /api/inventory/locations first."
            )));
        };
        let sku = change.sku.as_str();
        sqlx::query("INSERT INTO skus (sku) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(sku)
            .execute(&mut *tx)
            .await?;
        lock_skus(tx, &[sku.to_owned()]).await?;
        let current: Option<(i32, i32)> = sqlx::query_as(
            "SELECT on_hand, reserved FROM stock WHERE sku = $1 AND location = $2 FOR UPDATE",
        )
        .bind(sku)
        .bind(location)
        .fetch_optional(&mut *tx)
        .await?;
        let (before, reserved) = current.unwrap_or((0, 0));
        let after = after(before).filter(|after| *after >= 0).ok_or_else(|| {
            InventoryError::Conflict(format!(
                "{sku} has {before} units on hand at {location}; on hand cannot go below zero."
            ))
        })?;
        if after < reserved {
            return Err(InventoryError::Conflict(format!(
                "{reserved} units of {sku} at {location} are reserved for orders; on hand cannot go below that \
                 (asked for {after})."
            )));
        }
        sqlx::query(
            "INSERT INTO stock (sku, location, on_hand) VALUES ($1, $2, $3)
             ON CONFLICT (sku, location) DO UPDATE SET on_hand = EXCLUDED.on_hand, updated_at = now()",
        )
        .bind(sku)
        .bind(location)
        .bind(after)
        .execute(&mut *tx)
        .await?;
        self.audit(tx, change, Some(location), kind, Some(before), Some(after))
            .await?;
        self.review_low_stock(tx, &[sku.to_owned()]).await?;
        let sold: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM catalog_skus WHERE sku = $1)")
                .bind(sku)
                .fetch_one(&mut *tx)
                .await?;
        let warning = (!sold).then(|| {
            tracing::warn!(sku, location, "stock set for a SKU the catalog does not sell");
            format!(
                "The catalog does not sell {sku} (no Product lists it, or inventory has not learnt of it yet): \
                 the stock is recorded, but shoppers cannot order it until a Product lists the SKU."
            )
        });
        Ok(StockLevel {
            location: location.to_owned(),
            on_hand: after,
            reserved,
            can_ship,
            warning,
        })
    }

    /// Sets (or clears) the low-stock threshold of a SKU, audited; signals at once if stock is already at
    /// or below it.
    pub async fn set_threshold(
        &self,
        tx: &mut PgConnection,
        change: &StockChange<'_>,
        threshold: Option<i32>,
    ) -> Result<()> {
        let sku = change.sku.as_str();
        sqlx::query("INSERT INTO skus (sku) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(sku)
            .execute(&mut *tx)
            .await?;
        let before: Option<i32> =
            sqlx::query_scalar("SELECT low_stock_threshold FROM skus WHERE sku = $1 FOR UPDATE")
                .bind(sku)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("UPDATE skus SET low_stock_threshold = $2, updated_at = now() WHERE sku = $1")
            .bind(sku)
            .bind(threshold)
            .execute(&mut *tx)
            .await?;
        self.audit(tx, change, None, "threshold", before, threshold)
            .await?;
        self.review_low_stock(tx, &[sku.to_owned()]).await
    }

    async fn audit(
        &self,
        tx: &mut PgConnection,
        change: &StockChange<'_>,
        location: Option<&str>,
        kind: &str,
        before: Option<i32>,
        after: Option<i32>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO adjustments (id, sku, location, kind, before, after, reason, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(change.sku.as_str())
        .bind(location)
        .bind(kind)
        .bind(before)
        .bind(after)
        .bind(change.reason)
        .bind(change.actor)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    // ---------------------------------------------------------------------------------------------
    // Low stock

    /// For each of `skus` (whose rows the caller has locked): signals `inventory.stock_low` when its
    /// available units fell to or below its threshold since the last signal (re-arming those that rose
    /// above it), and announces `inventory.availability_changed` when it went out of stock or came back
    /// (units available at a location that ships online orders, as the public availability counts them).
    async fn review_low_stock(&self, tx: &mut PgConnection, skus: &[String]) -> Result<()> {
        self.review_availability(tx, skus).await?;
        let rows: Vec<(String, Option<i32>, bool, i64)> = sqlx::query_as(
            "SELECT k.sku, k.low_stock_threshold, k.low_signalled,
                    COALESCE(sum(s.on_hand - s.reserved), 0)::bigint
             FROM skus k LEFT JOIN stock s ON s.sku = k.sku
             WHERE k.sku = ANY($1) GROUP BY k.sku ORDER BY k.sku",
        )
        .bind(skus)
        .fetch_all(&mut *tx)
        .await?;
        for (sku, threshold, signalled, available) in rows {
            match low_stock_step(available, threshold, signalled) {
                LowStockStep::Keep => {}
                LowStockStep::Rearm => {
                    sqlx::query("UPDATE skus SET low_signalled = false WHERE sku = $1")
                        .bind(&sku)
                        .execute(&mut *tx)
                        .await?;
                }
                LowStockStep::Signal(threshold) => {
                    sqlx::query("UPDATE skus SET low_signalled = true WHERE sku = $1")
                        .bind(&sku)
                        .execute(&mut *tx)
                        .await?;
                    let sku: Sku = sku.parse().map_err(|e| {
                        InventoryError::Inconsistent(format!("stored SKU is invalid: {e}"))
                    })?;
                    let event = StockLow {
                        sku,
                        available: u32::try_from(available.max(0)).unwrap_or(u32::MAX),
                        threshold,
                    };
                    self.outbox.enqueue(tx, &event).await?;
                    self.metrics.stock_low_signalled();
                }
            }
        }
        Ok(())
    }

    /// Announces `inventory.availability_changed` for each of `skus` (rows locked by the caller) whose
    /// shippable available units crossed zero since the last announcement.
    async fn review_availability(&self, tx: &mut PgConnection, skus: &[String]) -> Result<()> {
        let crossed: Vec<(String, i64)> = sqlx::query_as(
            "WITH now_available AS (
                 SELECT k.sku, COALESCE(sum(s.on_hand - s.reserved) FILTER (WHERE l.can_ship), 0)::bigint
                            AS available
                 FROM skus k
                 LEFT JOIN stock s ON s.sku = k.sku
                 LEFT JOIN locations l ON l.name = s.location
                 WHERE k.sku = ANY($1) GROUP BY k.sku
             )
             UPDATE skus k SET in_stock = a.available > 0
             FROM now_available a
             WHERE k.sku = a.sku AND k.in_stock <> (a.available > 0)
             RETURNING k.sku, a.available",
        )
        .bind(skus)
        .fetch_all(&mut *tx)
        .await?;
        let mut crossed = crossed;
        crossed.sort();
        for (sku, available) in crossed {
            let sku: Sku = sku
                .parse()
                .map_err(|e| InventoryError::Inconsistent(format!("stored SKU is invalid: {e}")))?;
            let event = AvailabilityChanged {
                sku,
                in_stock: available > 0,
                available: u32::try_from(available.max(0)).unwrap_or(u32::MAX),
                changed_at: Utc::now(),
            };
            self.outbox.enqueue(tx, &event).await?;
        }
        Ok(())
    }

    /// After a change of whether `location` ships online orders: locks the SKUs stocked there (in SKU
    /// order) and announces those whose availability crossed zero.
    pub async fn review_location(&self, tx: &mut PgConnection, location: &str) -> Result<()> {
        let skus: Vec<String> = sqlx::query_scalar(
            "SELECT k.sku FROM skus k WHERE EXISTS (SELECT 1 FROM stock s WHERE s.sku = k.sku AND s.location = $1)
             ORDER BY k.sku FOR UPDATE OF k",
        )
        .bind(location)
        .fetch_all(&mut *tx)
        .await?;
        self.review_availability(tx, &skus).await
    }
}

/// Who changes what of a SKU, and why.
#[derive(Debug, Clone)]
pub struct StockChange<'a> {
    pub sku: &'a Sku,
    pub reason: &'a str,
    /// The `sub` of the caller's token.
    pub actor: &'a str,
}

/// Stock of a SKU at one location.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StockLevel {
    pub location: String,
    pub on_hand: i32,
    pub reserved: i32,
    pub can_ship: bool,
    /// Set by a change of stock when the catalog does not sell the SKU (as far as inventory has learnt
    /// from catalog events): the change is kept, and the caller told.
    #[sqlx(default)]
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LowStockStep {
    Keep,
    Rearm,
    Signal(u32),
}

/// One signal per crossing: signal when available is at or below the threshold and no signal was sent
/// since it was last above; re-arm when it is above again.
fn low_stock_step(available: i64, threshold: Option<i32>, signalled: bool) -> LowStockStep {
    match threshold {
        Some(threshold) if available <= i64::from(threshold) => {
            if signalled {
                LowStockStep::Keep
            } else {
                LowStockStep::Signal(u32::try_from(threshold).unwrap_or(0))
            }
        }
        _ if signalled => LowStockStep::Rearm,
        _ => LowStockStep::Keep,
    }
}

impl HeldReservation {
    /// The units leave on-hand stock: `held -> committed`.
    pub async fn commit(
        self,
        inventory: &Inventory,
        tx: &mut PgConnection,
    ) -> Result<CommittedReservation> {
        lock_lines(tx, &self.lines).await?;
        move_stock(tx, &self.lines, StockMove::Commit).await?;
        transition(
            tx,
            self.order_id,
            ReservationState::Held,
            ReservationState::Committed,
        )
        .await?;
        // Available units do not change on commit, but thresholds are reviewed all the same.
        inventory
            .review_low_stock(tx, &skus_of(&self.lines))
            .await?;
        inventory
            .outbox
            .enqueue(
                tx,
                &InventoryCommitted {
                    order_id: bazaar_contracts::order::OrderId(self.order_id),
                },
            )
            .await?;
        inventory.metrics.record(ReservationOutcome::Committed);
        Ok(CommittedReservation {
            order_id: self.order_id,
            lines: self.lines,
        })
    }

    /// The units are free again: `held -> released` or `held -> expired`.
    pub async fn end(
        self,
        inventory: &Inventory,
        tx: &mut PgConnection,
        ending: Ending,
    ) -> Result<()> {
        let (state, reason, outcome) = match ending {
            Ending::Cancelled => (
                ReservationState::Released,
                ReleaseReason::OrderCancelled,
                ReservationOutcome::Released,
            ),
            Ending::Expired => (
                ReservationState::Expired,
                ReleaseReason::Expired,
                ReservationOutcome::Expired,
            ),
        };
        lock_lines(tx, &self.lines).await?;
        move_stock(tx, &self.lines, StockMove::Unreserve).await?;
        transition(tx, self.order_id, ReservationState::Held, state).await?;
        inventory
            .review_low_stock(tx, &skus_of(&self.lines))
            .await?;
        inventory
            .outbox
            .enqueue(
                tx,
                &InventoryReleased {
                    order_id: bazaar_contracts::order::OrderId(self.order_id),
                    reason,
                },
            )
            .await?;
        inventory.metrics.record(outcome);
        Ok(())
    }
}

impl CommittedReservation {
    /// The sold units come back on hand: `committed -> restocked`.
    pub async fn restock(self, inventory: &Inventory, tx: &mut PgConnection) -> Result<()> {
        lock_lines(tx, &self.lines).await?;
        move_stock(tx, &self.lines, StockMove::Restock).await?;
        transition(
            tx,
            self.order_id,
            ReservationState::Committed,
            ReservationState::Restocked,
        )
        .await?;
        inventory
            .review_low_stock(tx, &skus_of(&self.lines))
            .await?;
        inventory
            .outbox
            .enqueue(
                tx,
                &InventoryReleased {
                    order_id: bazaar_contracts::order::OrderId(self.order_id),
                    reason: ReleaseReason::Restocked,
                },
            )
            .await?;
        inventory.metrics.record(ReservationOutcome::Restocked);
        Ok(())
    }
}

/// Finds and locks the reservation of `order_id`.
pub async fn lock_reservation(
    tx: &mut PgConnection,
    order_id: Uuid,
) -> Result<Option<Reservation>> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM reservations WHERE order_id = $1 FOR UPDATE")
            .bind(order_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(state) = state else {
        return Ok(None);
    };
    let state = ReservationState::parse(&state).ok_or_else(|| {
        InventoryError::Inconsistent(format!("unknown reservation state {state}"))
    })?;
    Ok(Some(match state {
        ReservationState::Held => Reservation::Held(HeldReservation {
            order_id,
            lines: lines_of(tx, order_id).await?,
        }),
        ReservationState::Committed => Reservation::Committed(CommittedReservation {
            order_id,
            lines: lines_of(tx, order_id).await?,
        }),
        other => Reservation::Final(other),
    }))
}

async fn lines_of(tx: &mut PgConnection, order_id: Uuid) -> Result<Vec<Line>> {
    Ok(sqlx::query_as(
        "SELECT sku, location, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY sku, location",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?)
}

/// Moves the reservation from `from` to `to`; the `WHERE state = from` makes a concurrent change (which
/// the row lock already prevents) fail loudly instead of applying twice.
async fn transition(
    tx: &mut PgConnection,
    order_id: Uuid,
    from: ReservationState,
    to: ReservationState,
) -> Result<()> {
    let changed = sqlx::query(
        "UPDATE reservations SET state = $3, updated_at = now() WHERE order_id = $1 AND state = $2",
    )
    .bind(order_id)
    .bind(from.as_str())
    .bind(to.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 1 {
        Ok(())
    } else {
        Err(InventoryError::Inconsistent(format!(
            "reservation {order_id} was not {from} when moving it to {to}"
        )))
    }
}

/// Locks the `skus` rows of `skus`, in SKU order.
async fn lock_skus(tx: &mut PgConnection, skus: &[String]) -> Result<()> {
    sqlx::query("SELECT sku FROM skus WHERE sku = ANY($1) ORDER BY sku FOR UPDATE")
        .bind(skus)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Locks the stock rows of `skus` (in SKU, location order) and returns those at shipping locations.
async fn lock_candidates(tx: &mut PgConnection, skus: &[String]) -> Result<Vec<Candidate>> {
    let rows: Vec<(String, String, i32, i32, bool, i32)> = sqlx::query_as(
        "SELECT s.sku, s.location, s.on_hand, s.reserved, l.can_ship, l.priority
         FROM stock s JOIN locations l ON l.name = s.location
         WHERE s.sku = ANY($1) ORDER BY s.sku, s.location FOR UPDATE OF s",
    )
    .bind(skus)
    .fetch_all(&mut *tx)
    .await?;
    rows.into_iter()
        .filter(|row| row.4)
        .map(|(sku, location, on_hand, reserved, _, priority)| {
            Ok(Candidate {
                sku: sku.parse().map_err(|e| {
                    InventoryError::Inconsistent(format!("stored SKU is invalid: {e}"))
                })?,
                location,
                available: u64::try_from(on_hand - reserved).unwrap_or(0),
                priority,
            })
        })
        .collect()
}

/// Locks the `skus` rows, then the stock rows, that `lines` touch.
async fn lock_lines(tx: &mut PgConnection, lines: &[Line]) -> Result<()> {
    lock_skus(tx, &skus_of(lines)).await?;
    let (skus, locations, _) = columns(lines);
    sqlx::query(
        "SELECT 1 FROM stock WHERE (sku, location) IN (SELECT * FROM unnest($1::text[], $2::text[]))
         ORDER BY sku, location FOR UPDATE",
    )
    .bind(skus)
    .bind(locations)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn move_stock(tx: &mut PgConnection, lines: &[Line], how: StockMove) -> Result<()> {
    let (on_hand, reserved) = how.factors();
    let (skus, locations, quantities) = columns(lines);
    let moved = sqlx::query(
        "UPDATE stock s SET on_hand = s.on_hand + $4 * v.q, reserved = s.reserved + $5 * v.q,
                            updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::int[]) AS v(sku, location, q)
         WHERE s.sku = v.sku AND s.location = v.location",
    )
    .bind(skus)
    .bind(locations)
    .bind(quantities)
    .bind(on_hand)
    .bind(reserved)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == lines.len() as u64 {
        Ok(())
    } else {
        Err(InventoryError::Inconsistent(format!(
            "{how:?} touched {moved} stock rows for {} lines",
            lines.len()
        )))
    }
}

fn columns(lines: &[Line]) -> (Vec<String>, Vec<String>, Vec<i32>) {
    (
        lines.iter().map(|l| l.sku.clone()).collect(),
        lines.iter().map(|l| l.location.clone()).collect(),
        lines.iter().map(|l| l.quantity).collect(),
    )
}

fn skus_of(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.sku.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_stock_signals_once_per_crossing_and_rearms_above_the_threshold() {
        assert_eq!(low_stock_step(10, Some(3), false), LowStockStep::Keep);
        assert_eq!(low_stock_step(3, Some(3), false), LowStockStep::Signal(3));
        assert_eq!(low_stock_step(2, Some(3), true), LowStockStep::Keep);
        assert_eq!(low_stock_step(4, Some(3), true), LowStockStep::Rearm);
        assert_eq!(low_stock_step(0, None, false), LowStockStep::Keep);
        assert_eq!(low_stock_step(0, None, true), LowStockStep::Rearm);
    }
}
