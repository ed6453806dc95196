//! Jangteo's HTTP service: the storefront GraphQL API, health, and the `jangteo` binary's
//! subcommands. Thin: it translates, `commerce` decides.

pub mod admin;
pub mod app;
pub mod body_limit;
pub mod cache;
pub mod client_ip;
pub mod error;
pub mod flat;
pub mod http;
pub mod limits;
pub mod media;
pub mod metrics;
pub mod multipart;
pub mod ratelimit;
pub mod shared;
pub mod storefront;
pub mod unsubscribe;
pub mod webhooks;
