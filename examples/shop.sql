-- A small shop: customers, products, orders. Used by `make demo` (dbarch inspect examples/shop.sql).
CREATE SCHEMA shop;
COMMENT ON SCHEMA shop IS 'Online shop: catalogue and orders';

CREATE TYPE shop.order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');

CREATE DOMAIN shop.email AS text
    CHECK (VALUE ~ '^[^@\s]+@[^@\s]+$');

CREATE TABLE shop.customer (
    customer_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       shop.email NOT NULL UNIQUE,
    full_name   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE shop.customer IS 'People who can place orders';

CREATE TABLE shop.product (
    product_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    price       numeric(12, 2) NOT NULL CHECK (price >= 0),
    attributes  jsonb NOT NULL DEFAULT '{}',
    discontinued_at timestamptz
);
CREATE INDEX product_attributes_idx ON shop.product USING gin (attributes);
CREATE INDEX product_active_name_idx ON shop.product (lower(name)) WHERE discontinued_at IS NULL;

CREATE TABLE shop."order" (
    order_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES shop.customer ON DELETE RESTRICT,
    status      shop.order_status NOT NULL DEFAULT 'pending',
    placed_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_customer_id_idx ON shop."order" (customer_id, placed_at DESC);

CREATE TABLE shop.order_item (
    order_id    bigint NOT NULL REFERENCES shop."order" ON DELETE CASCADE,
    line_no     integer NOT NULL,
    product_id  bigint NOT NULL REFERENCES shop.product,
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_price  numeric(12, 2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_item_product_id_idx ON shop.order_item (product_id);

CREATE VIEW shop.order_total AS
SELECT o.order_id, o.customer_id, sum(i.quantity * i.unit_price) AS total
FROM shop."order" o JOIN shop.order_item i USING (order_id)
GROUP BY o.order_id, o.customer_id;

CREATE FUNCTION shop.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER customer_touch BEFORE UPDATE ON shop.customer
    FOR EACH ROW EXECUTE FUNCTION shop.touch_updated_at();
