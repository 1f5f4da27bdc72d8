//! A real browser for the page tests: Debian's headless Chromium driven
//! through ChromeDriver's W3C WebDriver API. One ChromeDriver per test
//! process (it exits with the process); one browser session per test.
//!
//! The dozen WebDriver calls are plain JSON over our reqwest: the crates
//! that wrap them (fantoccini, thirtyfour) bring a second `http` major and
//! Mozilla's `webdriver` crate with a second ICU stack.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    url: String,
    _own: (Child, ChildStdin),
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("Chromium is not installed: run scripts/test.sh, or apt-get install chromium chromium-driver")
}

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        let _ = chromium();
        let port = crate::common::free_port();
        // The shell stops ChromeDriver when this process's end closes its stdin.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "chromedriver --port={port} >&2 & pid=$!; echo started; read _; kill $pid"
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts chromedriver");
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the wrapper starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            url,
            _own: (child, stdin),
        }
    })
}

/// One headless Chromium window.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    /// Where screenshots go: the test's output folder.
    pub shots: PathBuf,
}

impl Browser {
    pub async fn open(test: &str) -> Browser {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         "--no-first-run", "--disable-extensions"]
            }
        }}});
        let mut last = String::new();
        // ChromeDriver may still be starting.
        for _ in 0..50 {
            match http
                .post(format!("{}/session", driver().url))
                .json(&caps)
                .send()
                .await
            {
                Ok(r) => {
                    let v: Value = r.json().await.unwrap();
                    if let Some(id) = v["value"]["sessionId"].as_str() {
                        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                            .join("screenshots")
                            .join(test);
                        std::fs::create_dir_all(&shots).unwrap();
                        return Browser {
                            http,
                            session: id.to_string(),
                            shots,
                        };
                    }
                    last = v.to_string();
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no browser session: {last}");
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", driver().url, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if let Some(err) = v["value"]["error"].as_str() {
            panic!("webdriver {path}: {err}: {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn find_all(&self, css: &str) -> Vec<String> {
        self.cmd(
            reqwest::Method::POST,
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[ELEMENT].as_str().unwrap().to_string())
        .collect()
    }

    async fn find(&self, css: &str) -> String {
        self.find_all(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element matches {css}"))
    }

    /// The rendered text of every element `css` matches.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.find_all(css).await {
            let t = self
                .cmd(reqwest::Method::GET, &format!("/element/{e}/text"), None)
                .await;
            out.push(t.as_str().unwrap_or_default().to_string());
        }
        out
    }

    pub async fn text(&self, css: &str) -> String {
        self.texts(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element matches {css}"))
    }

    pub async fn count(&self, css: &str) -> usize {
        self.find_all(css).await.len()
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Clicks something that loads another page (a link, a form's button)
    /// and waits until that page has loaded: a click returns before a
    /// form's answer arrives on a busy machine.
    pub async fn click_to_load(&self, css: &str) {
        self.run("window.__mfOld = true; return true").await;
        self.click(css).await;
        for _ in 0..200 {
            let loaded = self
                .run("return window.__mfOld === undefined && document.readyState === 'complete'")
                .await;
            if loaded == true {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no page loaded after clicking {css}");
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Runs `script` in the page; it calls `done(result)` when finished.
    pub async fn run_async(&self, script: &str) -> Value {
        let body = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({ "script": body, "args": [] })),
        )
        .await
    }

    pub async fn run(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Saves a PNG of the window as `name.png` in the test's folder.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn close(self) {
        let url = format!("{}/session/{}", driver().url, self.session);
        let _ = self.http.delete(url).send().await;
    }
}
