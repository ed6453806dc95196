//! `jangteo-bot console`: the bot without Slack. Each line on stdin is a command (`/sales
//! 어제`, `stock low`); the answer is printed as text and charts are written as PNG files
//! (the path printed). The bot token's own rights apply: there is no Slack user.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::{
    answer::{Answer, Request, answer},
    api::Api,
};

/// Reads commands from `input` until it ends, writing answers to `out` and charts under
/// `chart_dir`. `prompt`: print `> ` before each line (a terminal).
pub async fn run<R, W>(api: &Api, input: R, out: &mut W, chart_dir: &Path, prompt: bool) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let mut lines = input.lines();
    loop {
        if prompt {
            write!(out, "> ")?;
            out.flush()?;
        }
        let Some(line) = lines.next_line().await? else { break };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if matches!(line, "quit" | "exit" | "/quit" | "/exit") {
            break;
        }
        let req = Request {
            text: line.to_owned(),
            slack_user_id: None,
            channel_id: None,
        };
        let a = answer(api, &req).await;
        writeln!(out, "{}", a.text)?;
        if let Some(path) = save_chart(&a, chart_dir).await {
            writeln!(out, "차트: {}", path.display())?;
        }
        writeln!(out)?;
        out.flush()?;
    }
    Ok(())
}

/// Writes the answer's chart under `dir` (made if missing) with a time-stamped name.
async fn save_chart(a: &Answer, dir: &Path) -> Option<PathBuf> {
    let chart = a.chart.as_ref()?;
    let stamp = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y%m%d-%H%M%S");
    let path = dir.join(format!("{stamp}-{}", chart.filename));
    let written = async {
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::write(&path, &chart.png).await
    }
    .await;
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "writing the chart failed");
            None
        }
    }
}
