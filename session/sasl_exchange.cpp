#include "session/sasl_exchange.hpp"

namespace mailstead::session {

net::awaitable<std::optional<sasl::Step>> run_sasl(net::Connection& connection, sasl::Mechanism mechanism,
                                                   std::optional<std::string> initial_response,
                                                   std::string_view challenge_prefix, std::chrono::seconds timeout,
                                                   std::string& pending_output) {
  sasl::ServerExchange exchange(mechanism);
  std::optional<std::string_view> initial;
  if (initial_response) initial = *initial_response;
  auto step = exchange.start(initial);
  while (auto* challenge = std::get_if<sasl::Challenge>(&step)) {
    pending_output += challenge_prefix;
    pending_output += challenge->base64;
    pending_output += "\r\n";
    auto data = std::move(pending_output);
    pending_output.clear();
    if (!co_await connection.write(data, timeout)) co_return std::nullopt;
    auto line = co_await connection.read_line(timeout);
    auto* text = std::get_if<io::Line>(&line);
    if (!text) co_return std::nullopt;
    step = exchange.respond(text->text);
  }
  co_return step;
}

}  // namespace mailstead::session
