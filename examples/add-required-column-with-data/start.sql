-- The table as it is in production: users with an email address, and rows in it.
CREATE TABLE users (
    id bigint PRIMARY KEY,
    email text NOT NULL
);
INSERT INTO users
SELECT g, 'user' || g || '@' || (ARRAY['example.com', 'example.org', 'example.net'])[g % 3 + 1]
FROM generate_series(1, 1000) g;
ANALYZE users;
