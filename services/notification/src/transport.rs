//! How rendered messages leave: the log (default) or SMTP.

use futures::FutureExt;
use futures::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{NotificationConfig, SmtpTls, TransportKind};

/// One e-mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The message can never be sent as it is (e.g. a malformed address).
    #[error("message refused: {0}")]
    Invalid(String),
    /// The server is unreachable or failed; trying again later may work.
    #[error("sending failed: {0}")]
    Unavailable(String),
}

pub trait Transport: Send + Sync + 'static {
    /// `log` or `smtp`, recorded with each delivery.
    fn name(&self) -> &'static str;
    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), TransportError>>;
}

/// Writes messages to the log at info level; nothing secret is in a rendered message.
pub struct LogTransport;

impl Transport for LogTransport {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), TransportError>> {
        tracing::info!(to = %email.to, subject = %email.subject, body = %email.body, "notification (log transport)");
        futures::future::ready(Ok(())).boxed()
    }
}

/// Sends through an SMTP server with lettre.
pub struct SmtpTransport {
    mailer: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpTransport {
    pub fn new(config: &NotificationConfig) -> Result<Self, TransportError> {
        let from: Mailbox = config.from.parse().map_err(|e| {
            TransportError::Invalid(format!("--notification-from `{}`: {e}", config.from))
        })?;
        let host = config.smtp_host.as_str();
        let builder = match config.smtp_tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| TransportError::Invalid(format!("--smtp-host `{host}`: {e}")))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| TransportError::Invalid(format!("--smtp-host `{host}`: {e}")))?,
        };
        let mut builder = builder
            .port(config.smtp_port())
            .timeout(Some(config.smtp_timeout()));
        if let (Some(user), Some(password)) = (&config.smtp_username, &config.smtp_password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            mailer: builder.build(),
            from,
        })
    }
}

impl Transport for SmtpTransport {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(&'a self, email: &'a Email) -> BoxFuture<'a, Result<(), TransportError>> {
        async move {
            let to: Mailbox = email
                .to
                .parse()
                .map_err(|e| TransportError::Invalid(format!("recipient `{}`: {e}", email.to)))?;
            let message = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(email.subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(email.body.clone())
                .map_err(|e| TransportError::Invalid(e.to_string()))?;
            self.mailer.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    TransportError::Invalid(e.to_string())
                } else {
                    TransportError::Unavailable(e.to_string())
                }
            })
        }
        .boxed()
    }
}

/// The transport the settings ask for.
pub fn from_config(config: &NotificationConfig) -> Result<Box<dyn Transport>, TransportError> {
    Ok(match config.transport {
        TransportKind::Log => Box::new(LogTransport),
        TransportKind::Smtp => Box::new(SmtpTransport::new(config)?),
    })
}
