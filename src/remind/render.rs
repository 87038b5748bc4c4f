//! Turning a digest into a message: editable minijinja templates (HTML auto-escaped, so an
//! agency name or an officer's note can neither add markup nor, in the subject, a header)
//! and a MIME message with a plain-text alternative and the workbook attached.
//!
//! Owns: `Templates` (with `TEMPLATE_FILES` and `TemplateError`), `DigestContext`,
//! `DigestItem`, `Named`, `Rendered`, the MIME `Envelope` and `build`. Receives: the
//! templates directory (`RemindSettings`), a `DigestContext` from `remind::compose`, an
//! `Envelope` from `remind::deliver`. Hands on: `Rendered` subject, text and HTML to
//! `remind::compose` and `jobs::remind`; a `lettre::Message` to `remind::deliver`;
//! `Templates::load` also to `cli`'s settings check.

use std::collections::BTreeMap;
use std::path::Path;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// The six templates, by file name.
pub const TEMPLATE_FILES: [&str; 6] = [
    "reminder.subject.txt",
    "reminder.txt",
    "reminder.html",
    "correction.subject.txt",
    "correction.txt",
    "correction.html",
];

/// The templates shipped with chiso, used when the configured directory is the default and
/// absent (a binary outside a checkout).
const EMBEDDED: [(&str, &str); 6] = [
    ("reminder.subject.txt", include_str!("../../config/templates/reminder.subject.txt")),
    ("reminder.txt", include_str!("../../config/templates/reminder.txt")),
    ("reminder.html", include_str!("../../config/templates/reminder.html")),
    ("correction.subject.txt", include_str!("../../config/templates/correction.subject.txt")),
    ("correction.txt", include_str!("../../config/templates/correction.txt")),
    ("correction.html", include_str!("../../config/templates/correction.html")),
];

/// Why the templates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("không đọc được mẫu thư {path}: {}", crate::messages::io_reason(.source))]
    Io { path: String, source: std::io::Error },
    #[error("mẫu thư {path} không dùng được: {message}")]
    Invalid { path: String, message: String },
}

/// A line of a digest, already formatted for people.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DigestItem {
    pub item: String,
    pub measure: String,
    pub task: String,
    pub target: String,
    pub expected: String,
    pub actual: String,
    pub gap: String,
    pub pace: String,
    pub status: String,
    pub reason: String,
    /// The dissolved agency the item belongs to, when reached through its successor.
    pub for_agency: String,
}

/// Who, about what, when.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Named {
    pub name: String,
    pub email: String,
}

/// Everything a template can use.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DigestContext {
    pub prefix: String,
    pub key: String,
    pub subject: String,
    pub agency: Named,
    pub on_behalf: Vec<String>,
    pub plan: BTreeMap<String, String>,
    pub period: BTreeMap<String, String>,
    pub year: i32,
    pub window: BTreeMap<String, String>,
    pub due_date: String,
    pub evaluated_on: String,
    pub round: BTreeMap<String, String>,
    pub before_due: bool,
    /// The items the plan assigns to the agency by name.
    pub items: Vec<DigestItem>,
    /// Items answered as a member of a group (`group_mode` says how they are shown).
    pub group_items: Vec<DigestItem>,
    /// `Nhiệm vụ chung của các sở, ban, ngành tỉnh`.
    pub group_title: String,
    /// `section`, `count` or `omit`.
    pub group_mode: String,
    pub counts: BTreeMap<String, usize>,
    pub headline: String,
    pub summary: String,
    pub attachment_names: Vec<String>,
    pub coordinator: Named,
    /// For corrections: the day of the reminder being withdrawn.
    pub reminded_on: String,
}

