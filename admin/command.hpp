#pragma once
// The `mailstead` command: a table of subcommands, each a small function over its parsed
// arguments. main.cpp parses options against each command's declared set, so a command never
// sees an option it did not declare.

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::admin {

struct OptionSpec {
  std::string_view name;  // "--json"
  bool takes_value = false;
  std::string_view help;
};

struct Invocation {
  std::string config_path;                               // from -c/--config, $MAILSTEAD_CONFIG or the default
  std::vector<std::string_view> args;                    // positional arguments after the subcommand words
  std::map<std::string_view, std::string_view> options;  // given options; flags map to ""

  bool has(std::string_view name) const { return options.count(name) != 0; }
  std::optional<std::string_view> value(std::string_view name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
  }
};

struct Command {
  std::vector<std::string_view> words;  // {"config", "check"}
  std::string_view usage;               // arguments after the words
  std::string_view summary;
  std::string_view help;  // the --help text after the usage line
  std::size_t min_args = 0;
  std::size_t max_args = 0;
  std::vector<OptionSpec> options;
  int (*run)(const Invocation&);
};

// Exit codes, as scripts see them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the check or the operation failed
inline constexpr int kExitUsage = 2;    // the command line is wrong

std::span<const Command> config_commands();
std::span<const Command> account_commands();
std::span<const Command> import_commands();
std::span<const Command> message_commands();
std::span<const Command> queue_commands();
std::span<const Command> check_commands();
std::span<const Command> backup_commands();
std::span<const Command> dkim_commands();
std::span<const Command> dns_commands();

}  // namespace mailstead::admin
