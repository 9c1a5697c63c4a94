-- An enum value the application no longer uses: 'on_hold' goes, and the orders that still
-- hold it become 'pending'.
CREATE TYPE order_status AS ENUM ('pending', 'on_hold', 'shipped', 'delivered');

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status order_status NOT NULL DEFAULT 'pending'
);

CREATE INDEX orders_status ON orders (status);

INSERT INTO orders (status) VALUES ('pending'), ('on_hold'), ('shipped'), ('delivered'), ('on_hold');

ANALYZE;
