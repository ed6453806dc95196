//! Jangteo's Slack bot: a client of the admin GraphQL API (bot token, DESIGN.md §1) that
//! answers `/sales`, `/order` and `/stock`, posts the daily report and proactive alerts, and
//! relays Sentry webhooks into Slack channels.

pub mod answer;
pub mod api;
pub mod command;
pub mod console;
pub mod format;
pub mod handlers;
pub mod http;
pub mod schedule;
pub mod sentry_relay;
pub mod settings;
pub mod slack;
pub mod socket;
pub mod verify;
pub mod views;
