-- Payment work for an order that kept failing and waits for ops (payment.attention_needed), shown on the
-- order as `paymentAttention` until a later capture, void or refund of that payment succeeds.
CREATE TABLE payment_attention (
    task_id    uuid        PRIMARY KEY,   -- payment's id of the stuck work
    order_id   uuid        NOT NULL REFERENCES orders (id),
    payment_id uuid,
    operation  text        NOT NULL,      -- authorize | capture | void | refund | reconcile
    tries      integer     NOT NULL,
    detail     text        NOT NULL,
    since      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_attention_order ON payment_attention (order_id, since);
