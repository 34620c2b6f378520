-- Checkout admission counts the orders the saga has not finished yet (placed: waiting for inventory;
-- awaiting_payment: waiting for payment) twice a second; this partial index keeps that count as small as
-- the backlog, however many orders the shop has taken.
CREATE INDEX orders_in_saga ON orders (state, created_at) WHERE state IN ('placed', 'awaiting_payment');
