-- Exact usage limits (bazaar_catalog::redemptions): a checkout reserves its promotions' uses when it is
-- priced (`PUT /api/catalog/redemptions/{orderId}`), under a per-promotion lock, so checkouts in flight
-- count; `order.placed` turns the reservation into a redemption, `order.cancelled` or a checkout that fails
-- (`DELETE .../redemptions/{orderId}`) gives it back. A reservation no `order.placed` confirms within the
-- reservation lifetime (a checkout that died between pricing and commit) stops counting.
ALTER TABLE promotion_redemptions
    ADD COLUMN state text NOT NULL DEFAULT 'placed' CHECK (state IN ('reserved', 'placed'));
