// The commands of any state (RFC 9051 §6.1: CAPABILITY, NOOP, LOGOUT; ID, RFC 2971; ENABLE,
// RFC 5161, and COMPRESS, RFC 4978, after login) and of the not-authenticated state (§6.2:
// STARTTLS, AUTHENTICATE, LOGIN).

#include <fmt/format.h>

#include "common/log/log.hpp"
#include "imapd/session_impl.hpp"

namespace mailstead::imap {

// --- any state (RFC 9051 §6.1) ------------------------------------------------------------------

// RFC 9051 §6.1.1.
bool Session::on_capability(const Command& command, const Capability&) {
  talk_.send(fmt::format("* CAPABILITY {}\r\n", capabilities()));
  tagged(command, "OK", "CAPABILITY completed");
  return true;
}

// RFC 9051 §6.1.2: also how a client polls for updates.
bool Session::on_noop(const Command& command, const Noop&) {
  if (selected()) {
    sync_changes();
    report_updates(true);
  }
  tagged(command, "OK", fmt::format("{} completed", command.name));
  return true;
}

// RFC 9051 §6.1.3.
bool Session::on_logout(const Command& command, const Logout&) {
  talk_.send("* BYE Logging out\r\n");
  tagged(command, "OK", "LOGOUT completed");
  return false;
}

// RFC 2971: the client's fields are logged; ours name the server.
bool Session::on_id(const Command& command, const Id& id) {
  std::string fields;
  for (const auto& [name, value] : id.fields) fields += fmt::format(" {}={}", name, log::quoted(value));
  log::info(talk_.id(), "client_id", "{}", fields);
  talk_.send("* ID (\"name\" \"mailstead\")\r\n");
  tagged(command, "OK", "ID completed");
  return true;
}

// RFC 4978 (after login: the command table). The OK goes out uncompressed, and everything
// after it, both ways, is DEFLATE: the command loop turns it on once the OK is written.
bool Session::on_compress(const Command& command, const Compress& compress) {
  if (compress.mechanism != "DEFLATE") return bad(command.tag, "Unknown compression mechanism");
  if (connection().compressing() || compress_next_) {
    tagged(command, "NO", "[COMPRESSIONACTIVE] DEFLATE is already on");
    return true;
  }
  tagged(command, "OK", "DEFLATE active");
  compress_next_ = true;
  return true;
}

// RFC 8437 (after login: the command table): the session is as a new connection's, but for
// TLS and COMPRESS, which stay. The selected mailbox is closed as by UNSELECT (nothing is
// expunged), ENABLEd extensions are off again, the next login is checked as the first was.
// The line limit a login raised stays raised (the reader's limit only grows); literals are
// limited by state, so a stranger's are the pre-login size again.
bool Session::on_unauthenticate(const Command& command, const Unauthenticate&) {
  deselect();
  log::info(talk_.id(), "unauthenticate", "user={}", log::quoted(account().address));
  state_.enter<NotAuthenticated>();
  enabled_ = {};
  saved_search_.clear();
  own_modseqs_.clear();
  tagged(command, "OK", "UNAUTHENTICATE completed");
  return true;
}

// RFC 5161 (after login: the command table).
bool Session::on_enable(const Command& command, const Enable& enable) {
  std::string names;
  for (const auto& capability : enable.capabilities) {
    if (capability == "UTF8=ACCEPT" && !enabled_.utf8) {
      enabled_.utf8 = true;
      names += " UTF8=ACCEPT";
    } else if (capability == "CONDSTORE" && !enabled_.condstore) {
      enabled_.condstore = true;
      names += " CONDSTORE";
    } else if (capability == "QRESYNC" && !enabled_.qresync) {
      enabled_.qresync = enabled_.condstore = true;  // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3)
      names += " QRESYNC";
    } else if (capability == "IMAP4REV2" && !enabled_.imap4rev2) {
      enabled_.imap4rev2 = true;
      names += " IMAP4rev2";
    } else if (capability == "UIDONLY" && !enabled_.uidonly) {
      enabled_.uidonly = true;  // RFC 9586 §3
      names += " UIDONLY";
    }
  }
  talk_.send(fmt::format("* ENABLED{}\r\n", names));
  tagged(command, "OK", "ENABLE completed");
  return true;
}

// --- not authenticated (RFC 9051 §6.2) ----------------------------------------------------------

// RFC 9051 §6.2.1.
net::awaitable<bool> Session::on_starttls(const Command& command, const StartTls&) {
  if (connection().is_tls()) co_return bad(command.tag, "TLS is already active");
  auto go_ahead = fmt::format("{} OK Begin TLS negotiation now\r\n", command.tag);  // named: "Coroutine rules"
  co_return co_await talk_.start_tls(go_ahead);
}

// RFC 9051 §6.2.3: refused before TLS unless imapd.allow_plaintext_auth (LOGINDISABLED).
net::awaitable<bool> Session::on_login(const Command& command, const Login& login) {
  if (!login_allowed()) {
    tagged(command, "NO", "[PRIVACYREQUIRED] Use STARTTLS before logging in");
    co_return true;
  }
  sasl::Credentials credentials{"", login.user, Secret(login.password)};
  co_return co_await log_in(command, std::move(credentials));
}

// RFC 9051 §6.2.2, with RFC 4959 SASL-IR.
net::awaitable<bool> Session::on_authenticate(const Command& command, const Authenticate& auth) {
  if (!login_allowed()) {
    tagged(command, "NO", "[PRIVACYREQUIRED] Use STARTTLS before logging in");
    co_return true;
  }
  if (!sasl::parse_mechanism(auth.mechanism)) {
    tagged(command, "NO", "Unsupported authentication mechanism");
    co_return true;
  }
  auto initial = auth.initial;
  auto outcome = co_await talk_.authenticate(auth.mechanism, std::move(initial));
  if (!outcome) co_return false;
  if (auto* refusal = std::get_if<session::SaslRefusal>(&*outcome))
    co_return bad(command.tag, *refusal == session::SaslRefusal::cancelled ? "Authentication cancelled"
                                                                           : "Cannot decode the response");
  co_return co_await log_in(command, std::move(std::get<sasl::Credentials>(*outcome)));
}

net::awaitable<bool> Session::log_in(const Command& command, sasl::Credentials credentials) {
  auto outcome = co_await talk_.log_in(std::move(credentials));
  if (std::holds_alternative<session::LockedOut>(outcome)) {
    tagged(command, "NO", "[UNAVAILABLE] Too many failed logins from your address; try again later");
    co_return true;
  }
  if (std::holds_alternative<session::LoginFailed>(outcome)) {
    tagged(command, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
    co_return true;
  }
  state_.enter<Authenticated>(std::move(std::get<storage::User>(outcome)));
  connection().input().raise_max_line(cfg_.imapd.max_line_length);
  tagged(command, "OK", fmt::format("[CAPABILITY {}] Logged in", capabilities()));
  co_return true;
}

}  // namespace mailstead::imap
