#include "admin/store_access.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "common/log/log.hpp"
#include "common/net/privileges.hpp"

namespace mailstead::admin {
namespace {

constexpr std::size_t kMinPasswordLength = 8;

// As root: create the data directory for the server's user and become that user.
bool become_service_user(const config::Config& config) {
  if (geteuid() != 0 || config.server.user.empty()) return true;
  std::error_code ec;
  std::filesystem::create_directories(config.server.data_dir, ec);
  try {
    net::check_identity(config.server.user, config.server.group);
    passwd* pw = getpwnam(config.server.user.c_str());  // NOLINT(concurrency-mt-unsafe): single-threaded
    gid_t gid = pw->pw_gid;
    if (!config.server.group.empty()) gid = getgrnam(config.server.group.c_str())->gr_gid;  // NOLINT
    if (chown(config.server.data_dir.c_str(), pw->pw_uid, gid) != 0) {
      fmt::print(stderr, "mailstead: cannot give {} to {}: {}\n", config.server.data_dir.string(), config.server.user,
                 std::generic_category().message(errno));
      return false;
    }
    net::drop_privileges(config.server.user, config.server.group);
  } catch (const net::PrivilegeError& e) {
    fmt::print(stderr, "mailstead: {}\n", e.what());
    return false;
  }
  return true;
}

std::string strip_line_end(std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

std::optional<std::string> prompt_hidden(const char* prompt) {
  std::FILE* tty = std::fopen("/dev/tty", "r+");
  if (!tty) return std::nullopt;
  int fd = fileno(tty);
  termios saved{};
  tcgetattr(fd, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  // A terminal that refuses these shows the prompt or echoes the password: nothing to recover.
  (void)tcsetattr(fd, TCSAFLUSH, &quiet);
  (void)std::fputs(prompt, tty);
  (void)std::fflush(tty);
  char buffer[1024];
  bool got = std::fgets(buffer, sizeof buffer, tty) != nullptr;
  (void)tcsetattr(fd, TCSAFLUSH, &saved);
  (void)std::fputs("\n", tty);
  (void)std::fclose(tty);
  std::string line = got ? strip_line_end(buffer) : std::string();
  explicit_bzero(buffer, sizeof buffer);
  if (!got) return std::nullopt;
  return line;
}

}  // namespace

std::optional<StoreAccess> open_store(const Invocation& inv) {
  auto loaded = config::load_config_file(inv.config_path);
  for (const auto& e : loaded.errors) fmt::print(stderr, "{}\n", e.to_string());
  if (!loaded.config) return std::nullopt;
  log::init("mailstead", config::LogLevel::warn);
  if (!become_service_user(*loaded.config)) return std::nullopt;
  try {
    auto store = storage::Store::open(storage::store_options(*loaded.config));
    return StoreAccess{std::move(*loaded.config), std::move(store)};
  } catch (const storage::StorageError& e) {
    fmt::print(stderr, "mailstead: {}\n", e.what());
    return std::nullopt;
  }
}

std::optional<std::string> read_password(const Invocation& inv, PasswordUse use) {
  std::string password;
  if (auto file = inv.value("--password-file")) {
    std::ifstream in{std::string(*file)};
    if (!in || !std::getline(in, password)) {
      fmt::print(stderr, "mailstead: cannot read a password from {}\n", *file);
      return std::nullopt;
    }
    password = strip_line_end(std::move(password));
  } else if (inv.has("--password-stdin")) {
    if (!std::getline(std::cin, password)) {
      fmt::print(stderr, "mailstead: no password on standard input\n");
      return std::nullopt;
    }
    password = strip_line_end(std::move(password));
  } else if (isatty(STDIN_FILENO)) {
    bool is_new = use == PasswordUse::new_password;
    auto first = prompt_hidden(is_new ? "New password: " : "Password: ");
    auto second = first && is_new ? prompt_hidden("Again: ") : first;
    if (!first || !second || *first != *second) {
      fmt::print(stderr, "mailstead: the passwords do not match\n");
      return std::nullopt;
    }
    password = std::move(*first);
  } else {
    fmt::print(stderr, "mailstead: give the password with --password-file FILE or --password-stdin\n");
    return std::nullopt;
  }
  if (use == PasswordUse::new_password && password.size() < kMinPasswordLength) {
    fmt::print(stderr, "mailstead: the password is too short (at least {} characters)\n", kMinPasswordLength);
    return std::nullopt;
  }
  return password;
}

int report(const storage::Failure& failure) {
  fmt::print(stderr, "mailstead: {}\n", failure.detail);
  return kExitFailure;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace mailstead::admin