/// A rendered message, before addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The loaded templates.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// Reads the templates from `dir` (or the embedded ones when `dir` is the default and
    /// absent) and renders each with sample data: a broken template is refused here, at
    /// `chiso config check`, not when the round goes out.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
        let use_embedded = !dir.exists() && dir == Path::new("config/templates");
        let mut env = Environment::new();
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        for (name, embedded) in EMBEDDED {
            let path = dir.join(name);
            let source = if use_embedded {
                embedded.to_string()
            } else {
                std::fs::read_to_string(&path)
                    .map_err(|source| TemplateError::Io { path: path.display().to_string(), source })?
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| TemplateError::Invalid { path: path.display().to_string(), message: describe(&e) })?;
        }
        let t = Self { env };
        for name in TEMPLATE_FILES {
            t.render_one(name, &sample())
                .map_err(|e| TemplateError::Invalid { path: dir.join(name).display().to_string(), message: e })?;
        }
        Ok(t)
    }

    fn render_one(&self, name: &str, ctx: &DigestContext) -> Result<String, String> {
        let tmpl = self.env.get_template(name).map_err(|e| describe(&e))?;
        tmpl.render(minijinja::value::Serde(ctx)).map_err(|e| describe(&e))
    }

    /// Renders `reminder.*` or `correction.*`.
    pub fn render(&self, kind: &str, ctx: &DigestContext) -> Result<Rendered, TemplateError> {
        let err = |name: &str, message: String| TemplateError::Invalid { path: name.to_string(), message };
        let subject_name = format!("{kind}.subject.txt");
        let subject = one_line(&self.render_one(&subject_name, ctx).map_err(|e| err(&subject_name, e))?);
        let mut ctx = ctx.clone();
        ctx.subject = subject.clone();
        let text_name = format!("{kind}.txt");
        let html_name = format!("{kind}.html");
        let text = self.render_one(&text_name, &ctx).map_err(|e| err(&text_name, e))?;
        let html = self.render_one(&html_name, &ctx).map_err(|e| err(&html_name, e))?;
        Ok(Rendered { subject, text: crate::text::clean_multiline_keep_blank(&text), html })
    }
}

/// A minijinja error with its line, as an operator needs it.
fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

/// A subject is one line: no CR or LF can reach the header (no header injection), spaces
/// collapsed, NFC.
pub fn one_line(s: &str) -> String {
    crate::text::clean(&s.replace(['\r', '\n'], " "))
}

/// Sample data that exercises every template field.
pub fn sample() -> DigestContext {
    let m =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
    DigestContext {
        prefix: "[Chuyển đổi số]".into(),
        key: "kh-742-2023/2024-Q2/so_yt/sau_han".into(),
        subject: String::new(),
        agency: Named { name: "Sở Y tế".into(), email: "so_yt@vinhlong.example".into() },
        on_behalf: vec!["Sở Lao động - Thương binh và Xã hội".into()],
        plan: m(&[("id", "kh-742-2023"), ("symbol", "742/KH-UBND")]),
        period: m(&[("code", "2024-Q2"), ("vi", "Quý II/2024")]),
        year: 2024,
        window: m(&[("start", "15/03/2024"), ("end", "14/06/2024")]),
        due_date: "19/06/2024".into(),
        evaluated_on: "20/06/2024".into(),
        round: m(&[("id", "sau_han"), ("name", "Nhắc sau hạn")]),
        before_due: false,
        items: vec![DigestItem {
            item: "15".into(),
            measure: String::new(),
            task: "Tỷ lệ cơ quan, đơn vị sử dụng chữ ký số theo quy định".into(),
            target: "100%".into(),
            expected: "97,5%".into(),
            actual: "85%".into(),
            gap: "12,5 điểm %".into(),
            pace: "7,5 điểm %".into(),
            status: "Chậm tiến độ".into(),
            reason: "Thiếu 12,5 điểm % so với mức cần có 97,5%".into(),
            for_agency: String::new(),
        }],
        group_items: vec![DigestItem {
            item: "4".into(),
            task: "Tỷ lệ văn bản đi được ký số".into(),
            target: "95%".into(),
            expected: "90%".into(),
            status: "Chưa báo cáo".into(),
            reason: "Hạn báo cáo 19/06/2024 đã qua".into(),
            ..DigestItem::default()
        }],
        group_title: "Nhiệm vụ chung của các sở, ban, ngành tỉnh".into(),
        group_mode: "section".into(),
        counts: [
            ("total".to_string(), 1),
            ("group".to_string(), 1),
            ("group_more".to_string(), 2),
            ("missing".to_string(), 0),
            ("lagging".to_string(), 1),
        ]
        .into_iter()
        .collect(),
        headline: "1 chỉ tiêu chậm tiến độ".into(),
        summary: "1 chậm tiến độ".into(),
        attachment_names: vec!["bao-cao-2024-Q2-so_yt.xlsx".into()],
        coordinator: Named {
            name: "Sở Thông tin và Truyền thông".into(), email: "so_tttt@vinhlong.example".into()
        },
        reminded_on: "20/06/2024".into(),
    }
}

