#pragma once
// Which commands each POP3 state accepts (RFC 1939 §4-§6; CAPA from RFC 2449 in both; STLS
// from RFC 2595 and AUTH from RFC 5034 before login only). UPDATE is entered by QUIT and
// reads no command. The session answers -ERR to anything else.

#include "pop3d/proto/command.hpp"

namespace mailstead::pop3 {

enum class State { authorization, transaction };

bool allowed(State state, const Command& command);

}  // namespace mailstead::pop3
