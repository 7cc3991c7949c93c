//! A real `parley serve` process and an HTTP client for it: what the fault tests (and any
//! other test that needs the binary as a server) share.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::{ACCOUNT_SID, AUTH_TOKEN};

/// One `parley serve` process on a database; killed (SIGKILL) when dropped. Its stderr is
/// appended to `log`, so the log of every start of a test's server is in one file.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts `parley serve --addr 127.0.0.1:0 --db DB --log-level warn ARGS…` and waits
    /// until it listens.
    pub fn start(db: &str, log: &Path, args: &[&str]) -> Server {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("server log file");
        let mut child = super::parley()
            .args(["serve", "--addr", "127.0.0.1:0", "--db", db])
            .args(["--log-level", "warn"])
            .args(args)
            .env("PARLEY_ACCOUNT_SID", ACCOUNT_SID)
            .env("PARLEY_AUTH_TOKEN", AUTH_TOKEN)
            .env_remove("PARLEY_DB")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start parley serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keep reading so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Parley listening on ") {
                    let _ = tx.send(rest.trim().to_string());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => Server {
                child,
                base,
                log: log.to_path_buf(),
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("parley serve did not start; its log:\n{}", tail(log, 40));
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `kill -9`: no shutdown, no flush, connections cut mid-transaction.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and waits for a graceful exit (SIGKILL after `patience`). True when the
    /// server stopped by itself with success.
    pub fn stop(&mut self, patience: Duration) -> bool {
        // The shell's `kill`: no libc binding needed, and every CI image has `sh`.
        let pid = self.child.id();
        let _ = Command::new("sh")
            .args(["-c", &format!("kill -TERM {pid}")])
            .status();
        let until = std::time::Instant::now() + patience;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
        false
    }

    pub fn tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Lines of a server log that show a panic (the default hook's "thread … panicked at",
/// or a store transaction that panicked and was rolled back).
pub fn panics_in(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("panicked"))
        .map(str::to_string)
        .collect()
}

/// A status and a JSON body (a string when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn sid(&self) -> String {
        self.body["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("no sid in {} {}", self.status, self.body))
            .to_string()
    }
}

/// The account's HTTP client (Basic auth with the test account).
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

impl Http {
    pub fn new() -> Http {
        Http {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
        }
    }

    async fn finish(r: reqwest::RequestBuilder) -> Result<Reply, reqwest::Error> {
        let r = r.basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN)).send().await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Reply { status, body })
    }

    /// POSTs a form; `Err` when the server could not be reached or the answer was cut off.
    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Result<Reply, reqwest::Error> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        Self::finish(
            self.client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    pub async fn get(&self, url: &str) -> Result<Reply, reqwest::Error> {
        Self::finish(self.client.get(url)).await
    }

    pub async fn delete(&self, url: &str) -> Result<Reply, reqwest::Error> {
        Self::finish(self.client.delete(url)).await
    }

    /// Every item of a list resource, following `meta.next_page_url` (`path` carries its
    /// own query, e.g. `PageSize`). Panics unless every page answers 200.
    pub async fn list_all(&self, base: &str, path: &str, key: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut url = format!("{base}{path}");
        loop {
            let page = self.get(&url).await.expect("GET a list page");
            assert_eq!(page.status, 200, "GET {url}: {}", page.body);
            out.extend(
                page.body[key]
                    .as_array()
                    .unwrap_or_else(|| panic!("no {key} in {}", page.body))
                    .iter()
                    .cloned(),
            );
            match page.body["meta"]["next_page_url"].as_str() {
                // Absolute, with the origin the server saw: keep only the path and query.
                Some(next) if !next.is_empty() => {
                    let rest = next.splitn(4, '/').nth(3).unwrap_or("");
                    url = format!("{base}/{rest}");
                }
                _ => return out,
            }
        }
    }
}

/// `+` and the like, escaped for a query string.
pub fn query_escape(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
