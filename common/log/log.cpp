#include "common/log/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>

namespace mailstead::log {
namespace {

std::string g_program = "mailstead";
std::atomic<int> g_threshold{static_cast<int>(Level::info)};

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, ms);
}

}  // namespace

void init(std::string_view program, Level threshold) {
  g_program = std::string(program);
  g_threshold = static_cast<int>(threshold);
}

void set_threshold(Level threshold) {
  g_threshold = static_cast<int>(threshold);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= g_threshold.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view session, std::string_view event, std::string_view fields) {
  std::string line = fmt::format("{} {} {} session={} event={}", timestamp(), config::to_string(level), g_program,
                                 session.empty() ? "-" : session, event);
  if (!fields.empty()) {
    line += ' ';
    line += fields;
  }
  line += '\n';
  std::string_view rest = line;
  while (!rest.empty()) {
    auto n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) break;  // nowhere left to report a failing log
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string escape(Quoted q) {
  std::string out = "\"";
  std::size_t taken = 0;
  for (char c : q.text) {
    if (taken++ == q.limit) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string describe(std::exception_ptr cause) {
  try {
    std::rethrow_exception(std::move(cause));
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

std::string new_session_id() {
  // A random start makes ids from different daemons and restarts unlikely to collide in logs.
  static std::atomic<std::uint32_t> next{std::random_device{}()};
  return fmt::format("{:08x}", next.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace mailstead::log
