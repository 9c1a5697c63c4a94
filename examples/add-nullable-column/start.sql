-- A table in use: accounts with a name, no email yet.
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO accounts (name) VALUES ('Acme'), ('Globex'), ('Initech');

ANALYZE;
