-- An enum value whose name no longer says what it means: 'delivered' becomes 'completed'.
CREATE TYPE order_status AS ENUM ('pending', 'shipped', 'delivered');

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status order_status NOT NULL DEFAULT 'pending'
);

INSERT INTO orders (status) VALUES ('pending'), ('shipped'), ('delivered'), ('delivered');

ANALYZE;
