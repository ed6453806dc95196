//! `jangteo-bot`: console, HTTP and Socket Mode front ends of the bot.

fn main() {
    println!("jangteo-bot {}", env!("CARGO_PKG_VERSION"));
}
