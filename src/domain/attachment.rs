//! A file attached to a message: composed by `remind`, kept in the outbox by `warehouse`.

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}
