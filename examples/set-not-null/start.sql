-- accounts.email was added as nullable; every row now has one (backfilled), and the column
-- is to become required.
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text
);

INSERT INTO accounts (name, email) VALUES
    ('Acme', 'billing@acme.example'),
    ('Globex', 'accounts@globex.example'),
    ('Initech', 'finance@initech.example');

ANALYZE;
