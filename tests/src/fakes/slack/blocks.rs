//! The Block Kit limits Slack enforces when a message is posted (docs.slack.dev,
//! reference/block-kit/blocks): a message the fake accepts is one Slack would accept, as far
//! as the blocks the bot uses go. Errors read like Slack's `response_metadata.messages`.

use std::collections::HashSet;

use serde_json::Value;

/// Blocks per message.
const MAX_BLOCKS: usize = 50;
/// Block types Slack knows in messages.
const TYPES: &[&str] = &[
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "table",
    "video",
];

/// Checks `blocks` (the parsed `blocks` argument); `Err` holds one message per problem.
pub(super) fn validate(blocks: &Value) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let Some(list) = blocks.as_array() else {
        return Err(vec!["[ERROR] must be an array [json-pointer:/blocks]".into()]);
    };
    if list.len() > MAX_BLOCKS {
        errors.push(format!(
            "[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
        ));
    }
    let mut ids = HashSet::new();
    for (i, block) in list.iter().enumerate() {
        let at = format!("/blocks/{i}");
        let mut e = |msg: &str, path: &str| errors.push(format!("[ERROR] {msg} [json-pointer:{at}{path}]"));
        let Some(kind) = block.get("type").and_then(Value::as_str) else {
            e("missing required field: type", "");
            continue;
        };
        if !TYPES.contains(&kind) {
            e(&format!("unsupported type: {kind}"), "/type");
            continue;
        }
        if let Some(id) = block.get("block_id") {
            match id.as_str() {
                Some(s) if s.len() <= 255 && ids.insert(s.to_owned()) => {}
                Some(s) if s.len() <= 255 => e("duplicate block_id", "/block_id"),
                _ => e("must be a string of at most 255 characters", "/block_id"),
            }
        }
        match kind {
            "header" => text_object(block.get("text"), Some("plain_text"), 150, "/text", &mut e),
            "section" => section(block, &mut e),
            "context" => elements(block, 10, &mut e),
            "actions" => {
                elements(block, 25, &mut e);
                for (j, el) in block["elements"].as_array().into_iter().flatten().enumerate() {
                    if el["type"] == "button" {
                        button(el, &format!("/elements/{j}"), &mut e);
                    }
                }
            }
            "image" => {
                if block.get("image_url").is_none() && block.get("slack_file").is_none() {
                    e("must provide image_url or slack_file", "");
                }
                match block.get("alt_text").and_then(Value::as_str) {
                    Some(a) if a.chars().count() <= 2000 => {}
                    _ => e("missing required field: alt_text", "/alt_text"),
                }
            }
            _ => {}
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A text object: `plain_text` or `mrkdwn` (or only `only`), 1 to `max` characters.
fn text_object(t: Option<&Value>, only: Option<&str>, max: usize, path: &str, e: &mut impl FnMut(&str, &str)) {
    let Some(t) = t else {
        e("missing required field: text", path);
        return;
    };
    let kind = t.get("type").and_then(Value::as_str);
    let allowed = match only {
        Some(k) => kind == Some(k),
        None => matches!(kind, Some("plain_text" | "mrkdwn")),
    };
    if !allowed {
        e(
            &format!("must be a {} text object", only.unwrap_or("plain_text or mrkdwn")),
            &format!("{path}/type"),
        );
    }
    match t.get("text").and_then(Value::as_str) {
        None => e("missing required field: text", &format!("{path}/text")),
        Some("") => e("must be more than 0 characters", &format!("{path}/text")),
        Some(s) if s.chars().count() > max => e(
            &format!("must be less than {} characters", max + 1),
            &format!("{path}/text"),
        ),
        Some(_) => {}
    }
}

fn section(block: &Value, e: &mut impl FnMut(&str, &str)) {
    let fields = block.get("fields").and_then(Value::as_array);
    if block.get("text").is_none() && fields.is_none() {
        e("must provide text or fields", "");
    }
    if block.get("text").is_some() {
        text_object(block.get("text"), None, 3000, "/text", e);
    }
    if let Some(fields) = fields {
        if fields.len() > 10 {
            e("no more than 10 items allowed", "/fields");
        }
        for (i, f) in fields.iter().enumerate() {
            text_object(Some(f), None, 2000, &format!("/fields/{i}"), e);
        }
    }
}

fn elements(block: &Value, max: usize, e: &mut impl FnMut(&str, &str)) {
    match block.get("elements").and_then(Value::as_array) {
        None => e("missing required field: elements", "/elements"),
        Some(a) if a.is_empty() => e("must provide at least 1 item", "/elements"),
        Some(a) if a.len() > max => e(&format!("no more than {max} items allowed"), "/elements"),
        Some(_) => {}
    }
}

fn button(el: &Value, path: &str, e: &mut impl FnMut(&str, &str)) {
    text_object(el.get("text"), Some("plain_text"), 75, &format!("{path}/text"), e);
    if el
        .get("action_id")
        .and_then(Value::as_str)
        .is_some_and(|a| a.len() > 255)
    {
        e("must be less than 256 characters", &format!("{path}/action_id"));
    }
    if el.get("value").and_then(Value::as_str).is_some_and(|v| v.len() > 2000) {
        e("must be less than 2001 characters", &format!("{path}/value"));
    }
    if el.get("url").and_then(Value::as_str).is_some_and(|u| u.len() > 3000) {
        e("must be less than 3001 characters", &format!("{path}/url"));
    }
}
