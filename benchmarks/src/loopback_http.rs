//! A blocking HTTP/1.1 server on loopback for footprint's Lambda Runtime API and AWS endpoint:
//! each request is handed, with a way to answer it, to whoever receives from the server.
//!
//! Small on purpose, and not tiny_http: a response goes out in one write on a socket without
//! Nagle's algorithm, so no answer waits ~40 ms for a delayed ACK, which would be counted as
//! the measured function's time.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

/// A request as received, with the way back to its connection.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, ….
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    /// The body, read in full.
    pub body: String,
    /// When its last byte was read.
    pub received: Instant,
    answer: Sender<(Vec<u8>, Sender<Instant>)>,
}

/// When a response was written to its connection.
pub struct Written(Receiver<Instant>);

impl Written {
    /// Waits for the write; `None` if the connection closed first.
    pub fn wait(self) -> Option<Instant> {
        self.0.recv().ok()
    }
}

impl Request {
    /// Sends the response; its connection then reads the next request.
    pub fn respond(self, status: u16, headers: &[(&str, &str)], body: &str) -> Written {
        let mut bytes = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in headers {
            bytes.push_str(&format!("{name}: {value}\r\n"));
        }
        bytes.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        let (written, when) = mpsc::channel();
        // A closed connection has nobody to answer; `Written::wait` then says so.
        let _ = self.answer.send((bytes.into_bytes(), written));
        Written(when)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        _ => "Other",
    }
}

/// The listening server.
pub struct Server {
    address: SocketAddr,
    requests: Receiver<Request>,
}

impl Server {
    /// Listens on a free loopback port; a thread per connection reads its requests.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let (sender, requests) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sender = sender.clone();
                std::thread::spawn(move || serve(stream, &sender));
            }
        });
        Ok(Self { address, requests })
    }

    /// `127.0.0.1:port`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The next request, if one comes within `timeout`.
    pub fn receive(&self, timeout: Duration) -> Option<Request> {
        self.requests.recv_timeout(timeout).ok()
    }
}

/// Reads requests from one connection until it closes, each answered before the next is read.
fn serve(stream: TcpStream, requests: &Sender<Request>) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some((method, path, headers, body)) = read_request(&mut reader) {
        let (answer, answered) = mpsc::channel();
        let request = Request {
            method,
            path,
            headers,
            body,
            received: Instant::now(),
            answer,
        };
        if requests.send(request).is_err() {
            return;
        }
        match answered.recv() {
            Ok((bytes, written)) if writer.write_all(&bytes).is_ok() => {
                let _ = written.send(Instant::now());
            }
            _ => return,
        }
    }
}

type Parts = (String, String, HashMap<String, String>, String);

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Parts> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let mut words = line.split_whitespace();
    let (method, path) = (words.next()?.to_owned(), words.next()?.to_owned());
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok().filter(|n| *n > 0)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((
        method,
        path,
        headers,
        String::from_utf8_lossy(&body).into_owned(),
    ))
}
