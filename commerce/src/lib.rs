//! Jangteo's core: the domain rules and their persistence (sqlx on PostgreSQL).
//!
//! `commerce` decides; the `graphql` crate and the bot only translate. Every public
//! function names the error codes it can return (see [`Code`]).
#![warn(missing_docs)]

pub mod address;
pub mod alerts;
pub mod auth;
pub mod bot_state;
pub mod cart;
pub mod catalog;
pub mod catalog_admin;
pub mod checkout;
pub mod cms;
pub mod customer;
pub mod db;
pub mod demo;
pub mod error;
pub mod ids;
pub mod inquiry;
pub mod jobs;
pub mod media;
pub mod metrics;
pub mod money;
pub mod notify;
pub mod order;
pub mod pagination;
pub mod password_reset;
pub mod payment;
pub mod pricing;
pub mod promotion;
pub mod seed_orders;
pub mod session;
pub mod settings;
pub mod shipping;
pub mod staff;
pub mod stats;
pub mod types;

pub use error::{Code, Error, Lang};
pub use money::Won;
pub use settings::Settings;

/// The shop's time zone: every "day", "week" and "month" is a Seoul calendar period.
pub const SHOP_TZ: chrono_tz::Tz = chrono_tz::Asia::Seoul;

/// The migrations of `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
