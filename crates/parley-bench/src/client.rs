//! A small HTTP/1.1 client over keep-alive connections. The load generator shares the
//! machine with the server, so it must cost little: requests are written in one buffer,
//! responses parsed by Content-Length, no TLS, no redirects, no pooling magic.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// Where requests go and how they authenticate.
#[derive(Clone)]
pub struct Target {
    pub addr: String,
    pub authorization: Arc<str>,
}

impl Target {
    pub fn new(addr: &str, account_sid: &str, auth_token: &str) -> Target {
        use base64::Engine;
        let creds =
            base64::engine::general_purpose::STANDARD.encode(format!("{account_sid}:{auth_token}"));
        Target {
            addr: addr.to_string(),
            authorization: Arc::from(format!("Basic {creds}")),
        }
    }
}

pub struct Conn {
    stream: BufReader<TcpStream>,
    target: Target,
    buf: Vec<u8>,
}

pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "response is not JSON: {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

impl Conn {
    pub async fn connect(target: &Target) -> Result<Conn> {
        let stream = TcpStream::connect(&target.addr)
            .await
            .with_context(|| format!("connect {}", target.addr))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream: BufReader::with_capacity(16 * 1024, stream),
            target: target.clone(),
            buf: Vec::with_capacity(1024),
        })
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        form: Option<&str>,
    ) -> Result<Response> {
        self.buf.clear();
        let body = form.unwrap_or("");
        self.buf.extend_from_slice(method.as_bytes());
        self.buf.push(b' ');
        self.buf.extend_from_slice(path.as_bytes());
        self.buf.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.buf.extend_from_slice(self.target.addr.as_bytes());
        self.buf.extend_from_slice(b"\r\nAuthorization: ");
        self.buf
            .extend_from_slice(self.target.authorization.as_bytes());
        if form.is_some() {
            self.buf
                .extend_from_slice(b"\r\nContent-Type: application/x-www-form-urlencoded");
        }
        self.buf
            .extend_from_slice(format!("\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
        self.buf.extend_from_slice(body.as_bytes());
        self.stream.get_mut().write_all(&self.buf).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> Result<Response> {
        let mut line = String::new();
        if self.stream.read_line(&mut line).await? == 0 {
            bail!("connection closed by the server");
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("connection closed in the headers");
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await?;
        Ok(Response { status, body })
    }
}

/// Connections shared by many virtual users: at most `size` requests in flight.
pub struct Pool {
    target: Target,
    idle: Mutex<Vec<Conn>>,
    permits: tokio::sync::Semaphore,
}

impl Pool {
    pub fn new(target: Target, size: usize) -> Arc<Pool> {
        Arc::new(Pool {
            target,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(size),
        })
    }

    /// Sends one request on a pooled connection (reconnecting once if it was closed).
    pub async fn request(&self, method: &str, path: &str, form: Option<&str>) -> Result<Response> {
        let _permit = self.permits.acquire().await?;
        let conn = self.idle.lock().await.pop();
        let mut conn = match conn {
            Some(c) => c,
            None => Conn::connect(&self.target).await?,
        };
        let result = match conn.request(method, path, form).await {
            Ok(r) => Ok(r),
            Err(_) => {
                conn = Conn::connect(&self.target).await?;
                conn.request(method, path, form).await
            }
        };
        if result.is_ok() {
            self.idle.lock().await.push(conn);
        }
        result
    }
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}
