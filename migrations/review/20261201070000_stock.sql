-- Availability per SKU as inventory announces it (`inventory.availability_changed`): only crossings of zero
-- are announced, so a SKU never heard of is not known to be out of stock. `changed_at` is the
-- announcement's time: an older one arriving late changes nothing.
CREATE TABLE stock (
    sku        text PRIMARY KEY,
    in_stock   boolean     NOT NULL,
    changed_at timestamptz NOT NULL
);

-- Set when the item's SKU is out of stock while it is on the wishlist (or when it was saved); with the SKU
-- in stock again it makes the item "back in stock".
ALTER TABLE wishlist_items ADD COLUMN was_out_of_stock boolean NOT NULL DEFAULT false;
