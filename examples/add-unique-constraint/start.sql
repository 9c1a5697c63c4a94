-- Emails are meant to be unique per account, but nothing enforces it yet (the rows already
-- satisfy it: a unique constraint cannot be added over duplicates).
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL
);

INSERT INTO accounts (name, email) VALUES
    ('Acme', 'billing@acme.example'),
    ('Globex', 'accounts@globex.example'),
    ('Initech', 'finance@initech.example');

ANALYZE;
