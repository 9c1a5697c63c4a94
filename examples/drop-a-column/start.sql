-- users.nickname is no longer read or written by the application version now in production:
-- the release before this one stopped using it. The column, its index and its data are to go.
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    nickname text
);

CREATE INDEX users_nickname_idx ON users (nickname);

INSERT INTO users (email, nickname) VALUES
    ('ada@example.com', 'ada'),
    ('grace@example.com', NULL),
    ('linus@example.com', 'torvalds');

ANALYZE;
