//! WebSocket listeners (IRCv3 WebSocket): both subprotocols talking with a TCP client,
//! fragmented messages, bad and oversized messages closed with the right status code, a
//! client that never reads, and the built-in web client page over plain HTTP.

mod common;
use common::ws::{self, WsClient};
use common::{flood_until_sendq_closed, join, TestClient, TestServer, EASY};
use portico::config::Config;
use portico::net::Options;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::Message;

/// A plain listener (first) and a WebSocket one (second), with [`EASY`] limits.
fn start(extra: &str) -> TestServer {
    start_with(&format!("{EASY}{extra}"))
}

fn start_with(extra: &str) -> TestServer {
    let text = format!(
        "[server]\nname = \"irc.test\"\nid = 1\nnetwork = \"TestNet\"\nmotd = \"Hi\"\n\n\
         [[listen]]\naddress = \"127.0.0.1:0\"\n\n\
         [[listen]]\naddress = \"127.0.0.2:0\"\nwebsocket = true\n\n\
         {extra}"
    );
    let cfg = Config::parse(&text, "test.toml").expect("test config");
    TestServer::with_options(Options::new(cfg))
}

/// Like [`start`], the WebSocket listener with TLS (the test certificate, copied to `dir`);
/// `limits` goes into the `[limits]` table.
fn start_wss(dir: &common::TempDir, limits: &str) -> TestServer {
    dir.copy(&common::tls::data("server.crt"), "cert.pem");
    dir.copy(&common::tls::data("server.key"), "key.pem");
    let text = format!(
        "[server]\nname = \"irc.test\"\nid = 1\nnetwork = \"TestNet\"\nmotd = \"Hi\"\n\n\
         [[listen]]\naddress = \"127.0.0.1:0\"\n\n\
         [[listen]]\naddress = \"127.0.0.2:0\"\nwebsocket = true\ntls = true\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\n\
         {EASY}{limits}"
    );
    let path = dir.write("portico.toml", &text);
    TestServer::with_options(Options::new(Config::load(&path).expect("test config")))
}

fn ws_addr(s: &TestServer) -> SocketAddr {
    s.running.addrs[1]
}

fn ws_user(s: &TestServer, nick: &str, protocols: &[&str]) -> WsClient {
    let mut c = ws::connect(ws_addr(s), protocols);
    c.register(nick);
    c
}

fn ws_join(c: &mut WsClient, chan: &str) {
    c.send(&format!("JOIN {chan}"));
    c.skip_until(" 366 ");
}

#[test]
fn text_and_binary_clients_talk_with_a_tcp_client() {
    let s = start("");
    let mut tcp = s.user("tcp");
    join(&mut tcp, "#t");
    let mut text = ws::connect(ws_addr(&s), &["text.ircv3.net", "binary.ircv3.net"]);
    assert_eq!(text.protocol.as_deref(), Some("text.ircv3.net"));
    let mut binary = ws::connect(ws_addr(&s), &["binary.ircv3.net", "text.ircv3.net"]);
    assert_eq!(binary.protocol.as_deref(), Some("binary.ircv3.net"));
    // No subprotocol: text, and no Sec-WebSocket-Protocol in the answer.
    let mut bare = ws::connect(ws_addr(&s), &[]);
    assert_eq!(bare.protocol, None);
    for (c, nick) in [
        (&mut text, "wtext"),
        (&mut binary, "wbin"),
        (&mut bare, "wbare"),
    ] {
        c.register(nick);
        ws_join(c, "#t");
    }
    tcp.skip_until(":wbare!~wbare@127.0.0.1 JOIN #t");

    tcp.send("PRIVMSG #t :hello from tcp");
    for c in [&mut text, &mut binary, &mut bare] {
        c.skip_until(":tcp!~tcp@127.0.0.1 PRIVMSG #t :hello from tcp");
    }
    text.send("PRIVMSG #t :from text");
    tcp.expect(":wtext!~wtext@127.0.0.1 PRIVMSG #t :from text");
    binary.expect(":wtext!~wtext@127.0.0.1 PRIVMSG #t :from text");
    // A trailing CRLF inside a message is taken too.
    binary.send("PRIVMSG #t :from binary\r\n");
    tcp.expect(":wbin!~wbin@127.0.0.1 PRIVMSG #t :from binary");
    text.expect(":wbin!~wbin@127.0.0.1 PRIVMSG #t :from binary");
    bare.send("PRIVMSG tcp :private");
    tcp.expect(":wbare!~wbare@127.0.0.1 PRIVMSG tcp :private");

    // QUIT: the ERROR line, then a normal close.
    text.send("QUIT :bye");
    text.expect("ERROR :Closing Link: 127.0.0.1 (Quit: bye)");
    assert_eq!(text.close_code(), CloseCode::Normal);
    tcp.expect(":wtext!~wtext@127.0.0.1 QUIT :Quit: bye");
}

