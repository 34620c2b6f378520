-- Reviews and ratings, wishlists, and what the review component learns from other components' events.

-- Products as the catalog announces them (`catalog.product.upserted` / `.deleted`), by slug.
CREATE TABLE products (
    slug       text PRIMARY KEY,
    title      text        NOT NULL,
    -- `draft`, `active` or `archived` as the catalog says; `removed` once the product was deleted.
    status     text        NOT NULL CHECK (status IN ('draft', 'active', 'archived', 'removed')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Variants: which product a SKU belongs to and its current list prices (minor units by currency code,
-- e.g. {"USD": 12900}). A SKU the product no longer has stays, marked removed, so that old purchases still
-- verify and wishlists can say what happened to it.
CREATE TABLE variants (
    sku          text PRIMARY KEY,
    product_slug text        NOT NULL REFERENCES products (slug),
    prices       jsonb       NOT NULL DEFAULT '{}',
    removed      boolean     NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX variants_product ON variants (product_slug);

-- What signed-in shoppers ordered (`order.placed`), delivered once `order.delivered` arrives; a
-- cancelled order's lines are deleted. A delivered line makes the shopper's review of its product a
-- verified purchase.
CREATE TABLE purchases (
    order_id     uuid        NOT NULL,
    sku          text        NOT NULL,
    user_id      text        NOT NULL,
    delivered_at timestamptz,
    PRIMARY KEY (order_id, sku)
);
CREATE INDEX purchases_delivered ON purchases (user_id, sku) WHERE delivered_at IS NOT NULL;

-- One review per product and shopper. Text is stored as written and served as plain text, never HTML.
CREATE TABLE reviews (
    id            uuid PRIMARY KEY,
    product_slug  text        NOT NULL REFERENCES products (slug),
    author        text        NOT NULL,
    author_name   text        NOT NULL CHECK (length(author_name) BETWEEN 1 AND 100),
    sku           text,
    rating        smallint    NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title         text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 120),
    body          text        NOT NULL CHECK (char_length(body) <= 5000),
    -- `published` (listed, counted in the summary), `pending` (held for moderation) or `hidden` (by staff).
    status        text        NOT NULL CHECK (status IN ('published', 'pending', 'hidden')),
    hidden_reason text,
    helpful_count integer     NOT NULL DEFAULT 0 CHECK (helpful_count >= 0),
    report_count  integer     NOT NULL DEFAULT 0 CHECK (report_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_slug, author),
    CHECK ((status = 'hidden') = (hidden_reason IS NOT NULL))
);
CREATE INDEX reviews_newest ON reviews (product_slug, id DESC) WHERE status = 'published';
CREATE INDEX reviews_helpful ON reviews (product_slug, helpful_count DESC, id DESC) WHERE status = 'published';
CREATE INDEX reviews_moderation ON reviews (status, id DESC);
CREATE INDEX reviews_reported ON reviews (id DESC) WHERE report_count > 0;

-- "Helpful" votes: one per review and voter.
CREATE TABLE review_votes (
    review_id uuid        NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    voter     text        NOT NULL,
    voted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (review_id, voter)
);

-- Shoppers' reports of a review: one per review and reporter.
CREATE TABLE review_reports (
    review_id   uuid        NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    reporter    text        NOT NULL,
    reason      text        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    reported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (review_id, reporter)
);

-- Per product, the published reviews' count and histogram, changed in the transaction of every change of
-- a review's rating or visibility.
CREATE TABLE rating_summaries (
    product_slug text PRIMARY KEY REFERENCES products (slug),
    stars_1 integer NOT NULL DEFAULT 0 CHECK (stars_1 >= 0),
    stars_2 integer NOT NULL DEFAULT 0 CHECK (stars_2 >= 0),
    stars_3 integer NOT NULL DEFAULT 0 CHECK (stars_3 >= 0),
    stars_4 integer NOT NULL DEFAULT 0 CHECK (stars_4 >= 0),
    stars_5 integer NOT NULL DEFAULT 0 CHECK (stars_5 >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Fixed-window counters per shopper (identity's approach), so limits hold across replicas.
CREATE TABLE rate_limits (
    bucket            text PRIMARY KEY,
    window_started_at timestamptz NOT NULL,
    hits              integer     NOT NULL
);

-- One wishlist per shopper; `share_token` (unguessable, revocable) opens a read-only view.
CREATE TABLE wishlists (
    owner       text PRIMARY KEY,
    share_token text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Saved variants, with the list prices when saved (to tell price drops).
CREATE TABLE wishlist_items (
    owner       text        NOT NULL REFERENCES wishlists (owner) ON DELETE CASCADE,
    sku         text        NOT NULL REFERENCES variants (sku),
    saved_prices jsonb      NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, sku)
);
