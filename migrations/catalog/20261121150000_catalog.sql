-- The catalog: the projection of the merchandising resources (Product, Store, Fulfillment, Promotion)
-- written by the operator through bazaar_catalog::write. Every resource is identified by (namespace, name);
-- `spec` holds the whole model as the write module received it, so an upsert can tell "unchanged" at once
-- and reads can rebuild the model without joins. Columns beside it are what queries filter and sort on.

CREATE TABLE products (
    id          uuid        PRIMARY KEY,
    namespace   text        NOT NULL,
    name        text        NOT NULL,
    slug        text        NOT NULL UNIQUE,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    brand       text,
    -- Category path, segments joined by '/', e.g. 'footwear/running'.
    category    text        NOT NULL,
    lifecycle   text        NOT NULL CHECK (lifecycle IN ('Draft', 'Active', 'Archived')),
    featured    boolean     NOT NULL DEFAULT false,
    labels      jsonb       NOT NULL DEFAULT '{}',
    spec        jsonb       NOT NULL,
    search      tsvector    GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', coalesce(title, '')), 'A') ||
                    setweight(to_tsvector('english', coalesce(brand, '')), 'B') ||
                    setweight(to_tsvector('english', replace(category, '/', ' ')), 'B') ||
                    setweight(to_tsvector('english', coalesce(description, '')), 'C')
                ) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);
CREATE INDEX products_search ON products USING gin (search);
CREATE INDEX products_category ON products (category text_pattern_ops) WHERE lifecycle = 'Active';
CREATE INDEX products_newest ON products (created_at DESC, id DESC) WHERE lifecycle = 'Active';

-- A SKU belongs to one product at most: the primary key enforces it.
CREATE TABLE variants (
    sku          text    PRIMARY KEY,
    product_id   uuid    NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    options      jsonb   NOT NULL DEFAULT '{}',
    weight_grams integer
);
CREATE INDEX variants_product ON variants (product_id);

CREATE TABLE variant_prices (
    sku              text   NOT NULL REFERENCES variants (sku) ON DELETE CASCADE,
    currency         text   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
    compare_at_minor bigint CHECK (compare_at_minor >= 0),
    PRIMARY KEY (sku, currency)
);
CREATE INDEX variant_prices_currency ON variant_prices (currency, amount_minor);

CREATE TABLE stores (
    id              uuid             PRIMARY KEY,
    namespace       text             NOT NULL,
    name            text             NOT NULL,
    display_name    text             NOT NULL,
    kind            text             NOT NULL CHECK (kind IN ('Retail', 'Warehouse')),
    latitude        double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude       double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    pickup          boolean          NOT NULL,
    ship_from_store boolean          NOT NULL,
    active          boolean          NOT NULL,
    labels          jsonb            NOT NULL DEFAULT '{}',
    spec            jsonb            NOT NULL,
    created_at      timestamptz      NOT NULL DEFAULT now(),
    updated_at      timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

CREATE TABLE fulfillments (
    id         uuid        PRIMARY KEY,
    namespace  text        NOT NULL,
    name       text        NOT NULL,
    spec       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

CREATE TABLE promotions (
    id         uuid        PRIMARY KEY,
    namespace  text        NOT NULL,
    name       text        NOT NULL,
    -- Coupon code in upper case; NULL for automatic promotions. Codes are unique across the shop.
    code       text        UNIQUE,
    starts_at  timestamptz,
    ends_at    timestamptz,
    spec       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);
