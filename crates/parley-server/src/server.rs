//! `parley serve`: open the store, make sure an account exists, bind, run the HTTP API and
//! the job workers, and shut down gracefully on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use parley_store::{DbUrl, Durability, Store};

use crate::app::{App, Config};
use crate::core::{ManualClock, RandomSids, Shutdown, SystemClock};
use crate::domain::accounts;
use crate::error::Error;

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub db: DbUrl,
    pub durability: Durability,
    /// Bootstrap this account (tests, scripts); otherwise the first start creates one.
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub config: Config,
}

/// What `serve` prints so that a person or a test can find the server and its account.
pub struct Started {
    pub addr: SocketAddr,
    pub account_sid: String,
    /// Shown only when the account was created by this start.
    pub new_auth_token: Option<String>,
}

/// Opens the store and bootstraps the account; returns the app ready to serve.
pub async fn prepare(opts: &ServeOptions) -> anyhow::Result<(App, String, Option<String>)> {
    let store = Store::open(&opts.db, opts.durability)?;
    let sids: Arc<dyn crate::core::SidGen> = Arc::new(RandomSids);
    let app = if opts.config.dev_clock {
        App::with_manual_clock(
            store,
            Arc::new(ManualClock::new(SystemClock.now_ms_static())),
            sids,
            opts.config.clone(),
        )
    } else {
        App::new(store, Arc::new(SystemClock), sids, opts.config.clone())
    };
    let (account_sid, new_token) =
        bootstrap_account(&app, opts.account_sid.clone(), opts.auth_token.clone()).await?;
    if let Some(mb) = opts.config.storage_quota_mb {
        apply_storage_quota(&app, mb).await?;
    }
    Ok((app, account_sid, new_token))
}

/// Caps the SQLite file (`PRAGMA max_page_count` on the writer): past it, writes fail with
/// "storage full" (503) and nothing is corrupted; deleting data frees room again.
async fn apply_storage_quota(app: &App, mb: u64) -> anyhow::Result<()> {
    if app.store().kind() != parley_store::BackendKind::Sqlite {
        anyhow::bail!("--storage-quota-mb applies to SQLite only");
    }
    let pages = (mb.max(1) * 1024 * 1024 / 4096) as i64;
    app.store()
        .write(move |tx| -> Result<(), Error> {
            // An integer formatted here, not user text: PRAGMA takes no bound parameters.
            tx.query_i64(&format!("PRAGMA max_page_count = {pages}"), &[])?;
            Ok(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot set the storage quota: {e}"))
}

async fn bootstrap_account(
    app: &App,
    sid: Option<String>,
    token: Option<String>,
) -> anyhow::Result<(String, Option<String>)> {
    let a2 = app.clone();
    let out = app
        .store()
        .write(move |tx| -> Result<(String, Option<String>), Error> {
            // Scale-out: nodes starting together on one database must not both create
            // the account (or its defaults); the second waits, then finds it.
            tx.lock_key("parley:bootstrap")?;
            let now = a2.now_ms();
            let sids = a2.sids().as_ref();
            if sid.is_some() || token.is_some() {
                let sid = sid.clone().unwrap_or_else(|| sids.sid("AC"));
                let token_given = token.is_some();
                let token = token.clone().unwrap_or_else(|| sids.secret());
                let (acct, created) = accounts::ensure_account(tx, sids, now, &sid, &token)?;
                let show = (created && !token_given).then(|| acct.auth_token.clone());
                return Ok((acct.sid, show));
            }
            if let Some(acct) = accounts::first_account(tx)? {
                return Ok((acct.sid, None));
            }
            let acct = accounts::create_account(
                tx,
                sids,
                now,
                accounts::NewAccount {
                    sid: None,
                    auth_token: None,
                    friendly_name: "Parley account".into(),
                    owner_account_sid: None,
                },
            )?;
            Ok((acct.sid, Some(acct.auth_token)))
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot bootstrap the account: {e}"))?;
    Ok(out)
}

/// Serves until SIGINT/SIGTERM (or `shutdown`). `on_started` is told the bound address.
pub async fn serve(
    opts: ServeOptions,
    shutdown: Shutdown,
    on_started: impl FnOnce(&Started),
) -> anyhow::Result<()> {
    let (app, account_sid, new_token) = prepare(&opts).await?;
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", opts.addr))?;
    let addr = listener.local_addr()?;
    let _ = app.config().bound_addr.set(addr);
    on_started(&Started {
        addr,
        account_sid,
        new_auth_token: new_token,
    });

    listen_to_other_nodes(&app, shutdown.clone());
    let worker = tokio::spawn(crate::runtime::jobs::worker(app.clone(), shutdown.clone()));
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signals.trigger();
    });
    let router = crate::api::router(app.clone());
    let stop = shutdown.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.triggered().await })
        .await?;
    let _ = worker.await;
    Ok(())
}

/// Scale-out on PostgreSQL: several nodes share the database and nothing else. This node
/// announces its live events to the others, and hears theirs and their newly scheduled
/// jobs (LISTEN/NOTIFY), so its workers wake at once instead of at their next poll.
fn listen_to_other_nodes(app: &App, shutdown: Shutdown) {
    if !app.store().is_shared() {
        return;
    }
    app.live().set_shared(true);
    let mut listener = app.store().listen(&[
        crate::domain::JOBS_CHANNEL,
        crate::runtime::live::LIVE_CHANNEL,
    ]);
    let app = app.clone();
    tokio::spawn(async move {
        loop {
            let note = tokio::select! {
                n = listener.recv() => n,
                _ = shutdown.triggered() => return,
            };
            match note {
                // Another node's jobs: when they are due is not said, so look.
                Some(n) if n.channel == crate::domain::JOBS_CHANNEL => app.jobs_wake().look_now(),
                Some(n) if n.channel == crate::runtime::live::LIVE_CHANNEL => {
                    app.live().publish_announced(&n.payload)
                }
                Some(_) => {}
                None => return,
            }
        }
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
