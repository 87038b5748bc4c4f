//! A file attached to a message: composed by `remind`, kept in the outbox by `warehouse`.
//!
//! Owns: `FileAttachment` (name, content type, bytes). Receives: files made by
//! `remind::compose` (through `remind::render`). Hands on: attachments to
//! `warehouse::outbox`, which keeps them with the message.

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}
