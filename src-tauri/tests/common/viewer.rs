//! A SMART Health Link viewer's manifest request, as any viewer sends it: one HTTP/1.1 POST
//! with a JSON body over a plain TCP stream to a loopback node. Shared by the command tests and
//! the real-window test.

/// POSTs `body` to `url` (`http://127.0.0.1:…/…`): the status code.
pub(crate) fn post_json(url: &str, body: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (authority, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut stream = std::net::TcpStream::connect(authority).expect("the node listens");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("the request is sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the answer is read");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
