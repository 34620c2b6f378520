-- Whether a SKU was last announced in stock (`inventory.availability_changed`): at least one unit on hand and
-- not reserved at a location that ships online orders. Changed, with the announcement, in the transaction
-- that crosses zero, under the SKU's row lock; so one announcement per crossing. Existing SKUs start as
-- they are now, so that this migration announces nothing.
ALTER TABLE skus ADD COLUMN in_stock boolean NOT NULL DEFAULT false;
UPDATE skus k SET in_stock = EXISTS (
    SELECT 1 FROM stock s JOIN locations l ON l.name = s.location
    WHERE s.sku = k.sku AND l.can_ship AND s.on_hand > s.reserved
);
