//! An SMTP server on `127.0.0.1:0` that keeps what it receives, for tests of code that sends
//! mail over SMTP (lettre's `AsyncSmtpTransport` in production).
//!
//! The protocol is the `mailin` crate's state machine (the one the mailcrab test server
//! drives): EHLO/HELO, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, VRFY, QUIT,
//! and AUTH PLAIN/LOGIN when the sink has credentials. Only the I/O is ours, on tokio. No
//! STARTTLS is offered, so AUTH is allowed in the clear (a test server on loopback); with
//! credentials, mail is refused until the client authenticates, and wrong credentials get 535.
//! Each message is parsed with `mail-parser`: subject and bodies come out decoded (encoded
//! words, quoted-printable, base64, any charset) as UTF-8.
//!
//! ```no_run
//! # async fn demo() {
//! use jangteo_tests::smtp::SmtpSink;
//! let sink = SmtpSink::start(Some(("mailer", "s3cret"))).await;
//! // settings: email.smtp_url = sink.url()  (smtp://mailer:s3cret@127.0.0.1:PORT)
//! // … the service sends its mail; then:
//! let mails = sink.wait_for(1, std::time::Duration::from_secs(5)).await;
//! assert_eq!(mails[0].envelope_to, ["buyer@example.com"]);
//! # }
//! ```

use std::{
    io,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use mailin::{AuthMechanism, Handler, Response, SessionBuilder, response};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::Notify,
    task::{JoinHandle, JoinSet},
};

/// A command or data line longer than this closes the connection (SMTP allows 1,000 bytes;
/// the slack is for clients that do not wrap).
const MAX_LINE: u64 = 1 << 20;

/// One message the sink accepted.
#[derive(Clone, Debug, Default)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`), without angle brackets.
    pub envelope_from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub envelope_to: Vec<String>,
    /// The user the client authenticated as, if it did.
    pub authenticated_as: Option<String>,
    /// The message as received after DATA, dot-unstuffed, CRLF line ends.
    pub raw: Vec<u8>,
    /// The decoded `Subject` (empty when absent).
    pub subject: String,
    /// The address of the `From` header.
    pub from: Option<String>,
    /// The display name of the `From` header, decoded.
    pub from_name: Option<String>,
    /// The addresses of the `To` headers.
    pub to: Vec<String>,
    /// The address of the `Reply-To` header.
    pub reply_to: Option<String>,
    /// The first `text/html` body, decoded; `None` if the message has none.
    pub html: Option<String>,
    /// The first `text/plain` body, decoded; `None` if the message has none (never HTML turned
    /// into text).
    pub text: Option<String>,
    /// Every header as `(name, value)`, in order: names as sent, values unfolded but not
    /// decoded (encoded words stay as they were sent; the fields above are decoded).
    pub headers: Vec<(String, String)>,
    /// The file names (decoded) of the attachments, in order; `None` for an unnamed one.
    pub attachments: Vec<Option<String>>,
}

impl ReceivedMail {
    /// The first header named `name` (any case), unfolded but not decoded.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Parses `raw` as the sink does (for mail that reached a test some other way).
    pub fn parse(envelope_from: &str, envelope_to: &[String], raw: Vec<u8>) -> ReceivedMail {
        let read = MessageParser::default()
            .parse(&raw)
            .map(|m| read(&m))
            .unwrap_or_default();
        ReceivedMail {
            envelope_from: envelope_from.to_owned(),
            envelope_to: envelope_to.to_vec(),
            raw,
            ..read
        }
    }
}

