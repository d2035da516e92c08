#include "pop3d/proto/states.hpp"

namespace mailstead::pop3 {
namespace {

struct Allowed {
  State state;
  bool operator()(const Capa&) const { return true; }
  bool operator()(const Quit&) const { return true; }
  bool operator()(const SyntaxError&) const { return true; }  // answered as such in any state
  bool operator()(const User&) const { return state == State::authorization; }
  bool operator()(const Pass&) const { return state == State::authorization; }
  bool operator()(const Auth&) const { return state == State::authorization; }
  bool operator()(const Stls&) const { return state == State::authorization; }
  bool operator()(const auto&) const { return state == State::transaction; }
};

}  // namespace

bool allowed(State state, const Command& command) {
  return std::visit(Allowed{state}, command);
}

}  // namespace mailstead::pop3
