-- The SKUs the catalog sells, projected from catalog.product.upserted / catalog.product.deleted. Stock may
-- still be set for a SKU outside this set (goods can arrive before their Product is published, and the
-- projection lags the catalog): the answer then carries a warning instead of a refusal.
CREATE TABLE catalog_skus (
    sku        text        PRIMARY KEY,
    product    text        NOT NULL,   -- the Product, namespace/name
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_skus_product ON catalog_skus (product);
