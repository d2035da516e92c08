// mailstead config check | config sample

#include <fmt/format.h>

#include "admin/command.hpp"
#include "common/config/config.hpp"
#include "common/config/schema.hpp"
#include "common/net/privileges.hpp"
#include "common/net/tls.hpp"

namespace mailstead::admin {
namespace {

// The same checks a daemon makes before it starts: the file, then the certificate and key
// (that they load and match), then the user and group to run as.
int config_check(const Invocation& inv) {
  auto result = config::load_config_file(inv.config_path);
  for (const auto& e : result.errors) fmt::print(stderr, "{}\n", e.to_string());
  if (!result.config) {
    fmt::print(stderr, "{}: {} error{}\n", inv.config_path, result.errors.size(), result.errors.size() == 1 ? "" : "s");
    return kExitFailure;
  }
  int problems = 0;
  try {
    net::make_server_tls_context(result.config->tls);
  } catch (const net::TlsSetupError& e) {
    fmt::print(stderr, "{}: {}\n", inv.config_path, e.what());
    ++problems;
  }
  try {
    net::check_identity(result.config->server.user, result.config->server.group);
  } catch (const net::PrivilegeError& e) {
    fmt::print(stderr, "{}: {}\n", inv.config_path, e.what());
    ++problems;
  }
  if (problems) return kExitFailure;
  fmt::print("{}: ok\n", inv.config_path);
  return kExitOk;
}

int config_sample(const Invocation&) {
  fmt::print("{}", config::sample_config());
  return kExitOk;
}

const std::vector<Command> kCommands = {
    {{"config", "check"},
     "[-c FILE]",
     "check the configuration file and the TLS certificate",
     "Loads FILE exactly as the daemons do and reports every error with its file, line and key;\n"
     "then checks that the certificate and key load and match, and that server.user exists.\n"
     "Exit status 0 when all is well, 1 otherwise.",
     0,
     0,
     {},
     config_check},
    {{"config", "sample"},
     "",
     "print the default configuration with every option documented",
     "Prints mailstead.toml with every option at its default value; a starting point for a new\n"
     "configuration (the file installed in /etc/mailstead is this text).",
     0,
     0,
     {},
     config_sample},
};

}  // namespace

std::span<const Command> config_commands() {
  return kCommands;
}

}  // namespace mailstead::admin