/// What the headers and bodies of `m` say (envelope and raw left empty).
fn read(m: &Message<'_>) -> ReceivedMail {
    let from = m.from().and_then(|a| a.first());
    ReceivedMail {
        subject: m.subject().unwrap_or_default().to_owned(),
        from: from.and_then(|a| a.address()).map(str::to_owned),
        from_name: from.and_then(|a| a.name()).map(str::to_owned),
        to: m
            .all_to()
            .flat_map(|a| a.iter())
            .filter_map(|a| a.address().map(str::to_owned))
            .collect(),
        reply_to: m
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned),
        html: m.html_bodies().find_map(|p| match &p.body {
            PartType::Html(h) => Some(h.to_string()),
            _ => None,
        }),
        text: m.text_bodies().find_map(|p| match &p.body {
            PartType::Text(t) => Some(t.to_string()),
            _ => None,
        }),
        headers: m
            .headers_raw()
            .map(|(name, value)| (name.to_owned(), unfold(value)))
            .collect(),
        attachments: m
            .attachments()
            .map(|a| a.attachment_name().map(str::to_owned))
            .collect(),
        ..ReceivedMail::default()
    }
}

/// A header value on one line: folding line breaks removed, ends trimmed.
fn unfold(value: &str) -> String {
    value.replace("\r\n", "").replace('\n', "").trim().to_owned()
}

#[derive(Default)]
struct Inner {
    mails: Vec<ReceivedMail>,
    auth_failures: usize,
    connections: usize,
}

struct Shared {
    credentials: Option<(String, String)>,
    inner: Mutex<Inner>,
    arrived: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An SMTP server on `127.0.0.1` keeping every message it accepts; stops (and drops its open
/// connections) when dropped.
pub struct SmtpSink {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl SmtpSink {
    /// Starts the sink on a random port. With `credentials` (user, password) it offers
    /// AUTH PLAIN and LOGIN, accepts only that pair (535 otherwise) and refuses mail before
    /// AUTH (530); without, it takes mail from anyone and offers no AUTH.
    pub async fn start(credentials: Option<(&str, &str)>) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
            inner: Mutex::new(Inner::default()),
            arrived: Notify::new(),
        });
        let mut builder = SessionBuilder::new("jangteo-smtp-sink");
        if shared.credentials.is_some() {
            builder
                .enable_auth(AuthMechanism::Plain)
                .enable_auth(AuthMechanism::Login)
                // No TLS on a loopback test server: AUTH in the clear is the point.
                .insecure_enable_plaintext_auth();
        }
        let server = tokio::spawn(accept(listener, builder, shared.clone()));
        SmtpSink { shared, addr, server }
    }

    /// `smtp://user:password@127.0.0.1:PORT` (percent-encoded), or `smtp://127.0.0.1:PORT`
    /// without credentials: the form lettre's `AsyncSmtpTransport::from_url` (built with a TLS
    /// feature) reads as plain SMTP, no TLS.
    pub fn url(&self) -> String {
        match &self.shared.credentials {
            Some((user, password)) => format!(
                "smtp://{}:{}@{}",
                percent_encode(user),
                percent_encode(password),
                self.addr
            ),
            None => format!("smtp://{}", self.addr),
        }
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The port the sink listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.shared.lock().mails.clone()
    }

