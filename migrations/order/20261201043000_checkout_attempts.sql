-- Checkout idempotency, Stripe-style (bazaar_order::idempotency): the first request with a key claims it with
-- a committed row *before* it prices anything, naming the order it will place; retries with the same key and
-- body wait for that attempt and answer with its order. `completed_at` is set in the order's own transaction;
-- an attempt that fails deletes its claim, so a later retry runs again; a claim left by a crashed process is
-- taken over (same order id, new `attempt`) once `started_at` is old. The order does not exist until the
-- claim is completed, so the reference to `orders` goes.
ALTER TABLE checkout_keys DROP CONSTRAINT IF EXISTS checkout_keys_order_id_fkey;
ALTER TABLE checkout_keys
    ADD COLUMN attempt      uuid,
    ADD COLUMN started_at   timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN completed_at timestamptz;
-- Every key recorded so far named an order already placed.
UPDATE checkout_keys SET completed_at = created_at;
