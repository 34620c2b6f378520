-- In-store pickup: the Store (`namespace/name`) the shopper collects from, one the catalog's quote offered
-- pickup at for the order (shipping_method is then `pickup` and costs nothing).
ALTER TABLE orders ADD COLUMN pickup_store text;
-- Why payment failed for good (payment.failed's reason: declined, insufficient_funds, provider_unavailable,
-- invalid_token), shown to the shopper in their words.
ALTER TABLE orders ADD COLUMN payment_failure text;
-- The staff order list: every shopper's orders newest first, optionally in some states, cursor-paged.
CREATE INDEX orders_newest ON orders (created_at DESC, id DESC);
CREATE INDEX orders_by_state ON orders (state, created_at DESC, id DESC);