    /// AUTH attempts refused (wrong user or password).
    pub fn auth_failures(&self) -> usize {
        self.shared.lock().auth_failures
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// Waits until at least `n` messages have arrived and returns them all; panics after
    /// `timeout` saying how many did arrive.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before the check, so an arrival between the check and the wait still
            // wakes it.
            let arrived = self.shared.arrived.notified();
            {
                let inner = self.shared.lock();
                if inner.mails.len() >= n {
                    return inner.mails.clone();
                }
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let inner = self.shared.lock();
                let subjects: Vec<&str> = inner.mails.iter().map(|m| m.subject.as_str()).collect();
                panic!(
                    "SMTP sink: waited {timeout:?} for {n} message(s), {} arrived {subjects:?} \
                     ({} connection(s), {} refused AUTH)",
                    inner.mails.len(),
                    inner.connections,
                    inner.auth_failures
                );
            }
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for URL userinfo).
fn percent_encode(s: &str) -> String {
    use std::fmt::Write;
    s.bytes().fold(String::with_capacity(s.len()), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

async fn accept(listener: TcpListener, builder: SessionBuilder, shared: Arc<Shared>) {
    // Owned here: aborting the accept loop drops the set, which aborts every connection.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                shared.lock().connections += 1;
                connections.spawn(serve(stream, peer.ip(), builder.clone(), shared.clone()));
            }
            // Reap finished connections so the set does not grow with them.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One SMTP session: lines in, `mailin`'s answers out.
async fn serve(stream: TcpStream, peer: IpAddr, builder: SessionBuilder, shared: Arc<Shared>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let handler = Session {
        shared,
        user: None,
        from: String::new(),
        to: Vec::new(),
        data: Vec::new(),
    };
    let mut session = builder.build(peer, handler);
    write.write_all(&session.greeting().buffer()?).await?;
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        let n = (&mut read).take(MAX_LINE).read_until(b'\n', &mut line).await?;
        if n == 0 || !line.ends_with(b"\n") {
            // Closed, or a line longer than MAX_LINE.
            return Ok(());
        }
        let res = session.process(&line);
        match res.action {
            mailin::Action::Reply => write.write_all(&res.buffer()?).await?,
            mailin::Action::NoReply => {}
            // UpgradeTls cannot happen: STARTTLS is never offered.
            mailin::Action::Close | mailin::Action::UpgradeTls => {
                write.write_all(&res.buffer()?).await?;
                return write.shutdown().await;
            }
        }
    }
}

/// `mailin`'s callbacks for one connection.
struct Session {
    shared: Arc<Shared>,
    user: Option<String>,
    /// The envelope of the message being received.
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Session {
    fn check(&mut self, user: &str, password: &str) -> Response {
        let ok = self
            .shared
            .credentials
            .as_ref()
            .is_some_and(|(u, p)| u == user && p == password);
        if ok {
            self.user = Some(user.to_owned());
            response::AUTH_OK
        } else {
            self.shared.lock().auth_failures += 1;
            response::INVALID_CREDENTIALS
        }
    }
}

impl Handler for Session {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        from.clone_into(&mut self.from);
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mut mail = ReceivedMail::parse(&self.from, &self.to, std::mem::take(&mut self.data));
        mail.authenticated_as.clone_from(&self.user);
        self.shared.lock().mails.push(mail);
        self.shared.arrived.notify_waiters();
        response::OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        self.check(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.check(username, password)
    }
}

#[cfg(test)]
mod tests {
    use lettre::{
        AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
        message::{MultiPart, SinglePart, header::ContentType},
        transport::smtp::authentication::Credentials,
    };

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    fn transport(sink: &SmtpSink) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sink.host())
            .port(sink.port())
            .build()
    }

    fn order_mail(to: &str) -> Message {
        Message::builder()
            .from("장터 상점 <shop@jangteo.kr>".parse().expect("from"))
            .reply_to("help@jangteo.kr".parse().expect("reply-to"))
            .to(to.parse().expect("to"))
            .subject("주문이 접수되었습니다 — 주문번호 A-1")
            .multipart(MultiPart::alternative_plain_html(
                "홍길동님, 주문해 주셔서 감사합니다.\n결제 금액: 23,000원".to_owned(),
                "<p>홍길동님, <b>주문</b>해 주셔서 감사합니다.</p><p>결제 금액: 23,000원</p>".to_owned(),
            ))
            .expect("message")
    }

    #[tokio::test]
    async fn a_korean_multipart_mail_round_trips_through_lettre() {
        let sink = SmtpSink::start(None).await;
        assert_eq!(sink.url(), format!("smtp://127.0.0.1:{}", sink.port()));
        transport(&sink)
            .send(order_mail("홍길동 <buyer@example.com>"))
            .await
            .expect("the sink accepts the mail");
        let mails = sink.wait_for(1, WAIT).await;
        let m = &mails[0];
        assert_eq!(m.envelope_from, "shop@jangteo.kr");
        assert_eq!(m.envelope_to, ["buyer@example.com"]);
        assert_eq!(m.subject, "주문이 접수되었습니다 — 주문번호 A-1");
        assert_eq!(m.from.as_deref(), Some("shop@jangteo.kr"));
        assert_eq!(m.from_name.as_deref(), Some("장터 상점"));
        assert_eq!(m.to, ["buyer@example.com"]);
        assert_eq!(m.reply_to.as_deref(), Some("help@jangteo.kr"));
        let lf = |t: &Option<String>| t.as_deref().map(|t| t.replace("\r\n", "\n").trim_end().to_owned());
        assert_eq!(
            lf(&m.text).as_deref(),
            Some("홍길동님, 주문해 주셔서 감사합니다.\n결제 금액: 23,000원")
        );
        assert_eq!(
            lf(&m.html).as_deref(),
            Some("<p>홍길동님, <b>주문</b>해 주셔서 감사합니다.</p><p>결제 금액: 23,000원</p>")
        );
        assert!(
            m.header("subject").is_some_and(|s| s.starts_with("=?utf-8?")),
            "{:?}",
            m.header("Subject")
        );
        assert!(
            m.header("Content-Type")
                .is_some_and(|c| c.starts_with("multipart/alternative"))
        );
        assert!(m.raw.ends_with(b"\r\n"));
        assert!(m.authenticated_as.is_none());
    }

    #[tokio::test]
    async fn dot_lines_survive_and_every_recipient_is_kept() {
        let sink = SmtpSink::start(None).await;
        let body = "first\n.starts with a dot\n.\n..two\nlast\n";
        let mail = Message::builder()
            .from("shop@jangteo.kr".parse().expect("from"))
            .to("a@example.com".parse().expect("to"))
            .cc("b@example.com".parse().expect("cc"))
            .bcc("c@example.com".parse().expect("bcc"))
            .subject("plain")
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body.to_owned()),
            )
            .expect("message");
        let smtp = transport(&sink);
        smtp.send(mail.clone()).await.expect("first");
        smtp.send(mail).await.expect("second");
        let mails = sink.wait_for(2, WAIT).await;
        assert_eq!(
            mails[0].envelope_to,
            ["a@example.com", "b@example.com", "c@example.com"]
        );
        // lettre ends the body with a line break of its own.
        assert_eq!(
            mails[0]
                .text
                .as_deref()
                .map(|t| t.replace("\r\n", "\n").trim_end().to_owned()),
            Some(body.trim_end().to_owned())
        );
        // 7bit: the dotted lines crossed the wire as they are, stuffed by lettre, unstuffed here.
        assert_eq!(mails[0].header("Content-Transfer-Encoding"), Some("7bit"));
        assert!(mails[0].html.is_none());
        assert!(mails[0].header("Bcc").is_none(), "lettre leaves Bcc out of the headers");
    }

    #[tokio::test]
    async fn credentials_are_checked() {
        let sink = SmtpSink::start(Some(("mailer", "p@ss word/1"))).await;
        assert_eq!(
            sink.url(),
            format!("smtp://mailer:p%40ss%20word%2F1@127.0.0.1:{}", sink.port())
        );
        // `from_url` needs one of lettre's TLS features, which this crate does not enable.
        let right = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sink.host())
            .port(sink.port())
            .credentials(Credentials::new("mailer".to_owned(), "p@ss word/1".to_owned()))
            .build();
        right
            .send(order_mail("buyer@example.com"))
            .await
            .expect("the right credentials are accepted");

        let wrong = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(sink.host())
            .port(sink.port())
            .credentials(Credentials::new("mailer".to_owned(), "wrong".to_owned()))
            .build();
        let err = wrong
            .send(order_mail("buyer@example.com"))
            .await
            .expect_err("wrong credentials are refused");
        assert_eq!(err.status().map(|c| c.to_string()), Some("535".to_owned()), "{err}");

        let anonymous = transport(&sink);
        let err = anonymous
            .send(order_mail("buyer@example.com"))
            .await
            .expect_err("mail without AUTH is refused");
        assert!(err.is_permanent(), "{err}");

        let mails = sink.wait_for(1, WAIT).await;
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].authenticated_as.as_deref(), Some("mailer"));
        assert_eq!(sink.auth_failures(), 1);
    }

    #[tokio::test]
    #[should_panic(expected = "waited")]
    async fn wait_for_names_what_is_missing() {
        let sink = SmtpSink::start(None).await;
        sink.wait_for(1, Duration::from_millis(50)).await;
    }
}
