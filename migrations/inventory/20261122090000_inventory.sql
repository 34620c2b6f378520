-- Stock per SKU per location, reservations of orders, the ops audit trail and low-stock tracking.
--
-- Lock order (every writer follows it, so concurrent transactions never deadlock):
--   1. the reservation row of the order, if the change concerns one;
--   2. `skus` rows, ordered by sku;
--   3. `stock` rows, ordered by (sku, location).
-- Locking the `skus` row first serialises every change to one SKU's stock, which also makes the
-- "available over all locations" total used for low-stock signals consistent.

-- Where stock is kept: Stores (`namespace/name`) of type warehouse or ship-from-store. Registered by ops
-- through the API or projected from the catalog's store events.
CREATE TABLE locations (
    name       text PRIMARY KEY
               CHECK (name ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$'),
    -- Whether online orders may be served from here (warehouse, or retail with ship-from-store, active).
    can_ship   boolean     NOT NULL DEFAULT true,
    -- Lower is preferred when an order must be split across locations.
    priority   integer     NOT NULL DEFAULT 100 CHECK (priority BETWEEN 0 AND 1000000),
    -- Who last defined it: `ops` (the API) or `catalog` (store events).
    source     text        NOT NULL DEFAULT 'ops' CHECK (source IN ('ops', 'catalog')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per SKU inventory knows; its lock serialises changes to that SKU's stock.
CREATE TABLE skus (
    sku                 text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    -- Signal `inventory.stock_low` when available units (all locations) fall to this; NULL: never.
    low_stock_threshold integer CHECK (low_stock_threshold >= 0),
    -- True after a signal, until available rises above the threshold again: one signal per crossing.
    low_signalled       boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stock (
    sku        text    NOT NULL REFERENCES skus (sku),
    location   text    NOT NULL REFERENCES locations (name),
    on_hand    integer NOT NULL CHECK (on_hand >= 0),
    reserved   integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sku, location),
    -- Never oversell: what is held for orders is always physically there.
    CONSTRAINT stock_reserved_within_on_hand CHECK (reserved <= on_hand)
);
CREATE INDEX stock_location ON stock (location);

-- One reservation per order that was reserved. States: held -> committed | released | expired;
-- committed -> restocked. The trigger below refuses every other change of state.
CREATE TABLE reservations (
    order_id   uuid PRIMARY KEY,
    state      text        NOT NULL DEFAULT 'held'
               CHECK (state IN ('held', 'committed', 'released', 'expired', 'restocked')),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservations_due ON reservations (expires_at) WHERE state = 'held';

CREATE FUNCTION reservation_transition_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND NOT (
        (OLD.state = 'held' AND NEW.state IN ('committed', 'released', 'expired'))
        OR (OLD.state = 'committed' AND NEW.state = 'restocked')
    ) THEN
        RAISE EXCEPTION 'reservation % cannot go from % to %', OLD.order_id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.order_id IS DISTINCT FROM OLD.order_id THEN
        RAISE EXCEPTION 'a reservation keeps its order id' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER reservations_transition_guard
    BEFORE UPDATE ON reservations
    FOR EACH ROW EXECUTE FUNCTION reservation_transition_guard();

-- What a reservation holds: units of one SKU at one location.
CREATE TABLE reservation_lines (
    order_id uuid    NOT NULL REFERENCES reservations (order_id),
    sku      text    NOT NULL,
    location text    NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku, location),
    FOREIGN KEY (sku, location) REFERENCES stock (sku, location)
);

-- Orders that could not be reserved, so a repeated `order.placed` is answered the same way and ops can
-- see what fell short.
CREATE TABLE rejections (
    order_id    uuid PRIMARY KEY,
    shortages   jsonb       NOT NULL,
    rejected_at timestamptz NOT NULL DEFAULT now()
);

-- The audit trail of every manual change: on-hand set or adjusted, threshold changed.
CREATE TABLE adjustments (
    id          uuid PRIMARY KEY,
    sku         text        NOT NULL,
    -- NULL for a change that concerns the SKU as a whole (its threshold).
    location    text,
    kind        text        NOT NULL CHECK (kind IN ('set', 'adjust', 'threshold')),
    -- On-hand units (set, adjust) or the threshold (NULL: none) before and after the change.
    before      integer,
    after       integer,
    reason      text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    -- The `sub` of the token that made the change.
    actor       text        NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX adjustments_by_sku ON adjustments (sku, occurred_at DESC);
