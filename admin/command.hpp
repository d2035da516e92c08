#pragma once
// The `mailstead` command: a table of subcommands, each a small function over its arguments.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::admin {

struct Invocation {
  std::string config_path;             // from -c/--config, $MAILSTEAD_CONFIG or the default
  std::vector<std::string_view> args;  // after the subcommand words
};

struct Command {
  std::vector<std::string_view> words;  // {"config", "check"}
  std::string_view usage;               // arguments after the words
  std::string_view summary;
  std::string_view help;  // the --help text after the usage line
  int (*run)(const Invocation&);
};

// Exit codes, as scripts see them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the check or the operation failed
inline constexpr int kExitUsage = 2;    // the command line is wrong

std::span<const Command> config_commands();

}  // namespace mailstead::admin
