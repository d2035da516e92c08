#pragma once
// Structured logging: one line per event on standard error, written with a single write(2) so
// that lines from several threads never interleave:
//
//   2026-11-24T08:54:29.123Z info smtpd session=6f3a01c2 event=connect remote=192.0.2.7:51234
//
// `session` is "-" for events that belong to no connection. Fields are "key=value" pairs the
// caller formats; any text that came from a client goes through log::quoted(), which escapes
// control characters so a client cannot forge log lines. Credentials are held in Secret, which
// formats as "<redacted>".

#include <fmt/format.h>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "common/config/config.hpp"

namespace mailstead::log {

using Level = config::LogLevel;

void init(std::string_view program, Level threshold);
// Changes the least severe level written (a config reload); safe from any thread.
void set_threshold(Level threshold);
bool enabled(Level level);
void write(Level level, std::string_view session, std::string_view event, std::string_view fields);

// Text from the network, quoted and escaped, cut at `limit` bytes (marked with "...").
struct Quoted {
  std::string_view text;
  std::size_t limit = 200;
};
inline Quoted quoted(std::string_view text, std::size_t limit = 200) {
  return {text, limit};
}
std::string escape(Quoted q);

// A short id unique within the process lifetime, put on every line of one connection.
std::string new_session_id();

// The text of an exception that escaped (std::exception's what(), or "unknown exception").
std::string describe(std::exception_ptr cause);

template <class... Args>
void emit(Level level, std::string_view session, std::string_view event, fmt::format_string<Args...> format,
          Args&&... args) {
  if (!enabled(level)) return;
  write(level, session, event, fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
void debug(std::string_view session, std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  emit(Level::debug, session, event, format, std::forward<Args>(args)...);
}
template <class... Args>
void info(std::string_view session, std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  emit(Level::info, session, event, format, std::forward<Args>(args)...);
}
template <class... Args>
void warn(std::string_view session, std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  emit(Level::warn, session, event, format, std::forward<Args>(args)...);
}
template <class... Args>
void error(std::string_view session, std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  emit(Level::error, session, event, format, std::forward<Args>(args)...);
}

}  // namespace mailstead::log

template <>
struct fmt::formatter<mailstead::log::Quoted> : fmt::formatter<std::string_view> {
  auto format(const mailstead::log::Quoted& q, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(mailstead::log::escape(q), ctx);
  }
};
