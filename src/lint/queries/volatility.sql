-- The most volatile overload of each function name ('i' < 's' < 'v').
SELECT p.proname AS name, max(p.provolatile::text) AS volatility
FROM pg_proc p
GROUP BY p.proname
