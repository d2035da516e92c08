#pragma once
// The checks behind each protocol's command table (smtpd/proto, pop3d/proto, imapd/proto).
// A table is a constexpr array of rows, one per command name; each row names the index of
// its command's type in the protocol's Command variant (several names may share a type, as
// HELO and EHLO do) and the states that accept it. What these checks let the build refuse:
// a command type that no row describes, and two rows of one type that disagree on states.
// The session's handlers visit the variant, so a type without a handler does not compile
// either; adding a command is a struct, a row and a handler.

#include <cstddef>
#include <type_traits>
#include <variant>

namespace mailstead::command_table {

// The index of T among the alternatives of Variant (a compile error if it is not one).
template <class T, class Variant, std::size_t I = 0>
constexpr std::size_t index_of() {
  static_assert(I < std::variant_size_v<Variant>, "not an alternative of the command variant");
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Variant>, T>)
    return I;
  else
    return index_of<T, Variant, I + 1>();
}

// The first row describing alternative `index`, or nullptr if none does.
template <class Rows>
constexpr const auto* row_of(const Rows& rows, std::size_t index) {
  for (const auto& row : rows)
    if (row.alternative == index) return &row;
  return static_cast<decltype(&rows[0])>(nullptr);
}

// Every alternative below `described` (those after it, such as SyntaxError, are the parser's
// own) has a row, and all rows of one alternative accept the same states.
template <class Rows>
constexpr bool describes_every_command(const Rows& rows, std::size_t described) {
  for (std::size_t i = 0; i < described; ++i)
    if (row_of(rows, i) == nullptr) return false;
  for (const auto& row : rows)
    if (row.alternative >= described || row_of(rows, row.alternative)->states != row.states) return false;
  return true;
}

}  // namespace mailstead::command_table
