-- Orders move through a status enum; a new status is needed between two existing ones.
CREATE TYPE order_status AS ENUM ('pending', 'shipped', 'delivered');

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status order_status NOT NULL DEFAULT 'pending'
);

INSERT INTO orders (status) VALUES ('pending'), ('shipped'), ('delivered'), ('delivered');

ANALYZE;
