-- Sales tax charged on an order (included in total_minor).
ALTER TABLE orders ADD COLUMN tax_minor bigint NOT NULL DEFAULT 0 CHECK (tax_minor >= 0);
