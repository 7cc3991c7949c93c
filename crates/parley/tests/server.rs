//! The server commands through the binary against a real `parley serve` on port 0:
//! `flow deploy`, `flow diff` against the server's revisions, and `chat` over the live
//! event stream and by polling.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    ACCOUNT_SID, AUTH_TOKEN, TempDir, example, parley, run, run_with_stdin, seed_flow,
    seed_flow_with,
};

// ---------------------------------------------------------------------------------------
// Against a server: deploy, diff, chat

/// `parley serve` on a free port with a fresh database; killed when dropped.
struct Server {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = TempDir::new();
        let log = std::fs::File::create(dir.path("server.log")).expect("log file");
        let mut child = parley()
            .args(["serve", "--addr", "127.0.0.1:0", "--sqlite-sync", "normal"])
            .arg("--db")
            .arg(format!("sqlite://{}", dir.path("parley.db").display()))
            .env("PARLEY_ACCOUNT_SID", ACCOUNT_SID)
            .env("PARLEY_AUTH_TOKEN", AUTH_TOKEN)
            .env("PARLEY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("parley serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("Parley listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let log = std::fs::read_to_string(dir.path("server.log")).unwrap_or_default();
                panic!("the server did not start:\n{log}");
            }
        };
        Server {
            child,
            url,
            _dir: dir,
        }
    }

    /// `parley …` pointed at this server.
    fn cli(&self) -> Command {
        let mut cmd = parley();
        cmd.env("PARLEY_URL", &self.url)
            .env("PARLEY_ACCOUNT_SID", ACCOUNT_SID)
            .env("PARLEY_AUTH_TOKEN", AUTH_TOKEN);
        cmd
    }

    /// A form POST to the API, as any HTTP client would make it.
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> serde_json::Value {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{}{path}", self.url))
                .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let text = response.text().await.expect("body");
            assert!(status.is_success(), "POST {path}: {status} {text}");
            serde_json::from_str(&text).expect("JSON")
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn flow_sid(text: &str) -> String {
    let at = text
        .find("FW")
        .unwrap_or_else(|| panic!("no flow SID in {text}"));
    let sid = &text[at..at + 34];
    assert!(sid[2..].chars().all(|c| c.is_ascii_hexdigit()), "{sid}");
    sid.to_owned()
}

#[test]
fn deploy_diff_and_chat_against_a_running_server() {
    let server = Server::start();
    let started = Instant::now();

    // Deploy the tutorial flow, published.
    let r = run(server
        .cli()
        .args(["flow", "deploy", "--publish", "-m", "first"])
        .arg(example("seed-flow.json")));
    assert_eq!(r.code, 0, "{}", r.show());
    let sid = flow_sid(&r.stdout);
    assert!(
        r.stdout.contains(&format!("{sid} revision 1 (published)")),
        "{}",
        r.show()
    );
    assert!(
        r.stdout.contains(&format!(
            "webhook URL: {}/v1/Accounts/{ACCOUNT_SID}/Flows/{sid}",
            server.url
        )),
        "{}",
        r.show()
    );
    assert!(r.stderr.contains("validating"), "progress: {}", r.show());
    assert!(r.stderr.contains("not found"), "progress: {}", r.show());

    // The published revision is what the file says.
    let r = run(server
        .cli()
        .args(["flow", "diff"])
        .arg(example("seed-flow.json")));
    assert_eq!(r.code, 0, "{}", r.show());

    // A changed copy under the same name: the diff shows it, deploying makes revision 2.
    let dir = TempDir::new();
    let changed = dir.write(
        "seed-flow.json",
        &seed_flow_with("send_message_2", "body", serde_json::json!("🤖🤖")),
    );
    let r = run(server.cli().args(["flow", "diff"]).arg(&changed));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stdout
            .contains(&format!("--- {sid} revision 1 (published)")),
        "{}",
        r.show()
    );
    assert!(
        r.stdout.contains("properties.body: \"🤖\" → \"🤖🤖\""),
        "{}",
        r.show()
    );
    let r = run(server.cli().args(["flow", "deploy"]).arg(&changed));
    assert_eq!(r.code, 0, "{}", r.show());
    assert!(
        r.stdout.contains(&format!("{sid} revision 2 (draft)")),
        "updated by name, as a draft: {}",
        r.show()
    );
    let r = run(server.cli().args([
        "flow",
        "diff",
        "--sid",
        &sid,
        "LatestPublished",
        "LatestRevision",
    ]));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stdout.contains(&format!("+++ {sid} revision 2 (draft)")),
        "{}",
        r.show()
    );
    assert!(
        r.stdout.contains("properties.body: \"🤖\" → \"🤖🤖\""),
        "{}",
        r.show()
    );
    let r = run(server.cli().args(["flow", "diff", "--sid", &sid, "1", "1"]));
    assert_eq!(r.code, 0, "{}", r.show());

    // An invalid file is not deployed.
    let mut broken = seed_flow();
    broken["initial_state"] = serde_json::json!("nowhere");
    let broken = dir.write("broken.json", &broken.to_string());
    let r = run(server.cli().args(["flow", "deploy"]).arg(&broken));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(r.stderr.contains("nothing deployed"), "{}", r.show());

    // Texts to +12345678901 start a conversation with the published flow.
    server.post(
        "/v1/Configuration/Addresses",
        &[
            ("Type", "sms"),
            ("Address", "+12345678901"),
            ("AutoCreation.Enabled", "true"),
            ("AutoCreation.Type", "studio"),
            ("AutoCreation.StudioFlowSid", &sid),
        ],
    );

    // Live stream.
    let r = run_with_stdin(
        server.cli().args([
            "chat",
            "--to",
            "+12345678901",
            "--wait-replies",
            "1",
            "--timeout",
            "30",
        ]),
        "hi\nyes\n",
    );
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(
        r.stdout,
        "> hi\n< Hi, do you like bots?\n> yes\n< 🤖\n",
        "{}",
        r.show()
    );

    // Polling, from another handset.
    let r = run_with_stdin(
        server.cli().args([
            "chat",
            "--to",
            "+12345678901",
            "--from",
            "+15550001111",
            "--poll",
            "--wait-replies",
            "1",
            "--timeout",
            "30",
        ]),
        "hello\nno\n",
    );
    assert_eq!(r.code, 0, "{}", r.show());
    assert_eq!(
        r.stdout,
        "> hello\n< Hi, do you like bots?\n> no\n< 👽\n",
        "{}",
        r.show()
    );

    // A number nobody configured refuses the text: no reply will come, so waiting fails.
    let r = run_with_stdin(
        server.cli().args([
            "chat",
            "--to",
            "+19999999999",
            "--wait-replies",
            "1",
            "--timeout",
            "5",
        ]),
        "anyone?\n",
    );
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stderr.contains("+19999999999 refused the message"),
        "{}",
        r.show()
    );
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn server_commands_explain_a_missing_server_or_credentials() {
    let r = run(parley()
        .args(["flow", "diff", "--name", "x", "1", "2"])
        .env_remove("PARLEY_ACCOUNT_SID")
        .env_remove("PARLEY_AUTH_TOKEN"));
    assert_eq!(r.code, 2, "{}", r.show());
    assert!(r.stderr.contains("no Account SID"), "{}", r.show());

    let r = run(parley()
        .args([
            "chat",
            "--to",
            "+12345678901",
            "--url",
            "http://127.0.0.1:9",
        ])
        .env("PARLEY_ACCOUNT_SID", ACCOUNT_SID)
        .env("PARLEY_AUTH_TOKEN", AUTH_TOKEN)
        .stdin(Stdio::null()));
    assert_eq!(r.code, 1, "{}", r.show());
    assert!(
        r.stderr
            .contains("cannot reach the Parley server at http://127.0.0.1:9"),
        "{}",
        r.show()
    );
}
