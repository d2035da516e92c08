#pragma once
// The token layer of the IMAP command parser (RFC 9051 §9): reads atoms, strings, literals,
// numbers and lists from the bytes of one whole command, as the session assembled it — its
// lines with their CRLFs, each literal's bytes in place behind its "{n}" line. Pure.
//
// Every method either consumes what it returns or throws ParseFailure, which the command
// parser turns into a tagged BAD; nothing reads outside the bytes.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/proto/sequence.hpp"

namespace mailstead::imap {

struct ParseFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr int kMaxNesting = 16;  // parenthesised lists in SEARCH, FETCH, APPEND

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  [[noreturn]] static void fail(const std::string& why) { throw ParseFailure(why); }

  bool at_end() const { return pos_ == bytes_.size(); }
  // At the CRLF that ends the command.
  bool at_command_end() const { return bytes_.substr(pos_) == "\r\n"; }
  void expect_command_end();
  char peek() const { return at_end() ? '\0' : bytes_[pos_]; }
  bool skip(char c);
  void expect(char c, const char* what);
  void space() { expect(' ', "a space"); }

  // 1*ATOM-CHAR (and "]" when allowed: ASTRING-CHAR).
  std::string atom(bool allow_bracket = false);
  // An atom compared case-insensitively with `word` (which is upper-case), consumed if equal.
  bool word(std::string_view upper_word);
  std::string upper_atom();
  std::string astring();
  std::string nstring_or_string(bool& was_nil);
  std::string string();  // quoted or literal
  std::string quoted();
  // "{n}" CRLF and n bytes, or "~{n}" (literal8, when allowed).
  std::string literal(bool allow_literal8 = false);
  bool at_literal() const;
  // list-mailbox: astring or with the wildcards "%" and "*".
  std::string list_mailbox();
  std::uint32_t number();
  std::uint32_t nz_number();
  std::uint64_t number64();
  SequenceSet sequence_set();
  // "(" [flag *(SP flag)] ")"; a flag is "\" atom or an atom.
  std::vector<std::string> flag_list();
  std::string flag();

  // Nesting of parenthesised lists, bounded (10,000 "(" is refused, not recursed into).
  void enter();
  void leave() { --depth_; }

  std::size_t position() const { return pos_; }
  std::string_view rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

bool is_atom_char(char c);
bool is_astring_char(char c);

}  // namespace mailstead::imap
