//! A scripted SMTP server on loopback for fault tests: it can turn connections away with
//! `421`, refuse chosen recipients with `550`, and records every accepted delivery with
//! its envelope. (The happy path is tested against mailcrab and aiosmtpd, real servers.)

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Delivery {
    pub rcpt: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Script {
    /// Connections greeted with `421` and closed, before normal service.
    pub busy_connections: usize,
    /// Recipients refused with `550`.
    pub refuse: Vec<String>,
}

pub struct ScriptedSmtp {
    pub port: u16,
    pub deliveries: Arc<Mutex<Vec<Delivery>>>,
    pub connections: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptedSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedSmtp {
    pub async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0usize));
        let script = Arc::new(Mutex::new(script));
        let (d, c) = (deliveries.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let (d, c, script) = (d.clone(), c.clone(), script.clone());
                tokio::spawn(async move {
                    let busy = {
                        *c.lock().unwrap() += 1;
                        let mut s = script.lock().unwrap();
                        if s.busy_connections > 0 {
                            s.busy_connections -= 1;
                            true
                        } else {
                            false
                        }
                    };
                    let refuse = script.lock().unwrap().refuse.clone();
                    let _ = serve(sock, busy, &refuse, &d).await;
                });
            }
        });
        Self { port, deliveries, connections, task }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    /// How many times the message with this `X-Chiso-Key` was delivered to an address.
    pub fn count_of(&self, key: &str, address: &str) -> usize {
        let header = format!("X-Chiso-Key: {key}\r\n");
        self.deliveries()
            .iter()
            .filter(|d| d.rcpt.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .filter(|d| String::from_utf8_lossy(&d.data).contains(&header))
            .count()
    }

    /// How many different messages (by `X-Chiso-Key`) reached the server, to any address.
    pub fn messages_received(deliveries: &Mutex<Vec<Delivery>>) -> usize {
        let Ok(d) = deliveries.lock() else { return 0 };
        let keys: std::collections::HashSet<String> = d
            .iter()
            .filter_map(|d| {
                let text = String::from_utf8_lossy(&d.data);
                text.split("\r\n").find(|l| l.starts_with("X-Chiso-Key: ")).map(str::to_string)
            })
            .collect();
        keys.len()
    }

    /// How many times an address was delivered to.
    pub fn count_for(&self, address: &str) -> usize {
        self.deliveries().iter().filter(|d| d.rcpt.iter().any(|r| r.eq_ignore_ascii_case(address))).count()
    }
}

async fn serve(
    sock: tokio::net::TcpStream,
    busy: bool,
    refuse: &[String],
    out: &Mutex<Vec<Delivery>>,
) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    if busy {
        w.write_all(b"421 4.3.2 test server busy, try again later\r\n").await?;
        return Ok(());
    }
    w.write_all(b"220 scripted ESMTP\r\n").await?;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-scripted\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?;
        } else if upper.starts_with("MAIL FROM") || upper.starts_with("RSET") {
            rcpt.clear();
            w.write_all(b"250 2.0.0 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            let addr = cmd
                .split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map(|(a, _)| a.to_string())
                .unwrap_or_default();
            if refuse.iter().any(|x| x.eq_ignore_ascii_case(&addr)) {
                w.write_all(format!("550 5.1.1 <{addr}>: mailbox unavailable\r\n").as_bytes()).await?;
            } else {
                rcpt.push(addr);
                w.write_all(b"250 2.1.5 ok\r\n").await?;
            }
        } else if upper == "DATA" {
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = Vec::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.extend_from_slice(l.as_bytes());
            }
            out.lock().unwrap().push(Delivery { rcpt: std::mem::take(&mut rcpt), data });
            w.write_all(b"250 2.0.0 queued\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"250 2.0.0 ok\r\n").await?;
        }
    }
}

/// A port nobody listens on (connection refused).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
