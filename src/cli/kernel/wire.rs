//! The Jupyter wire protocol (v5.3): connection files, signed multipart messages.
//!
//! Messages are built as JSON values by hand rather than with typed structs so that every field
//! is exactly what the spec asks for (no `null` where a map is due: `metadata`, `transient`,
//! `user_expressions` are always objects).

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use zeromq::ZmqMessage;

pub const PROTOCOL_VERSION: &str = "5.3";
const DELIM: &[u8] = b"<IDS|MSG>";

/// A connection file as Jupyter writes it.
#[derive(Clone, Debug, Deserialize)]
pub struct ConnectionInfo {
    #[serde(default = "tcp")]
    pub transport: String,
    pub ip: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    #[serde(default)]
    pub key: String,
    #[serde(default = "hmac_sha256")]
    pub signature_scheme: String,
}

fn tcp() -> String {
    "tcp".into()
}
fn hmac_sha256() -> String {
    "hmac-sha256".into()
}

impl ConnectionInfo {
    pub fn read(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading connection file {}", path.display()))?;
        let info: ConnectionInfo = serde_json::from_str(&text)
            .with_context(|| format!("parsing connection file {}", path.display()))?;
        if info.transport != "tcp" {
            bail!("transport {:?} is not supported (only tcp)", info.transport);
        }
        if !info.key.is_empty() && info.signature_scheme != "hmac-sha256" {
            bail!(
                "signature scheme {:?} is not supported (only hmac-sha256)",
                info.signature_scheme
            );
        }
        Ok(info)
    }

    pub fn endpoint(&self, port: u16) -> String {
        format!("{}://{}:{}", self.transport, self.ip, port)
    }
}

/// Signs and checks messages with the connection's key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    pub fn new(key: &str) -> Self {
        Signer {
            key: key.as_bytes().to_vec(),
        }
    }

    pub fn sign(&self, parts: &[&[u8]]) -> String {
        if self.key.is_empty() {
            return String::new();
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        for p in parts {
            mac.update(p);
        }
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn verify(&self, sig: &[u8], parts: &[&[u8]]) -> bool {
        if self.key.is_empty() {
            return true;
        }
        let Ok(sig) = std::str::from_utf8(sig) else {
            return false;
        };
        let Some(bytes) = unhex(sig) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(&bytes).is_ok()
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// A random UUID (v4) as text.
pub fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    let mut b = b;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// One Jupyter message.
#[derive(Clone, Debug)]
pub struct Message {
    /// ZeroMQ routing frames (ROUTER peer ids) or the IOPub topic.
    pub identities: Vec<Bytes>,
    pub header: Value,
    pub parent_header: Value,
    pub metadata: Value,
    pub content: Value,
    pub buffers: Vec<Bytes>,
}

impl Message {
    /// Parses and checks a received message.
    pub fn parse(zmq: ZmqMessage, signer: &Signer) -> Result<Message> {
        let frames = zmq.into_vec();
        let at = frames
            .iter()
            .position(|f| f.as_ref() == DELIM)
            .ok_or_else(|| anyhow!("a message without the <IDS|MSG> delimiter"))?;
        if frames.len() < at + 6 {
            bail!(
                "a message with {} frames after its delimiter",
                frames.len() - at - 1
            );
        }
        let parts: Vec<&[u8]> = frames[at + 2..at + 6].iter().map(|f| f.as_ref()).collect();
        if !signer.verify(&frames[at + 1], &parts) {
            bail!("a message with a bad signature");
        }
        let parse = |i: usize| -> Result<Value> {
            let f = &frames[at + 2 + i];
            if f.is_empty() {
                return Ok(json!({}));
            }
            Ok(serde_json::from_slice(f)?)
        };
        Ok(Message {
            identities: frames[..at].to_vec(),
            header: parse(0)?,
            parent_header: parse(1)?,
            metadata: parse(2)?,
            content: parse(3)?,
            buffers: frames[at + 6..].to_vec(),
        })
    }

    pub fn msg_type(&self) -> &str {
        self.header["msg_type"].as_str().unwrap_or("")
    }

    /// A new message of `msg_type` in reply to (or caused by) this one, routed back to its
    /// sender.
    pub fn reply(&self, session: &str, msg_type: &str, content: Value) -> Message {
        Message {
            identities: self.identities.clone(),
            header: header(session, msg_type),
            parent_header: self.header.clone(),
            metadata: json!({}),
            content,
            buffers: vec![],
        }
    }

    /// An IOPub message caused by `parent` (which may be `{}`), with `msg_type` as its topic.
    pub fn iopub(session: &str, parent: &Value, msg_type: &str, content: Value) -> Message {
        Message {
            identities: vec![Bytes::from(msg_type.to_string())],
            header: header(session, msg_type),
            parent_header: parent.clone(),
            metadata: json!({}),
            content,
            buffers: vec![],
        }
    }

    pub fn to_zmq(&self, signer: &Signer) -> ZmqMessage {
        let h = serde_json::to_vec(&self.header).expect("JSON");
        let p = serde_json::to_vec(&self.parent_header).expect("JSON");
        let m = serde_json::to_vec(&self.metadata).expect("JSON");
        let c = serde_json::to_vec(&self.content).expect("JSON");
        let sig = signer.sign(&[&h, &p, &m, &c]);
        let mut frames: Vec<Bytes> = self.identities.clone();
        frames.push(Bytes::from_static(DELIM));
        frames.push(Bytes::from(sig));
        frames.push(Bytes::from(h));
        frames.push(Bytes::from(p));
        frames.push(Bytes::from(m));
        frames.push(Bytes::from(c));
        frames.extend(self.buffers.iter().cloned());
        ZmqMessage::try_from(frames).expect("frames")
    }
}

pub fn header(session: &str, msg_type: &str) -> Value {
    json!({
        "msg_id": uuid(),
        "session": session,
        "username": "gan",
        "date": gan::session::clock::iso8601_now(),
        "msg_type": msg_type,
        "version": PROTOCOL_VERSION,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_signature() {
        let s = Signer::new("secret");
        let mut m = Message::iopub(
            "sess",
            &json!({}),
            "status",
            json!({"execution_state": "idle"}),
        );
        m.identities = vec![Bytes::from_static(b"peer")];
        let z = m.to_zmq(&s);
        let back = Message::parse(z.clone(), &s).unwrap();
        assert_eq!(back.msg_type(), "status");
        assert_eq!(back.content["execution_state"], "idle");
        assert_eq!(back.identities, vec![Bytes::from_static(b"peer")]);
        assert!(Message::parse(z, &Signer::new("other")).is_err());
    }

    #[test]
    fn uuids_look_like_uuids() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
    }
}
