-- Carts: a guest cart is reached with an opaque token (stored hashed); a signed-in shopper's cart by user id.
CREATE TABLE carts (
    id          uuid PRIMARY KEY,
    token_hash  bytea UNIQUE,
    user_id     text UNIQUE,
    currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    coupon_code text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (token_hash IS NOT NULL OR user_id IS NOT NULL)
);

-- The price seen when a line was added, so a later view can say the price changed.
CREATE TABLE cart_lines (
    cart_id           uuid    NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    sku               text    NOT NULL,
    quantity          integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    added_price_minor bigint,
    added_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cart_id, sku)
);

CREATE SEQUENCE order_numbers START 100001;

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    number           text        NOT NULL UNIQUE,
    user_id          text        NOT NULL,
    email            text        NOT NULL,
    state            text        NOT NULL CHECK (state IN
                       ('placed', 'awaiting_payment', 'confirmed', 'packed', 'shipped', 'delivered', 'cancelled')),
    cancel_reason    text,
    currency         text        NOT NULL,
    subtotal_minor   bigint      NOT NULL,
    discount_minor   bigint      NOT NULL,
    shipping_minor   bigint      NOT NULL,
    total_minor      bigint      NOT NULL CHECK (total_minor >= 0),
    shipping_address jsonb       NOT NULL,
    shipping_method  text        NOT NULL,
    coupon_code      text,
    payment_token    text        NOT NULL,
    payment_attempt  integer     NOT NULL DEFAULT 0,
    carrier          text,
    tracking_number  text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_by_user ON orders (user_id, created_at DESC, id DESC);

CREATE TABLE order_lines (
    order_id         uuid    NOT NULL REFERENCES orders (id),
    sku              text    NOT NULL,
    title            text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint  NOT NULL,
    line_total_minor bigint  NOT NULL,
    PRIMARY KEY (order_id, sku)
);

-- Every state change with its cause: the saga's audit trail and the source of live status updates.
CREATE TABLE order_transitions (
    id         bigserial PRIMARY KEY,
    order_id   uuid        NOT NULL REFERENCES orders (id),
    from_state text,
    to_state   text        NOT NULL,
    cause      text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_transitions_by_order ON order_transitions (order_id, id);

-- Checkout idempotency: one order per (shopper, Idempotency-Key); the request hash tells a retry from misuse.
CREATE TABLE checkout_keys (
    user_id         text  NOT NULL,
    idempotency_key text  NOT NULL,
    request_hash    bytea NOT NULL,
    order_id        uuid  NOT NULL REFERENCES orders (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, idempotency_key)
);
