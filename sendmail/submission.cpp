#include "sendmail/submission.hpp"

#include <algorithm>

#include "common/mime/mime.hpp"
#include "common/text/ascii.hpp"
#include "common/text/dot_stuffing.hpp"
#include "common/text/line_ends.hpp"

namespace mailstead::sendmail {
namespace {

// The input as CRLF lines, up to a lone "." when that ends it.
std::vector<std::string_view> split_lines(std::string_view input, bool dot_ends_input, std::string& storage) {
  storage = text::to_crlf(input);
  if (!storage.empty() && !storage.ends_with("\r\n")) storage += "\r\n";
  std::vector<std::string_view> lines;
  std::string_view rest = storage;
  while (!rest.empty()) {
    auto end = rest.find("\r\n");
    auto line = rest.substr(0, end);
    if (dot_ends_input && line == ".") break;
    lines.push_back(line);
    rest.remove_prefix(end + 2);
  }
  return lines;
}

void add_unique(std::vector<std::string>& list, std::string address) {
  if (address.empty()) return;
  if (std::find(list.begin(), list.end(), address) == list.end()) list.push_back(std::move(address));
}

}  // namespace

std::variant<Options, UsageError> parse_options(const std::vector<std::string_view>& args) {
  Options o;
  std::size_t i = 0;
  auto value_of = [&](std::string_view arg, std::string_view flag) -> std::optional<std::string> {
    if (arg.size() > flag.size()) return std::string(arg.substr(flag.size()));  // -fsender
    if (i + 1 < args.size()) return std::string(args[++i]);                     // -f sender
    return std::nullopt;
  };
  for (; i < args.size(); ++i) {
    auto arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    if (arg == "-t") {
      o.recipients_from_headers = true;
    } else if (arg == "-i" || arg == "-oi") {
      o.dot_ends_input = false;
    } else if (arg == "-bs") {
      o.mode = Mode::smtp_on_stdio;
    } else if (arg == "-bm") {
      o.mode = Mode::deliver;
    } else if (arg == "-bp" || arg == "-bi" || arg == "-bd" || arg.starts_with("-q") || arg == "-bv") {
      return UsageError{
          std::string(arg) +
          " is not supported: use `mailstead queue list` for the queue and `mailstead alias` for aliases"};
    } else if (arg.starts_with("-b")) {
      return UsageError{"unknown mode " + std::string(arg)};
    } else if (arg.starts_with("-f") || arg.starts_with("-r")) {
      auto v = value_of(arg, arg.substr(0, 2));
      if (!v) return UsageError{"-f needs an address"};
      o.sender = *v;
    } else if (arg.starts_with("-F")) {
      auto v = value_of(arg, "-F");
      if (!v) return UsageError{"-F needs a name"};
      o.full_name = *v;
    } else if (arg.starts_with("-C")) {
      auto v = value_of(arg, "-C");
      if (!v) return UsageError{"-C needs a file"};
      o.config = *v;
    } else if (arg.starts_with("-N") || arg.starts_with("-R") || arg.starts_with("-V") || arg.starts_with("-B") ||
               arg.starts_with("-h") || arg.starts_with("-L") || arg.starts_with("-X")) {
      // DSN NOTIFY/RET/ENVID, body type, hop count, log id: taking the argument keeps the
      // recipients where they belong; smtpd decides these itself.
      if (arg.size() == 2 && !value_of(arg, arg)) return UsageError{std::string(arg) + " needs a value"};
    } else if (arg.starts_with("-o") || arg == "-v" || arg == "-U" || arg == "-m" || arg == "-n" || arg == "-em" ||
               arg == "-ep" || arg == "-eq") {
      // sendmail options without meaning here (-odb, -odi, -oem, -v ...)
    } else {
      return UsageError{"unknown option " + std::string(arg)};
    }
  }
  for (; i < args.size(); ++i) o.recipients.emplace_back(args[i]);
  if (o.mode == Mode::deliver && o.recipients.empty() && !o.recipients_from_headers)
    return UsageError{"no recipients: give addresses, or -t to take them from the message"};
  return o;
}

std::string qualify(std::string_view address, std::string_view domain) {
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>')
    address = address.substr(1, address.size() - 2);
  if (address.empty() || address.find('@') != std::string_view::npos) return std::string(address);
  return std::string(address) + "@" + std::string(domain);
}

bool needs_smtputf8(std::string_view address) {
  return std::any_of(address.begin(), address.end(), [](char c) { return static_cast<unsigned char>(c) > 127; });
}

Prepared prepare_message(std::string_view input, const Options& options, std::string_view sender) {
  Prepared out;
  for (const auto& r : options.recipients) add_unique(out.recipients, std::string(r));
  std::string storage;
  auto lines = split_lines(input, options.dot_ends_input, storage);

  // The header block: lines up to the first empty one; continuation lines belong to the field
  // before them.
  std::size_t header_lines = 0;
  while (header_lines < lines.size() && !lines[header_lines].empty()) ++header_lines;
  bool has_from = false;
  std::vector<bool> keep(lines.size(), true);
  for (std::size_t i = 0; i < header_lines;) {
    std::size_t end = i + 1;
    while (end < header_lines && (lines[end][0] == ' ' || lines[end][0] == '\t')) ++end;
    auto name_end = lines[i].find(':');
    std::string_view name = name_end == std::string_view::npos ? std::string_view() : lines[i].substr(0, name_end);
    if (text::iequals_ascii(name, "from")) has_from = true;
    bool is_bcc = text::iequals_ascii(name, "bcc");
    bool is_recipient_field = is_bcc || text::iequals_ascii(name, "to") || text::iequals_ascii(name, "cc");
    if (options.recipients_from_headers && is_recipient_field) {
      std::string value(lines[i].substr(name_end + 1));
      for (std::size_t k = i + 1; k < end; ++k) value += std::string(lines[k]);
      for (const auto& a : mime::parse_address_list(value))
        if (!a.host.empty()) add_unique(out.recipients, a.mailbox + "@" + a.host);
    }
    if (is_bcc)
      for (std::size_t k = i; k < end; ++k) keep[k] = false;
    i = end;
  }

  std::string message;
  if (!has_from && !sender.empty()) {
    if (options.full_name.empty()) {
      message += "From: " + std::string(sender) + "\r\n";
    } else {
      std::string quoted;
      for (char c : options.full_name) {
        if (c == '"' || c == '\\') quoted += '\\';
        if (c != '\r' && c != '\n') quoted += c;
      }
      message += "From: \"" + quoted + "\" <" + std::string(sender) + ">\r\n";
    }
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!keep[i]) continue;
    message += lines[i];
    message += "\r\n";
  }
  text::append_dot_stuffed_message(out.data, message);
  out.eight_bit =
      std::any_of(out.data.begin(), out.data.end(), [](char c) { return static_cast<unsigned char>(c) > 127; });
  return out;
}

}  // namespace mailstead::sendmail