/// `X-Chiso-Key: kh-742-2023/2024-Q2/so_yt/sau_han`: why this message exists, for anyone
/// asking "why did X get a reminder".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChisoKey(pub String);

impl Header for ChisoKey {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Chiso-Key")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), one_line(&self.0))
    }
}

pub use crate::domain::attachment::FileAttachment;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Everything needed to put a message on the wire.
pub struct Envelope<'a> {
    pub from: &'a Mailbox,
    pub to: &'a [Mailbox],
    pub cc: &'a [Mailbox],
    pub message_id: &'a str,
    pub key: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub attachments: &'a [FileAttachment],
    pub date: std::time::SystemTime,
}

/// Builds the MIME message: multipart/mixed of (plain text | HTML) and the attachments.
pub fn build(e: &Envelope<'_>) -> Result<lettre::Message, lettre::error::Error> {
    let mut b = lettre::Message::builder()
        .from(e.from.clone())
        .subject(one_line(e.subject))
        .message_id(Some(e.message_id.to_string()))
        .date(e.date)
        .header(ChisoKey(e.key.to_string()));
    for m in e.to {
        b = b.to(m.clone());
    }
    for m in e.cc {
        b = b.cc(m.clone());
    }
    let mut body =
        MultiPart::mixed().multipart(MultiPart::alternative_plain_html(e.text.to_string(), e.html.to_string()));
    for a in e.attachments {
        let ct = ContentType::parse(&a.content_type).unwrap_or(ContentType::TEXT_PLAIN);
        let part: SinglePart = Attachment::new(a.name.clone()).body(a.bytes.clone(), ct);
        body = body.singlepart(part);
    }
    b.multipart(body)
}

/// A mailbox for an agency: `Sở Y tế <so_yt@…>`, the name cleaned of anything that could
/// break the header.
pub fn mailbox(name: &str, address: &str) -> Option<Mailbox> {
    let addr = address.trim().parse().ok()?;
    Some(Mailbox::new(Some(one_line(name).replace(['<', '>', '"'], "")), addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_templates_render_and_escape() {
        let t = Templates::load(Path::new("config/templates")).unwrap();
        let mut ctx = sample();
        ctx.agency.name = "Sở <b>Thử</b> & \"Nghiệm\"".into();
        ctx.items[0].reason = "<script>alert(1)</script>".into();
        let r = t.render("reminder", &ctx).unwrap();
        assert!(r.html.contains("Sở &lt;b&gt;Thử&lt;&#x2f;b&gt; &amp; &quot;Nghiệm&quot;"), "{}", r.html);
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("Sở <b>Thử</b>"), "plain text is not HTML-escaped");
        assert_eq!(r.subject, "[Chuyển đổi số] Nhắc báo cáo Quý II/2024 – 1 chỉ tiêu chậm tiến độ");
    }

    #[test]
    fn subjects_cannot_inject_headers() {
        assert_eq!(one_line("Nhắc báo cáo\r\nBcc: x@evil.example"), "Nhắc báo cáo Bcc: x@evil.example");
        let m = mailbox("Sở Y tế\r\nBcc: x@evil.example <a>", "so_yt@vinhlong.example").unwrap();
        assert!(!m.to_string().contains('\n'));
    }

    #[test]
    fn a_broken_template_is_refused_with_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in EMBEDDED {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        std::fs::write(
            dir.path().join("reminder.txt"),
            "Kính gửi {{ agency.name }}\n{% for i in items %}{{ i.item }\n",
        )
        .unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("reminder.txt") && err.contains("line 2"), "{err}");
        std::fs::write(dir.path().join("reminder.txt"), "{{ agency.nmae }}").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("reminder.txt"), "{err}");
    }
}
