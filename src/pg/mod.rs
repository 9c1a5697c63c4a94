//! Talking to PostgreSQL: connection strings and connecting (`connect`), throwaway local
//! clusters (`cluster`), and scratch databases on either a throwaway cluster or a server the
//! user names (`scratch`).
//!
//! Nothing here reads or changes a schema; that is `catalog` (reading) and `ops` (changing).

pub mod cluster;
pub mod connect;
pub mod scratch;
