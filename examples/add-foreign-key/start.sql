-- orders.account_id points at accounts, but nothing enforces it yet (every order's account
-- exists). The referencing column is already indexed, so deletes on accounts stay cheap.
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL,
    total numeric(12, 2) NOT NULL
);

CREATE INDEX orders_account_id_idx ON orders (account_id);

INSERT INTO accounts (name) VALUES ('Acme'), ('Globex'), ('Initech');
INSERT INTO orders (account_id, total)
SELECT i % 3 + 1, i * 1.25 FROM generate_series(1, 30) AS i;

ANALYZE;
