-- Redemptions of promotions, counted from the order component's events (bazaar_catalog::redemptions):
-- one row per (order, promotion) on `order.placed`, the order's rows deleted on `order.cancelled`. The quote
-- reads them to apply promotions' usage limits (totalUses, perCustomer). Eventually consistent: an order
-- counts once its event has been consumed.

CREATE TABLE promotion_redemptions (
    order_id    uuid        NOT NULL,
    -- The promotion's `namespace/name`.
    promotion   text        NOT NULL,
    -- The shopper's identity user id (the order's email for a guest).
    customer_id text        NOT NULL,
    redeemed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, promotion)
);
CREATE INDEX promotion_redemptions_by_customer ON promotion_redemptions (promotion, customer_id);
