// libFuzzer target: the IMAP command parser answers every byte string with a command or a
// tagged/untagged BAD and never crashes; a literal announcement is read back exactly; search
// and list matching stay within their inputs, and substring search finds exactly what a naive
// search over the lower-cased text finds. A parsed SEARCH's PARTIAL range is ordered and not
// beside ALL, and its criteria, kept up to date, hold no sequence numbers once pinned (RFC
// 5267).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "imapd/proto/command.hpp"
#include "imapd/proto/command_reader.hpp"
#include "imapd/proto/list_match.hpp"
#include "imapd/proto/search.hpp"

namespace {

using mailstead::imap::SearchKey;
using mailstead::imap::SearchRequest;

bool holds_sequence_numbers(const SearchKey& key) {
  if (key.kind == SearchKey::Kind::sequence && !key.set.saved) return true;
  return std::any_of(key.children.begin(), key.children.end(), holds_sequence_numbers);
}

void check_search(const SearchRequest& request) {
  const bool partial = request.returns & SearchRequest::kPartial;
  if (partial && (request.partial_first == 0 || request.partial_first > request.partial_last)) std::abort();
  if (partial && (request.returns & SearchRequest::kAll)) std::abort();
  auto key = request.key;
  mailstead::imap::prepare_search(key, {100, 300, {}});
  mailstead::imap::pin_sequence_numbers(key, 100, [](std::uint32_t seq) { return seq * 3; });
  if (holds_sequence_numbers(key)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = mailstead::imap::parse_command(bytes);
  if (auto* command = std::get_if<mailstead::imap::Command>(&parsed)) {
    if (command->tag.empty() || !bytes.ends_with("\r\n")) std::abort();
    if (auto* search = std::get_if<mailstead::imap::Search>(&command->arguments)) check_search(search->request);
    if (auto* sort = std::get_if<mailstead::imap::Sort>(&command->arguments)) check_search(sort->request);
    // UIDONLY's check walks the whole search tree (RFC 9586).
    if (!command->uid && std::holds_alternative<mailstead::imap::Fetch>(command->arguments) &&
        !mailstead::imap::uses_sequence_numbers(*command))
      std::abort();
  }
  auto first_line = bytes.substr(0, bytes.find('\n'));
  if (mailstead::imap::trailing_literal(first_line) && !first_line.ends_with("}")) std::abort();
  auto half = size / 2;
  (void)mailstead::imap::matches_pattern(bytes.substr(0, half), bytes.substr(half), '/');
  (void)mailstead::imap::sent_day(bytes);
  (void)mailstead::imap::fold_case(bytes);
  if (size > 0) {  // the first byte says how long the needle is; the haystack is what follows it
    auto rest = bytes.substr(1);
    auto needle = mailstead::imap::fold_case(rest.substr(0, std::min<std::size_t>(data[0] % 64, rest.size())));
    auto haystack = rest.substr(std::min<std::size_t>(data[0] % 64, rest.size()));
    bool found = mailstead::imap::contains_folded(haystack, needle);
    bool ascii = std::all_of(bytes.begin(), bytes.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii && found != (mailstead::imap::fold_case(haystack).find(needle) != std::string::npos)) std::abort();
  }
  return 0;
}