#[test]
fn a_fragmented_message_is_reassembled_and_pings_are_answered() {
    let s = start("");
    let mut tcp = s.user("tcp");
    let mut c = ws_user(&s, "frag", &["text.ircv3.net"]);
    let first = Frame::message(&b"PRIVMSG tcp :hel"[..], OpCode::Data(Data::Text), false);
    let second = Frame::message(&b"lo wor"[..], OpCode::Data(Data::Continue), false);
    let last = Frame::message(&b"ld"[..], OpCode::Data(Data::Continue), true);
    c.ws.send(Message::Frame(first)).unwrap();
    c.ws.send(Message::Frame(second)).unwrap();
    // A control frame may come between fragments (RFC 6455 5.4).
    c.ws.send(Message::Ping(b"p1".to_vec().into())).unwrap();
    c.ws.send(Message::Frame(last)).unwrap();
    tcp.expect(":frag!~frag@127.0.0.1 PRIVMSG tcp :hello world");
    match c.ws.read().unwrap() {
        Message::Pong(p) => assert_eq!(&p[..], b"p1"),
        other => panic!("expected the pong, got {other:?}"),
    }
}

#[test]
fn a_long_line_is_417_and_an_oversized_message_closes_with_1009() {
    let s = start("");
    let mut tcp = s.user("tcp");
    let mut c = ws_user(&s, "big", &["text.ircv3.net"]);
    // Longer than an IRC line: the same 417 as on TCP, and the client stays.
    c.send(&format!("PRIVMSG tcp :{}", "x".repeat(9000)));
    c.expect(":irc.test 417 big :Input line was too long");
    c.send("PRIVMSG tcp :still here");
    tcp.expect(":big!~big@127.0.0.1 PRIVMSG tcp :still here");
    // Far past any line: closed with 1009 (message too big).
    c.send(&format!("PRIVMSG tcp :{}", "x".repeat(40_000)));
    c.expect("ERROR :Closing Link: 127.0.0.1 (WebSocket message too long)");
    assert_eq!(c.close_code(), CloseCode::Size);
}

#[test]
fn invalid_utf8_in_a_text_message_closes_with_1007() {
    let s = start("");
    let mut c = ws_user(&s, "bad", &["text.ircv3.net"]);
    let frame = Frame::message(&b"PRIVMSG #x :\xff\xfe"[..], OpCode::Data(Data::Text), true);
    c.ws.send(Message::Frame(frame)).unwrap();
    c.expect("ERROR :Closing Link: 127.0.0.1 (WebSocket text is not UTF-8)");
    assert_eq!(c.close_code(), CloseCode::Invalid);
}

#[test]
fn binary_messages_carry_bytes_that_are_not_utf8() {
    let s = start("");
    let mut tcp = s.user("tcp");
    let mut c = ws_user(&s, "latin", &["binary.ircv3.net"]);
    c.ws.send(Message::binary(b"PRIVMSG tcp :caf\xe9".to_vec()))
        .unwrap();
    assert_eq!(
        tcp.line_bytes(),
        b":latin!~latin@127.0.0.1 PRIVMSG tcp :caf\xe9"
    );
    // The text subprotocol gets U+FFFD for what is not UTF-8.
    let mut t = ws_user(&s, "utf", &["text.ircv3.net"]);
    tcp.send_raw(b"PRIVMSG utf :caf\xe9\r\n");
    t.expect(":tcp!~tcp@127.0.0.1 PRIVMSG utf :caf\u{fffd}");
}

