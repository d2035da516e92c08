#include "admin/import_sources.hpp"

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "common/text/mutf7.hpp"
#include "storage/address.hpp"
#include "storage/messages.hpp"

namespace mailstead::admin {

namespace {

// Where the info part of a Maildir name starts (":2," or, on some systems, "!2,"), or npos.
std::size_t info_at(std::string_view filename) {
  auto at = filename.find(":2,");
  return at != std::string_view::npos ? at : filename.find("!2,");
}

}  // namespace

MaildirFlags parse_maildir_flags(std::string_view filename, const std::map<char, std::string>& keyword_letters) {
  static constexpr std::pair<char, std::uint32_t> kFlagLetters[] = {{'D', storage::kDraft},
                                                                    {'F', storage::kFlagged},
                                                                    {'R', storage::kAnswered},
                                                                    {'S', storage::kSeen},
                                                                    {'T', storage::kDeleted}};
  MaildirFlags out;
  auto at = info_at(filename);
  if (at == std::string_view::npos) return out;
  for (char c : filename.substr(at + 3)) {
    if (c == 'P') {
      out.keywords.emplace_back("$Forwarded");  // "passed": resent or forwarded
      continue;
    }
    auto flag = std::find_if(std::begin(kFlagLetters), std::end(kFlagLetters), [c](auto& f) { return f.first == c; });
    if (flag != std::end(kFlagLetters))
      out.flags |= flag->second;
    else if (auto it = keyword_letters.find(c); it != keyword_letters.end())
      out.keywords.push_back(it->second);
  }
  return out;
}

std::string_view maildir_unique_name(std::string_view filename) {
  return filename.substr(0, info_at(filename));
}

std::map<char, std::string> parse_dovecot_keywords(std::istream& in) {
  std::map<char, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    auto space = line.find(' ');
    if (space == std::string::npos) continue;
    int index = 0;
    try {
      index = std::stoi(line.substr(0, space));
    } catch (const std::exception&) {
      continue;
    }
    auto name = line.substr(space + 1);
    if (index >= 0 && index < 26 && storage::valid_keyword(name)) out[static_cast<char>('a' + index)] = name;
  }
  return out;
}

std::optional<std::string> maildir_folder_mailbox(std::string_view directory, char separator) {
  if (directory.size() < 2 || directory[0] != '.' || directory == "..") return std::nullopt;
  auto decoded = text::decode_mutf7(directory.substr(1));
  if (!decoded || decoded->empty()) return std::nullopt;
  std::string name = *decoded;
  if (separator != '.') std::replace(name.begin(), name.end(), '.', separator);
  return name;
}

std::optional<std::int64_t> parse_asctime(std::string_view text) {
  std::tm tm{};
  std::string copy(text);
  const char* end = strptime(copy.c_str(), "%a %b %d %H:%M:%S %Y", &tm);
  if (!end) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

namespace {

// The date of a "From sender date" line: what follows the sender.
std::int64_t from_line_date(std::string_view line) {
  auto after = line.find(' ', 5);
  if (after == std::string_view::npos) return 0;
  auto date = line.substr(after + 1);
  while (!date.empty() && (date.back() == '\r' || date.back() == ' ')) date.remove_suffix(1);
  return parse_asctime(date).value_or(0);
}

std::uint32_t status_flags(std::string_view header_name, std::string_view value) {
  std::uint32_t flags = 0;
  for (char c : value) {
    if (header_name == "status" && c == 'R') flags |= storage::kSeen;
    if (header_name == "x-status") {
      if (c == 'A') flags |= storage::kAnswered;
      if (c == 'F') flags |= storage::kFlagged;
      if (c == 'D') flags |= storage::kDeleted;
      if (c == 'T') flags |= storage::kDraft;
    }
  }
  return flags;
}

bool is_quoted_from(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] == '>') ++i;
  return i > 0 && line.substr(i).starts_with("From ");
}

}  // namespace

bool MboxReader::next_line(std::string& line) {
  auto start = offset_;
  if (!std::getline(in_, line)) return false;
  offset_ += line.size() + 1;
  if (!line.starts_with("From ")) return true;
  pending_from_ = line;  // the first line of the next message
  pending_offset_ = start;
  return false;
}

bool MboxReader::next(Message& out) {
  std::string line;
  if (!started_) {
    started_ = true;
    while (next_line(line))
      if (!line.empty() && line != "\r") throw std::runtime_error("not an mbox file: it does not start with \"From \"");
  }
  if (pending_from_.empty()) return false;
  out = Message{};
  out.offset = pending_offset_;
  out.date = from_line_date(pending_from_);
  pending_from_.clear();
  bool in_headers = true;
  std::string body;
  while (next_line(line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (in_headers && line.empty()) in_headers = false;
    if (in_headers) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto name = storage::lower_ascii(line.substr(0, colon));
        if (name == "status" || name == "x-status") out.flags |= status_flags(name, line.substr(colon + 1));
      }
    }
    if (is_quoted_from(line)) line.erase(0, 1);
    body += line;
    body += "\r\n";
  }
  // The blank line before the next "From " belongs to the mbox format, not to the message.
  if (!pending_from_.empty() && body.ends_with("\r\n\r\n")) body.resize(body.size() - 2);
  out.bytes = std::move(body);
  return true;
}

}  // namespace mailstead::admin
