-- Orders are looked up by account, and nothing indexes account_id yet.
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL,
    total numeric(12, 2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO orders (account_id, total, created_at)
SELECT i % 10 + 1, i * 1.25, timestamptz '2026-01-01' + i * interval '1 hour'
FROM generate_series(1, 100) AS i;

ANALYZE;
