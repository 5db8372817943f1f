//! The built-in web client: a plain HTTP GET on a WebSocket listener gets one static page
//! (embedded in the binary) that talks IRC back over a WebSocket to the same listener.
//! Every answer closes the connection: this is not a web server.

use std::sync::OnceLock;

const PAGE: &str = include_str!("webclient.html");

/// The answer to a request that is not a WebSocket upgrade.
pub fn answer(req: &httparse::Request) -> Vec<u8> {
    if req.method != Some("GET") {
        return response(
            "405 Method Not Allowed",
            "Allow: GET\r\n",
            "text/plain",
            b"",
        );
    }
    let path = req.path.unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    if path != "/" && path != "/index.html" {
        return response("404 Not Found", "", "text/plain", b"not found\n");
    }
    let host = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .map(|h| h.value)
        .filter(|v| is_host(v))
        .map_or(String::new(), |v| String::from_utf8_lossy(v).into_owned());
    let csp = csp(&host);
    let extra = format!(
        "Content-Security-Policy: {csp}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\nReferrer-Policy: no-referrer\r\n"
    );
    response("200 OK", &extra, "text/html", PAGE.as_bytes())
}

/// A request that cannot be read, or a WebSocket handshake that failed.
pub fn bad_request() -> Vec<u8> {
    response("400 Bad Request", "", "text/plain", b"bad request\n")
}

/// The answer when the server refuses the connection (full, or too many from one address):
/// a browser reads HTTP on this listener, not IRC, so the core's `ERROR` line becomes the
/// body of a 503.
pub fn unavailable(error_line: &[u8]) -> Vec<u8> {
    let line = String::from_utf8_lossy(error_line);
    let text = line.split_once(" :").map_or(&*line, |(_, t)| t).trim_end();
    let body = format!("{text}\n");
    response(
        "503 Service Unavailable",
        "Retry-After: 60\r\n",
        "text/plain",
        body.as_bytes(),
    )
}

fn response(status: &str, extra: &str, kind: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A Host header that is safe to repeat in a header: name or address and port only.
fn is_host(v: &[u8]) -> bool {
    !v.is_empty()
        && v.len() <= 255
        && v.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// The page may run only its own script and style (by hash), and connect only to this
/// listener (the WebSocket, plain or TLS).
fn csp(host: &str) -> String {
    static HASHES: OnceLock<(String, String)> = OnceLock::new();
    let (script, style) = HASHES.get_or_init(|| (hash_of("script"), hash_of("style")));
    let connect = if host.is_empty() {
        "'self'".to_string()
    } else {
        format!("'self' ws://{host} wss://{host}")
    };
    format!(
        "default-src 'none'; script-src '{script}'; style-src '{style}'; connect-src {connect}; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// `sha256-<base64>` of the page's one inline `<tag>` element's content.
fn hash_of(tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = PAGE.find(&open).map_or(0, |i| i + open.len());
    let end = PAGE[start..].find(&close).map_or(start, |i| start + i);
    let digest = ring::digest::digest(&ring::digest::SHA256, &PAGE.as_bytes()[start..end]);
    format!("sha256-{}", base64(digest.as_ref()))
}

fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn host_header_cannot_inject() {
        assert!(is_host(b"127.0.0.1:6667"));
        assert!(is_host(b"[::1]:80"));
        assert!(!is_host(b"a; script-src *"));
        assert!(!is_host(b"a'b"));
    }
}
