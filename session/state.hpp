#pragma once
// A protocol session's state as a std::variant whose alternatives carry their data (POP3's
// AUTHORIZATION with the name given by USER, TRANSACTION with the maildrop; IMAP's
// authenticated user and selected mailbox), so that no impossible combination of flags and
// optionals can exist. enter() is the one way to change state, and logs `from -> to` at debug
// level with the session id. Each alternative names itself: `static constexpr
// std::string_view kName`.

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/log/log.hpp"

namespace mailstead::session {

template <class... States>
class StateMachine {
 public:
  // Starts in the first alternative, default-constructed.
  explicit StateMachine(const std::string& session_id) : session_id_(session_id) {}

  template <class S, class... Args>
  S& enter(Args&&... args) {
    auto from = name();
    // Built as an aggregate, then moved in: every state is a plain struct of its data.
    auto& now = state_.template emplace<S>(S{std::forward<Args>(args)...});
    log::debug(session_id_, "state", "from={} to={}", from, S::kName);
    return now;
  }

  template <class S>
  bool is() const {
    return std::holds_alternative<S>(state_);
  }
  template <class S>
  S* get_if() {
    return std::get_if<S>(&state_);
  }
  template <class S>
  const S* get_if() const {
    return std::get_if<S>(&state_);
  }
  // The current alternative; std::bad_variant_access if it is another (a bug, not input).
  template <class S>
  S& as() {
    return std::get<S>(state_);
  }
  template <class S>
  const S& as() const {
    return std::get<S>(state_);
  }

  std::string_view name() const {
    return std::visit([](const auto& s) { return std::string_view(std::decay_t<decltype(s)>::kName); }, state_);
  }
  std::size_t index() const { return state_.index(); }

 private:
  const std::string& session_id_;
  std::variant<States...> state_;
};

}  // namespace mailstead::session
