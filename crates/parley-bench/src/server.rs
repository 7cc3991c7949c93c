//! The server under test: started by the bench (a child `parley serve` on a fresh SQLite
//! file with durable settings) or given by URL. Its memory is read from /proc.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const ACCOUNT_SID: &str = "ACbe0c4be0c4be0c4be0c4be0c4be0c4be";
pub const AUTH_TOKEN: &str = "bench-token";

pub struct Server {
    pub addr: String,
    pub account_sid: String,
    pub auth_token: String,
    child: Option<Child>,
    dir: Option<PathBuf>,
}

impl Server {
    /// Starts `bin serve` on a temporary database.
    pub async fn start(bin: &Path, extra_args: &[String]) -> Result<Server> {
        let dir =
            std::env::temp_dir().join(format!("parley-bench-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&dir)?;
        let db = dir.join("bench.db");
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--db")
            .arg(format!("sqlite://{}", db.display()))
            .arg("--log-level")
            .arg("warn")
            .args(extra_args)
            .env("PARLEY_ACCOUNT_SID", ACCOUNT_SID)
            .env("PARLEY_AUTH_TOKEN", AUTH_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut addr = None;
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.strip_prefix("Parley listening on http://") {
                addr = Some(rest.trim().to_string());
                break;
            }
        }
        let Some(addr) = addr else {
            bail!("the server exited before listening")
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            addr,
            account_sid: ACCOUNT_SID.into(),
            auth_token: AUTH_TOKEN.into(),
            child: Some(child),
            dir: Some(dir),
        })
    }

    pub fn external(url: &str, account_sid: &str, auth_token: &str) -> Result<Server> {
        let addr = url
            .trim_end_matches('/')
            .strip_prefix("http://")
            .context("--url must be http://HOST:PORT")?
            .to_string();
        Ok(Server {
            addr,
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            child: None,
            dir: None,
        })
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// (current RSS, peak RSS) in MiB, when the bench started the server.
    pub fn rss_mib(&self) -> Option<(f64, f64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
        };
        Some((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Database size on disk (file + WAL) in MiB.
    pub fn db_mib(&self) -> Option<f64> {
        let dir = self.dir.as_ref()?;
        let total: u64 = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        Some(total as f64 / (1024.0 * 1024.0))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
