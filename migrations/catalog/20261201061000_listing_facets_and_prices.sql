-- What the product listing filters, counts and sorts on, kept beside each product by
-- bazaar_catalog::write::upsert_product (and rebuilt here from the stored specs once):
--
-- * product_facets: every attribute (`material: mesh`) and variant option (`size: 42`, `color: black`) of a
--   product, one row per distinct (name, value). Attribute filters and the facet counts of a filter UI read it.
-- * product_prices: the cheapest variant's list price per currency. The listing joins it instead of running a
--   subquery per product, and walks its index for price sorts; products.min_prices holds the same per
--   product as one object (`{"EUR": 4200, "USD": 4500}`), which a page reads without a subquery per row.
-- * indexes that let the listing's keyset pages read only the rows of the page in each sort, instead of
--   sorting every active product (the cache-missed listing cost ~2 ms of sorting per request with 1,000
--   products, see docs/benchmarks.md).

CREATE TABLE product_facets (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    name       text NOT NULL,
    value      text NOT NULL,
    PRIMARY KEY (product_id, name, value)
);
CREATE INDEX product_facets_by_value ON product_facets (name, value, product_id);

INSERT INTO product_facets (product_id, name, value)
SELECT p.id, a.key, a.value
FROM products p, jsonb_each_text(coalesce(p.spec -> 'attributes', '{}')) a
UNION
SELECT p.id, o.key, o.value
FROM products p, jsonb_array_elements(coalesce(p.spec -> 'variants', '[]')) v,
     jsonb_each_text(coalesce(v -> 'options', '{}')) o;

CREATE TABLE product_prices (
    product_id uuid   NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    currency   text   NOT NULL,
    -- The cheapest variant's list price in `currency`, in minor units.
    min_minor  bigint NOT NULL,
    PRIMARY KEY (product_id, currency)
);
CREATE INDEX product_prices_by_price ON product_prices (currency, min_minor, product_id);

INSERT INTO product_prices (product_id, currency, min_minor)
SELECT v.product_id, vp.currency, min(vp.amount_minor)
FROM variants v JOIN variant_prices vp ON vp.sku = v.sku
GROUP BY v.product_id, vp.currency;

ALTER TABLE products ADD COLUMN min_prices jsonb NOT NULL DEFAULT '{}';
UPDATE products p SET min_prices = coalesce(
    (SELECT jsonb_object_agg(pp.currency, pp.min_minor) FROM product_prices pp WHERE pp.product_id = p.id),
    '{}');

-- Keyset orders of the listing (Active products only, as every read).
CREATE INDEX products_featured_newest ON products (featured DESC, created_at DESC, id DESC)
    WHERE lifecycle = 'Active';
CREATE INDEX products_title ON products (lower(title), id) WHERE lifecycle = 'Active';
