#pragma once
// Server side of the SASL mechanisms the suite offers: PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login). Protocol-neutral: the session frames challenges as
// "334 <text>" (SMTP), "+ <text>" (IMAP, POP3) and hands back each client line; this class
// only decodes, so it never sees a socket and never checks a password (password.hpp does).
//
//   ServerExchange ex(Mechanism::plain);
//   Step s = ex.start(initial_response);   // nullopt when the client sent none
//   while (auto* c = std::get_if<Challenge>(&s)) { send(c->base64); s = ex.respond(read_line()); }
//
// A client line "*" cancels (RFC 4954 §4, RFC 9051 §6.2.2). Initial response "=" is an empty
// one. Decoded credentials must be valid UTF-8 without NUL, each at most kMaxField bytes.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/secret.hpp"

namespace mailstead::sasl {

enum class Mechanism { plain, login };

// Case-insensitive; nullopt for a mechanism we do not offer.
std::optional<Mechanism> parse_mechanism(std::string_view name);

inline constexpr std::size_t kMaxField = 1024;

struct Credentials {
  std::string authzid;  // empty: act as authcid
  std::string authcid;  // the login name, e.g. "alice@example.test"
  Secret password;
};

enum class Failure {
  malformed_base64,   // not strict base64
  malformed_message,  // decoded, but not what the mechanism defines
  cancelled,          // the client sent "*"
};
std::string_view to_string(Failure failure);

struct Challenge {
  std::string base64;  // to send to the client (may be empty)
};
struct Success {
  Credentials credentials;
};
struct Failed {
  Failure reason;
};
using Step = std::variant<Challenge, Success, Failed>;

class ServerExchange {
 public:
  explicit ServerExchange(Mechanism mechanism) : mechanism_(mechanism) {}

  Step start(std::optional<std::string_view> initial_response);
  Step respond(std::string_view client_line);

 private:
  Step receive(std::string_view base64_text);
  Step receive_plain(std::string_view message);
  Step receive_login(std::string message);

  Mechanism mechanism_;
  int round_ = 0;
  std::string login_user_;
};

}  // namespace mailstead::sasl
