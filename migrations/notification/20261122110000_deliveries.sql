-- The delivery log: one row per message sent, at most one per (event, recipient, template), so that a
-- redelivered or replayed event never notifies anyone twice.
CREATE TABLE deliveries (
    id          uuid        PRIMARY KEY,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    template    text        NOT NULL,
    recipient   text        NOT NULL,
    channel     text        NOT NULL DEFAULT 'email' CHECK (channel IN ('email')),
    transport   text        NOT NULL CHECK (transport IN ('log', 'smtp')),
    subject     text        NOT NULL,
    body        text        NOT NULL,
    order_id    uuid,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, recipient, template)
);
CREATE INDEX deliveries_recipient ON deliveries (recipient, id DESC);
CREATE INDEX deliveries_order ON deliveries (order_id) WHERE order_id IS NOT NULL;

-- Who to tell about an order, projected from the order events that carry it: payment events name only
-- the order id.
CREATE TABLE order_contacts (
    order_id     uuid        PRIMARY KEY,
    order_number text        NOT NULL,
    email        text        NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
