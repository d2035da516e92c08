#include "common/sasl/sasl.hpp"

#include <algorithm>

#include "common/sasl/base64.hpp"
#include "common/text/ascii.hpp"
#include "common/text/utf8.hpp"

namespace mailstead::sasl {
namespace {

bool acceptable_field(std::string_view field) {
  return field.size() <= kMaxField && field.find('\0') == std::string_view::npos && text::valid_utf8(field);
}

}  // namespace

std::optional<Mechanism> parse_mechanism(std::string_view name) {
  if (text::iequals_ascii(name, "PLAIN")) return Mechanism::plain;
  if (text::iequals_ascii(name, "LOGIN")) return Mechanism::login;
  return std::nullopt;
}

std::string_view to_string(Failure failure) {
  switch (failure) {
    case Failure::malformed_base64:
      return "malformed base64";
    case Failure::malformed_message:
      return "malformed SASL message";
    case Failure::cancelled:
      return "cancelled by client";
  }
  return "?";
}

Step ServerExchange::start(std::optional<std::string_view> initial_response) {
  if (initial_response) return receive(*initial_response == "=" ? std::string_view{} : *initial_response);
  if (mechanism_ == Mechanism::plain) return Challenge{""};
  return Challenge{base64_encode("Username:")};
}

Step ServerExchange::respond(std::string_view client_line) {
  if (client_line == "*") return Failed{Failure::cancelled};
  return receive(client_line);
}

Step ServerExchange::receive(std::string_view base64_text) {
  auto decoded = base64_decode(base64_text);
  if (!decoded) return Failed{Failure::malformed_base64};
  Secret message(std::move(*decoded));  // may hold a password: wiped when done
  if (mechanism_ == Mechanism::plain) return receive_plain(message.reveal());
  return receive_login(std::string(message.reveal()));
}

// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
Step ServerExchange::receive_plain(std::string_view message) {
  auto first = message.find('\0');
  if (first == std::string_view::npos) return Failed{Failure::malformed_message};
  auto second = message.find('\0', first + 1);
  if (second == std::string_view::npos) return Failed{Failure::malformed_message};
  auto authzid = message.substr(0, first);
  auto authcid = message.substr(first + 1, second - first - 1);
  auto password = message.substr(second + 1);
  if (authcid.empty() || password.empty()) return Failed{Failure::malformed_message};
  if (!acceptable_field(authzid) || !acceptable_field(authcid) || !acceptable_field(password))
    return Failed{Failure::malformed_message};
  return Success{Credentials{std::string(authzid), std::string(authcid), Secret(std::string(password))}};
}

// LOGIN: the user name (perhaps as the initial response), then the password.
Step ServerExchange::receive_login(std::string message) {
  if (message.empty() || !acceptable_field(message)) {
    explicit_bzero(message.data(), message.size());
    return Failed{Failure::malformed_message};
  }
  if (round_++ == 0) {
    login_user_ = std::move(message);
    return Challenge{base64_encode("Password:")};
  }
  return Success{Credentials{"", std::move(login_user_), Secret(std::move(message))}};
}

}  // namespace mailstead::sasl