#[test]
fn a_websocket_client_that_never_reads_is_closed_for_its_sendq() {
    // The flooder is an operator: exempt from flood control.
    let s = start("sendq_bytes = 65536\n[[oper]]\nname = \"f\"\npassword = \"f\"\n");
    let mut slow = ws::connect_small_rcvbuf(ws_addr(&s), &["text.ircv3.net"]);
    slow.register("slow");
    ws_join(&mut slow, "#f");
    let mut flooder = s.user("flooder");
    flooder.send("OPER f f");
    flooder.skip_until(" 381 ");
    join(&mut flooder, "#f");
    flood_until_sendq_closed(&mut flooder, "#f", "slow");
}

/// Sends `request` to the WebSocket listener and reads the whole answer (the server closes).
fn http(s: &TestServer, request: &str) -> (String, Vec<(String, String)>, String) {
    let mut sock = TcpStream::connect(ws_addr(s)).unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    sock.write_all(request.as_bytes()).unwrap();
    let mut all = Vec::new();
    sock.read_to_end(&mut all)
        .expect("the server closes after answering");
    let all = String::from_utf8(all).unwrap();
    let (head, body) = all.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap();
            (k.to_ascii_lowercase(), v.to_string())
        })
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

#[test]
fn a_plain_get_serves_the_web_client_page() {
    let s = start("");
    let host = ws_addr(&s).to_string();
    let (status, headers, body) = http(
        &s,
        &format!("GET /?nick=a HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\n\r\n"),
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&headers, "content-length"), body.len().to_string());
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    let csp = header(&headers, "content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; script-src 'sha256-"),
        "{csp}"
    );
    assert!(
        csp.contains(&format!("connect-src 'self' ws://{host} wss://{host};")),
        "{csp}"
    );
    assert!(body.contains("<title>Portico web client</title>"));
    assert!(body.contains("text.ircv3.net"));
    // The page escapes what it shows: no innerHTML anywhere.
    assert!(!body.contains("innerHTML"));

    let (status, _, _) = http(&s, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let (status, headers, _) = http(
        &s,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(header(&headers, "allow"), "GET");
    let (status, _, _) = http(&s, "NICK nothttp\r\nUSER a 0 * :b\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    // A Host that could break out of the header is not repeated.
    let (_, headers, _) = http(&s, "GET / HTTP/1.1\r\nHost: a; script-src *\r\n\r\n");
    let csp = header(&headers, "content-security-policy");
    assert!(csp.contains("connect-src 'self';"), "{csp}");
    // Plain IRC clients are not affected by any of it.
    let mut tcp = TestClient::connect(s.running.addrs[0]);
    tcp.register("tcp");
}

#[test]
fn a_full_server_answers_browsers_503_and_irc_clients_error() {
    let s = start_with("[limits]\nmax_clients = 1\nmax_clients_per_ip = 0\n");
    let _only = s.user("only");
    let host = ws_addr(&s).to_string();
    let (status, headers, body) = http(&s, &format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"));
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    assert_eq!(
        header(&headers, "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(header(&headers, "content-length"), body.len().to_string());
    assert_eq!(header(&headers, "retry-after"), "60");
    assert_eq!(header(&headers, "connection"), "close");
    assert_eq!(body, "Closing Link: 127.0.0.1 (Server is full)\n");
    // A WebSocket handshake is refused the same way (tungstenite sees the 503).
    let sock = TcpStream::connect(ws_addr(&s)).unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    match tungstenite::client(format!("ws://{host}/"), sock) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            assert_eq!(resp.status(), 503)
        }
        Ok((_, resp)) => panic!("expected a 503, got {resp:?}"),
        Err(e) => panic!("expected a 503, got {e}"),
    }
    // The plain listener still says it in IRC.
    let mut tcp = TestClient::connect(s.running.addrs[0]);
    tcp.expect("ERROR :Closing Link: 127.0.0.1 (Server is full)");
}

/// A TLS client of the wss listener, trusting the test certificate.
fn wss_stream(s: &TestServer) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let config =
        portico::config::tls::pinned_client_config(&common::tls::fingerprint("server"), None)
            .unwrap();
    let name = rustls::pki_types::ServerName::try_from("irc.test").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let sock = TcpStream::connect(ws_addr(s)).unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

#[test]
fn a_full_wss_listener_answers_503_after_the_tls_handshake() {
    let dir = common::TempDir::new();
    let s = start_wss(&dir, "max_clients = 1\nmax_clients_per_ip = 0\n");
    let _only = s.user("only");
    let host = ws_addr(&s).to_string();
    let mut tls = wss_stream(&s);
    write!(tls, "GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").unwrap();
    // read_to_end fails on an EOF without close_notify: the end is said in TLS too.
    let mut answer = String::new();
    tls.read_to_string(&mut answer)
        .expect("503, then close_notify");
    let (head, body) = answer.split_once("\r\n\r\n").expect("HTTP answer");
    let mut lines = head.split("\r\n");
    assert_eq!(lines.next(), Some("HTTP/1.1 503 Service Unavailable"));
    assert!(
        lines.any(|h| h.eq_ignore_ascii_case("retry-after: 60")),
        "{head}"
    );
    assert_eq!(body, "Closing Link: 127.0.0.1 (Server is full)\n");
    // A WebSocket handshake over TLS sees the same 503.
    match tungstenite::client(format!("wss://{host}/"), wss_stream(&s)) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
            assert_eq!(resp.status(), 503)
        }
        Ok((_, resp)) => panic!("expected a 503, got {resp:?}"),
        Err(e) => panic!("expected a 503, got {e}"),
    }
    // A client that never finishes its handshake is dropped within the closing deadline.
    let mut stalled = TcpStream::connect(ws_addr(&s)).unwrap();
    stalled.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut rest = Vec::new();
    assert_eq!(
        stalled.read_to_end(&mut rest).unwrap(),
        0,
        "closed, nothing said"
    );
}

#[test]
fn websocket_over_tls_talks_with_a_tcp_client() {
    let dir = common::TempDir::new();
    let s = start_wss(&dir, "");
    let mut tcp = s.user("tcp");
    let config =
        portico::config::tls::pinned_client_config(&common::tls::fingerprint("server"), None)
            .unwrap();
    let name = rustls::pki_types::ServerName::try_from("irc.test").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let sock = TcpStream::connect(ws_addr(&s)).unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let stream = rustls::StreamOwned::new(conn, sock);
    let mut c = ws::over(Box::new(stream), ws_addr(&s), &["binary.ircv3.net"]);
    assert_eq!(c.protocol.as_deref(), Some("binary.ircv3.net"));
    c.register("secure");
    c.send("PRIVMSG tcp :over wss");
    tcp.expect(":secure!~secure@127.0.0.1 PRIVMSG tcp :over wss");
    tcp.send("WHOIS secure");
    let whois = tcp.skip_until(" 318 ");
    assert!(
        whois.iter().any(|l| l.contains(" 671 tcp secure ")),
        "{whois:?}"
    );
}

/// Headless Chromium on a page, driven over the DevTools protocol (a WebSocket too).
struct Browser {
    _child: Killed,
    devtools: tungstenite::WebSocket<TcpStream>,
    next_id: u32,
    _profile: common::TempDir,
}

impl Browser {
    /// Opens `url`; `None` (after saying so) when there is no chromium and it is not required.
    /// `extra`: more command line flags.
    fn open(url: &str, extra: &[&str]) -> Option<Browser> {
        let exe = std::process::Command::new("which").arg("chromium").output();
        if !exe.is_ok_and(|o| o.status.success()) {
            if std::env::var("PORTICO_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
                panic!("chromium is required (PORTICO_REQUIRE_CHROMIUM=1) but not installed");
            }
            eprintln!("skipped: chromium is not installed (apt-get install chromium)");
            return None;
        }
        let profile = common::TempDir::new();
        let child = Killed(
            std::process::Command::new("chromium")
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--remote-debugging-port=0",
                ])
                .args(extra)
                .arg(format!("--user-data-dir={}", profile.0.display()))
                .arg(url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start chromium"),
        );
        // Chromium says where DevTools listens in its profile directory.
        let port_file = profile.0.join("DevToolsActivePort");
        let port = wait_for(|| {
            std::fs::read_to_string(&port_file)
                .ok()?
                .lines()
                .next()?
                .parse()
                .ok()
        });
        let page = wait_for(|| page_target(port));
        let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
        let (devtools, _) = tungstenite::client(page, sock).expect("DevTools WebSocket");
        Some(Browser {
            _child: child,
            devtools,
            next_id: 0,
            _profile: profile,
        })
    }

    /// Runs the expression `js` (no double quotes or backslashes in it) in the page; its
    /// value as a string.
    fn eval(&mut self, js: &str) -> String {
        self.next_id += 1;
        let id = self.next_id;
        let call = format!(
            "{{\"id\":{id},\"method\":\"Runtime.evaluate\",\"params\":{{\"expression\":\"String(({js}))\",\"returnByValue\":true}}}}"
        );
        self.devtools.send(Message::text(call)).unwrap();
        let tag = format!("{{\"id\":{id},");
        loop {
            let reply = self.devtools.read().expect("DevTools reply").to_string();
            if reply.starts_with(&tag) {
                let value = reply.split_once("\"value\":\"").map_or("", |(_, v)| v);
                return value.split('"').next().unwrap_or_default().to_string();
            }
        }
    }

    /// Waits until `js` evaluates to `want`.
    fn wait_until(&mut self, js: &str, want: &str) {
        let deadline = std::time::Instant::now() + common::TIMEOUT;
        loop {
            let got = self.eval(js);
            if got == want {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{js}: {got}, not {want}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Chromium, ended when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` until it gives a value (Chromium starting up), for at most the usual timeout.
fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + 4 * common::TIMEOUT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "chromium did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The DevTools WebSocket URL of the first page target.
fn page_target(port: u16) -> Option<String> {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).ok()?;
    sock.set_read_timeout(Some(common::TIMEOUT)).ok()?;
    sock.write_all(b"GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    // Chromium keeps the connection open: read up to the end of the JSON list.
    let mut body = Vec::new();
    let mut buf = [0; 4096];
    while !String::from_utf8_lossy(&body).trim_end().ends_with(']') {
        let n = sock.read(&mut buf).ok().filter(|&n| n > 0)?;
        body.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&body);
    let page = body.find("\"type\": \"page\"")?;
    let url = body[page..].split("\"webSocketDebuggerUrl\": \"").nth(1)?;
    Some(url.split('"').next()?.to_string())
}

#[test]
fn the_web_client_page_chats_in_headless_chromium() {
    let s = start("");
    let url = format!("http://{}/", ws_addr(&s));
    chat_in_chromium(&s, &url, &[], "web1");
}

/// The page over https, talking over wss: Chromium is told to take the test certificate
/// (`--ignore-certificate-errors`, as for any self-signed one), and the server sees a
/// secure connection.
#[test]
fn the_web_client_page_chats_over_wss_in_headless_chromium() {
    let dir = common::TempDir::new();
    let s = start_wss(&dir, "");
    let url = format!("https://{}/", ws_addr(&s));
    let flags = ["--ignore-certificate-errors"];
    let Some((mut tcp, _page)) = chat_in_chromium(&s, &url, &flags, "web2") else {
        return;
    };
    tcp.send("WHOIS web2");
    let whois = tcp.skip_until(" 318 ");
    assert!(
        whois.iter().any(|l| l.contains(" 671 tcp2 web2 ")),
        "{whois:?}"
    );
}

/// Opens the page at `url` (the listener's root) in headless Chromium with `flags`, as
/// `nick`, and chats with a TCP client in #t: register, join, receive (escaped), send,
/// member list. Returns the TCP client (nick `tcp2` by then) and the browser, still on the
/// page, or `None` if skipped.
fn chat_in_chromium(
    s: &TestServer,
    url: &str,
    flags: &[&str],
    nick: &str,
) -> Option<(TestClient, Browser)> {
    let mut tcp = s.user("tcp");
    join(&mut tcp, "#t");
    let url = format!("{url}?nick={nick}&channel=%23t&autoconnect=1");
    let mut page = Browser::open(&url, flags)?;
    // The page registered and joined by itself.
    tcp.skip_until(&format!(":{nick}!~{nick}@127.0.0.1 JOIN #t"));
    let members = "[...document.querySelectorAll('#members li')].map(e => e.textContent).join()";
    page.wait_until(members, &format!("tcp,{nick}"));
    // Received: shown as text, markup and all.
    tcp.send("PRIVMSG #t :<b>hello</b> from tcp");
    page.wait_until(
        "document.getElementById('log').textContent.includes('<tcp> <b>hello</b> from tcp')",
        "true",
    );
    page.wait_until("document.querySelectorAll('#log b').length", "0");
    // Sent from the input line.
    page.eval("document.getElementById('input').value = 'hi from the browser', document.getElementById('say').requestSubmit()");
    tcp.expect(&format!(
        ":{nick}!~{nick}@127.0.0.1 PRIVMSG #t :hi from the browser"
    ));
    // Members follow NICK and PART.
    tcp.send("NICK tcp2");
    tcp.send("PART #t");
    page.wait_until(members, nick);
    tcp.nick = "tcp2".into();
    Some((tcp, page))
}

/// A masked client frame (`fin`, `opcode`) with a payload under 126 bytes.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [7u8, 1, 200, 42];
    let mut f = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

#[test]
fn messages_sent_with_the_handshake_are_read_and_bad_handshakes_refused() {
    let s = start("");
    let mut sock = TcpStream::connect(ws_addr(&s)).unwrap();
    sock.set_read_timeout(Some(common::TIMEOUT)).unwrap();
    let mut all = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        ws_addr(&s)
    )
    .into_bytes();
    all.extend(client_frame(1, b"NICK eager"));
    all.extend(client_frame(1, b"USER eager 0 * :e"));
    sock.write_all(&all).unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while !String::from_utf8_lossy(&got).contains(" 001 eager ") {
        let n = sock.read(&mut buf).expect("the welcome");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{got}"
    );
    assert!(
        got.contains("\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{got}"
    );

    // An upgrade without its key is a bad request, answered over HTTP.
    let (status, _, _) = http(
        &s,
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    // An unmasked frame from a client is a protocol error: close 1002.
    let mut c = ws_user(&s, "unmasked", &["text.ircv3.net"]);
    c.ws.get_mut().write_all(&[0x81, 2, b'h', b'i']).unwrap();
    c.expect("ERROR :Closing Link: 127.0.0.1 (WebSocket protocol error)");
    assert_eq!(c.close_code(), CloseCode::Protocol);
}

#[test]
fn a_websocket_flooder_is_closed_for_excess_flood() {
    let s = start_with("[limits]\nflood_burst = 1\nflood_interval_ms = 1000\n");
    let mut c = ws_user(&s, "flooder", &["binary.ircv3.net"]);
    // 200 KiB of messages at once: far more than the penalty queue holds.
    let line = format!("PRIVMSG #x :{}", "f".repeat(400));
    for _ in 0..500 {
        c.ws.write(Message::binary(line.clone().into_bytes()))
            .unwrap();
    }
    c.ws.flush().unwrap();
    // At most the burst is answered (a 403 for the missing channel) before the end.
    let seen = c.skip_until("ERROR ");
    assert!(seen.len() <= 2, "{seen:?}");
    assert_eq!(
        seen.last().unwrap(),
        "ERROR :Closing Link: 127.0.0.1 (Excess Flood)"
    );
    assert_eq!(c.close_code(), CloseCode::Normal);
}
