-- accounts.mail is to be called email. The application version that reads and writes `mail`
-- keeps running until the one that uses `email` is deployed everywhere.
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    mail text NOT NULL DEFAULT ''
);
CREATE INDEX accounts_mail_idx ON accounts (mail);

INSERT INTO accounts (name, mail) VALUES
    ('Acme', 'billing@acme.example'),
    ('Globex', 'accounts@globex.example'),
    ('Initech', 'finance@initech.example');

ANALYZE;
