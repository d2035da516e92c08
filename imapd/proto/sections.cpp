#include "imapd/proto/sections.hpp"

#include <fmt/format.h>

#include "common/text/ascii.hpp"
#include "imapd/proto/response.hpp"

namespace mailstead::imap {

const mime::Part* find_part(const mime::Part& root, const std::vector<std::uint32_t>& numbers) {
  const mime::Part* part = &root;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    // Below a message/rfc822 part, numbers count the parts of the message it holds.
    if (i > 0 && part->is_message() && !part->children.empty()) part = &part->children.front();
    auto n = numbers[i];
    if (part->is_multipart()) {
      if (n > part->children.size()) return nullptr;
      part = &part->children[n - 1];
    } else if (n != 1) {
      return nullptr;  // a single-part body is its own part 1
    }
  }
  return part;
}

std::string filter_header(std::string_view block, const std::vector<std::string>& names, bool keep) {
  std::string out;
  std::size_t pos = 0;
  while (pos < block.size()) {
    // One field: its first line and every continuation line (starting with SP or HTAB).
    std::size_t end = pos;
    do {
      auto nl = block.find('\n', end);
      end = nl == std::string_view::npos ? block.size() : nl + 1;
    } while (end < block.size() && (block[end] == ' ' || block[end] == '\t'));
    auto field = block.substr(pos, end - pos);
    pos = end;
    if (field == "\r\n" || field == "\n") break;  // the blank line
    auto colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    auto name = field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    bool listed = false;
    for (const auto& wanted : names)
      if (text::iequals_ascii(name, wanted)) listed = true;
    if (listed == keep) out += field;
  }
  out += "\r\n";
  return out;
}

std::optional<std::string> section_bytes(std::string_view message, const mime::Part& root, const Section& section) {
  const mime::Part* part = find_part(root, section.part);
  if (!part) return std::nullopt;
  using T = Section::Text;
  if (section.text == T::all) return std::string(section.part.empty() ? message : part->body.of(message));
  if (section.text == T::mime) return std::string(part->header.of(message));
  // HEADER, TEXT and HEADER.FIELDS name the parts of a message: the top one, or the one a
  // message/rfc822 part holds.
  const mime::Part* holder = part;
  if (!section.part.empty()) {
    if (!part->is_message() || part->children.empty()) return std::nullopt;
    holder = &part->children.front();
  }
  switch (section.text) {
    case T::header:
      return std::string(holder->header.of(message));
    case T::text:
      return std::string(holder->body.of(message));
    case T::header_fields:
      return filter_header(holder->header.of(message), section.fields, true);
    case T::header_fields_not:
      return filter_header(holder->header.of(message), section.fields, false);
    default:
      return std::nullopt;
  }
}

std::string section_name(const Section& section) {
  std::string out;
  for (std::size_t i = 0; i < section.part.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(section.part[i]);
  }
  auto add = [&out](std::string_view text) {
    if (!out.empty()) out += '.';
    out += text;
  };
  using T = Section::Text;
  switch (section.text) {
    case T::all:
      break;
    case T::header:
      add("HEADER");
      break;
    case T::text:
      add("TEXT");
      break;
    case T::mime:
      add("MIME");
      break;
    case T::header_fields:
    case T::header_fields_not: {
      add(section.text == T::header_fields ? "HEADER.FIELDS (" : "HEADER.FIELDS.NOT (");
      for (std::size_t i = 0; i < section.fields.size(); ++i) {
        if (i) out += ' ';
        append_astring(out, text::upper_ascii(section.fields[i]));
      }
      out += ')';
      break;
    }
  }
  return out;
}

}  // namespace mailstead::imap
