#pragma once
// What every storage subcommand needs: the configuration, and the store opened as the
// server's user. Run as root, the command first makes sure the data directory exists and
// belongs to server.user, then drops to that user, so that files it creates stay readable by
// the daemons.

#include <fmt/format.h>

#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admin/command.hpp"
#include "common/config/config.hpp"
#include "storage/store.hpp"

namespace mailstead::admin {

struct StoreAccess {
  config::Config config;
  std::unique_ptr<storage::Store> store;
};

// Prints what went wrong and returns nullopt when the config or the store cannot be opened.
std::optional<StoreAccess> open_store(const Invocation& inv);

// A password from --password-file, --password-stdin or a prompt on the terminal; nullopt
// after printing why there is none. A new password is asked twice and must be long enough.
enum class PasswordUse { new_password, test };
std::optional<std::string> read_password(const Invocation& inv, PasswordUse use);

// A failed storage operation: "mailstead: <detail>", exit status 1.
int report(const storage::Failure& failure);

std::string json_string(std::string_view text);

// A JSON array of `format(item)` for each item, on one line.
template <class Item, class Format>
void print_json_list(const std::vector<Item>& items, Format&& format) {
  std::string out = "[";
  for (const auto& item : items) out += (out.size() > 1 ? "," : "") + format(item);
  fmt::print("{}]\n", out);
}

inline constexpr OptionSpec kJson{"--json", false, "print JSON instead of text"};

// A whole command-line argument as a number (a UID, a queue id, a count), or nullopt.
template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace mailstead::admin
